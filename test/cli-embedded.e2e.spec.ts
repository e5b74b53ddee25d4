import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runCli } from './support/cli';
import { statusWithin } from './support/eventually';
import { http, registerAndLogin } from './support/http';
import { freePort } from './support/ports';
import { startServerProcess } from './support/server-process';
import { testEnvironment } from './support/test-app';

const MIGRATIONS = ['CreateUsersSessionsAudit1764800000000', 'NotifyTokenStateChanges1764900000000'];

/**
 * The CLI without DATABASE_URL, on the embedded PostgreSQL of `npm start`:
 * it starts the server for one command when none runs, and connects to the
 * one that `npm start` runs otherwise. The steps share one data directory,
 * so they run in order.
 */
describe('operator CLI on the embedded PostgreSQL', () => {
  let root: string;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'verso-cli-embedded-'));
    dataDir = join(root, 'postgres');
    env = { NODE_ENV: 'test', EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()) };
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('starts the server for one command and stops it after', async () => {
    const result = await runCli(['migrations:run'], env);

    expect(result).toEqual({
      code: 0,
      stdout: MIGRATIONS.map((name) => `Applied ${name}.\n`).join(''),
      stderr: `Starting the embedded PostgreSQL in ${dataDir} for this command.\n`,
    });
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
  });

  it('uses the server of a running npm start', async () => {
    const { DATABASE_URL: _unused, ...serverEnv } = testEnvironment('', env);
    const server = await startServerProcess(serverEnv);
    try {
      const user = await registerAndLogin(server.baseUrl);
      expect((await http(server.baseUrl, 'GET', `/admin/users/${user.userId}`, { token: user.accessToken })).status).toBe(403);

      const result = await runCli(['users:promote', user.email], env);

      expect(result).toEqual({
        code: 0,
        stdout: `User ${user.userId} (${user.email}) is now an admin.\n`,
        stderr: `Using the embedded PostgreSQL that is running in ${dataDir}.\n`,
      });
      // The NOTIFY reaches the server within milliseconds; allow a second on a busy machine.
      const getSelf = async () => (await http(server.baseUrl, 'GET', `/admin/users/${user.userId}`, { token: user.accessToken })).status;
      expect(await statusWithin(1000, getSelf, 200)).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('npm start stops its PostgreSQL on SIGTERM', () => {
    // The previous step ended with SIGTERM to the server process.
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
  });

  it('second npm start names the running server', async () => {
    const { DATABASE_URL: _unused, ...serverEnv } = testEnvironment('', env);
    const server = await startServerProcess(serverEnv);
    try {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

      const second = startServerProcess(serverEnv);

      await expect(second).rejects.toThrow(`A PostgreSQL server (pid ${pid}) already runs on ${dataDir}.`);
      expect((await http(server.baseUrl, 'GET', '/health/ready')).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('npm start writes its last activity on a Ctrl-C', async () => {
    const { DATABASE_URL: _unused, ...serverEnv } = testEnvironment('', { ...env, LOG_LEVEL: 'warn' });
    const server = await startServerProcess(serverEnv, { ownProcessGroup: true });
    const user = await registerAndLogin(server.baseUrl);
    // A guarded request records activity, which verso writes when it stops.
    expect((await http(server.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);

    const code = await server.interruptGroup();

    expect(code).toBe(0);
    // When the Ctrl-C also reached PostgreSQL, it shut down first and this write failed.
    expect(server.output()).not.toContain('Recording activity');
    expect(server.output()).not.toContain('failed');
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
  });

  it('starts the stopped server again for a later command', async () => {
    const result = await runCli(['users:demote', 'nobody@example.com'], env);

    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `Starting the embedded PostgreSQL in ${dataDir} for this command.\nNo user has the email nobody@example.com.\n`,
    });
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
  });
});
