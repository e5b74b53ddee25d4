import { createTestDatabase, TestDatabase } from './support/database';
import { http } from './support/http';
import { pollUntil } from './support/polling';
import { startServerProcess } from './support/server-process';
import { testEnvironment } from './support/test-app';

// Long enough for a process that reacts to a signal by exiting to have exited (an estimate).
const SIGNAL_SETTLE_MS = 500;
// A shutdown with one request in flight takes a few seconds at most here (an estimate).
const EXIT_BOUND_MS = 15_000;

/** How a verso process reacts to the signals that terminals and service managers send. */
describe('process signals', () => {
  let database: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = testEnvironment(database.url, { LOG_LEVEL: 'info' });
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('SIGHUP keeps an HS256 instance serving', async () => {
    const server = await startServerProcess(env);
    try {
      process.kill(server.pid, 'SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, SIGNAL_SETTLE_MS));

      expect((await http(server.baseUrl, 'GET', '/health/live')).status).toBe(200);
      expect(server.output()).toContain('Received SIGHUP: the keys come from the environment, so there is nothing to reload');
    } finally {
      await server.stop();
    }
  });

  it('second SIGTERM keeps the graceful shutdown', async () => {
    // Argon2id at 256 MiB and 10 passes takes over a second here (an estimate),
    // so the login below is still in flight when both signals arrive.
    const server = await startServerProcess({ ...env, ARGON2_MEMORY_KIB: '262144', ARGON2_TIME_COST: '10' });
    const login = http(server.baseUrl, 'POST', '/auth/login', { body: { email: 'nobody@example.com', password: 'wrong password' } });
    await new Promise((resolve) => setTimeout(resolve, 200));

    process.kill(server.pid, 'SIGTERM');
    // Signals of one kind do not queue, so the second is sent once the first was handled.
    await pollUntil(async () => (server.output().includes('Received SIGTERM, shutting down') ? true : undefined), {
      timeoutMs: 5000,
      intervalMs: 10,
      what: 'the first SIGTERM handled',
    });
    process.kill(server.pid, 'SIGTERM');
    const response = await login;
    // The client keeps its connection alive, which held the shutdown for
    // Fastify's keep-alive timeout (72 s) before idle connections were swept.
    const code = await Promise.race([
      server.waitForExit(),
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`verso did not exit within ${EXIT_BOUND_MS} ms`)), EXIT_BOUND_MS).unref()),
    ]);
    await server.stop();

    expect(response.status).toBe(401);
    expect(code).toBe(0);
    expect(server.output()).toContain('Received SIGTERM again; still shutting down');
  });
});
