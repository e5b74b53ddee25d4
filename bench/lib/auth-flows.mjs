import { join } from 'node:path';

import { ROOT } from './paths.mjs';
import { startServer } from './processes.mjs';
import { hashPassword, insertUsersWithSessions } from './seed.mjs';

const PASSWORD = 'bench password, long enough';
const LOGIN_USERS = 100;
const LOAD_LEVELS = [1, 10];

/**
 * Table 3: login and refresh through verso's own entry point (dist/src/main.js)
 * with the Argon2id parameters of the configuration. The rate limiter is off,
 * because every request comes from one address and the table measures the
 * flows, not the limiter.
 */
export async function benchAuthFlows(context) {
  const { options, database, config, serverEnv, load, workDir, progress, track } = context;

  progress(`auth flows: hashing one password and seeding ${LOGIN_USERS} users`);
  const passwordHash = await hashPassword(config, PASSWORD);
  await insertUsersWithSessions(database, { label: 'login', count: LOGIN_USERS, passwordHash });
  const credentials = Array.from({ length: LOGIN_USERS }, (_, index) => ({ email: `bench-login-${index + 1}@example.com`, password: PASSWORD }));

  const server = track(
    await startServer({ name: 'auth', script: join(ROOT, 'dist', 'src', 'main.js'), env: { ...serverEnv, RATE_LIMIT_ENABLED: 'false' }, logDir: workDir }),
  );
  try {
    const rows = [];
    for (const connections of LOAD_LEVELS) {
      const result = await load.run({ kind: 'login', url: server.url, credentials, connections, durationSeconds: options.authSeconds, maxSeconds: options.authSeconds + 30 });
      rows.push({ flow: 'login', connections, ...result });
      progress(`auth flows: login at ${connections} connection(s): ${result.requestsPerSecond.toFixed(1)} req/s`);
    }

    for (const connections of LOAD_LEVELS) {
      // Twice as many sessions as connections, so a rotation that fails leaves spares.
      const refreshTokens = [];
      for (let index = 0; index < connections * 2; index++) refreshTokens.push(await login(server.url, credentials[index]));
      const result = await load.run({ kind: 'refresh', url: server.url, refreshTokens, connections, durationSeconds: options.authSeconds, maxSeconds: options.authSeconds + 30 });
      rows.push({ flow: 'refresh', connections, ...result });
      progress(`auth flows: refresh at ${connections} connection(s): ${result.requestsPerSecond.toFixed(1)} req/s`);
    }

    return { argon2: config.argon2, seconds: options.authSeconds, rows };
  } finally {
    await server.stop();
  }
}

async function login(url, credentials) {
  const response = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
  });
  if (response.status !== 200) throw new Error(`login for the refresh pool failed with ${response.status}`);
  return (await response.json()).refreshToken;
}
