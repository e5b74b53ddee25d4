import { createTestDatabase, TestDatabase } from './database';
import { http, HttpResult, login, LoggedInUser, registerAndLogin } from './http';
import { ServerProcess, startServerProcess } from './server-process';
import { testEnvironment } from './test-app';

export interface Cluster {
  database: TestDatabase;
  instances: ServerProcess[];
  stop(): Promise<void>;
}

/**
 * Start `count` verso processes on one fresh database with shared secrets:
 * the instances of the cross-instance tests. Pools are small, because several
 * clusters may share one PostgreSQL during a run.
 */
export async function startCluster(count: number, overrides: Record<string, string> = {}): Promise<Cluster> {
  const database = await createTestDatabase();
  const env = testEnvironment(database.url, { DATABASE_POOL_SIZE: '3', LOG_LEVEL: 'error', ...overrides });
  const instances: ServerProcess[] = [];
  try {
    for (let index = 0; index < count; index++) instances.push(await startServerProcess(env));
  } catch (error) {
    await Promise.all(instances.map((instance) => instance.stop()));
    await database.drop();
    throw error;
  }

  return {
    database,
    instances,
    stop: async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
      await database.drop();
    },
  };
}

/** Register a user, make it an admin in the database before its first token, and log in. */
export async function registerAdmin(database: TestDatabase, baseUrl: string): Promise<LoggedInUser> {
  const admin = await registerAndLogin(baseUrl);
  await database.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.userId]);
  return { ...admin, ...(await login(baseUrl, admin.email, admin.password)) };
}

export function getMe(baseUrl: string, token: string): Promise<HttpResult> {
  return http(baseUrl, 'GET', '/auth/me', { token });
}

/**
 * Send GET /auth/me with the token back to back until the response is not 200,
 * for at most boundMs. Return the last response and the time it took, for the
 * test to assert.
 */
export async function pollUntilRejected(baseUrl: string, token: string, boundMs: number): Promise<{ response: HttpResult; elapsedMs: number }> {
  const started = performance.now();
  for (;;) {
    const response = await getMe(baseUrl, token);
    const elapsedMs = performance.now() - started;
    if (response.status !== 200 || elapsedMs > boundMs) return { response, elapsedMs };
  }
}
