import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readUserState } from './support/accounts';
import { runCli } from './support/cli';
import { createTestDatabase, TestDatabase } from './support/database';
import { statusWithin } from './support/eventually';
import { http, registerAndLogin } from './support/http';
import { ADMIN_REQUIRED } from './support/responses';
import { startServerProcess, ServerProcess } from './support/server-process';
import { testEnvironment } from './support/test-app';

// Far above the invalidation bound, far below the cache TTL: a role change
// seen within it was evicted by the NOTIFY, not by the entry expiring.
const EVICTION_WAIT_MS = 1000;

describe('operator CLI against DATABASE_URL', () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The cache TTL is set explicitly: without the invalidation message the
    // old role would stay cached for 30 s, so the tests below would fail.
    server = await startServerProcess(testEnvironment(database.url, { TOKEN_CACHE_TTL_MS: '30000' }));
    cliEnv = { NODE_ENV: 'test', DATABASE_URL: database.url };
  });

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  describe('users:promote', () => {
    it('makes the user an admin and prints the change', async () => {
      const user = await registerAndLogin(server.baseUrl);

      const result = await runCli(['users:promote', user.email], cliEnv);

      expect(result).toEqual({ code: 0, stdout: `User ${user.userId} (${user.email}) is now an admin.\n`, stderr: '' });
      expect((await readUserState(database, user.userId)).role).toBe('admin');
    });

    it('writes a role_changed audit event', async () => {
      const user = await registerAndLogin(server.baseUrl);

      await runCli(['users:promote', user.email], cliEnv);

      const events = await database.query("SELECT actor_id, details FROM audit_events WHERE user_id = $1 AND type = 'role_changed'", [user.userId]);
      expect(events).toEqual([{ actor_id: null, details: { role: 'admin', via: 'cli' } }]);
    });

    it('matches the email in any case', async () => {
      const user = await registerAndLogin(server.baseUrl);

      const result = await runCli(['users:promote', user.email.toUpperCase()], cliEnv);

      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`User ${user.userId} (${user.email}) is now an admin.\n`);
      expect((await readUserState(database, user.userId)).role).toBe('admin');
    });

    it('leaves an admin unchanged and writes nothing', async () => {
      const user = await registerAndLogin(server.baseUrl);
      await runCli(['users:promote', user.email], cliEnv);

      const again = await runCli(['users:promote', user.email], cliEnv);

      expect(again).toEqual({ code: 0, stdout: `User ${user.userId} (${user.email}) is already an admin.\n`, stderr: '' });
      const events = await database.query("SELECT id FROM audit_events WHERE user_id = $1 AND type = 'role_changed'", [user.userId]);
      expect(events).toHaveLength(1);
    });

    it('exits with 1 for an unknown email', async () => {
      const result = await runCli(['users:promote', 'nobody@example.com'], cliEnv);

      expect(result).toEqual({ code: 1, stdout: '', stderr: 'No user has the email nobody@example.com.\n' });
    });

    it('exits with 1 without an email', async () => {
      const result = await runCli(['users:promote'], cliEnv);

      expect(result.code).toBe(1);
      expect(result.stderr).toBe("error: missing required argument 'email'\n");
    });

    it('reaches a running server without a new login', async () => {
      const user = await registerAndLogin(server.baseUrl);
      const getSelf = async () => (await http(server.baseUrl, 'GET', `/admin/users/${user.userId}`, { token: user.accessToken })).status;
      // This request also puts the user's role into the server's cache.
      const before = await http(server.baseUrl, 'GET', `/admin/users/${user.userId}`, { token: user.accessToken });
      expect(before.status).toBe(403);
      expect(before.body).toEqual(ADMIN_REQUIRED);

      const result = await runCli(['users:promote', user.email], cliEnv);
      expect(result.code).toBe(0);

      expect(await statusWithin(EVICTION_WAIT_MS, getSelf, 200)).toBe(200);
    });
  });

  describe('users:demote', () => {
    it('takes the admin role away', async () => {
      const user = await registerAndLogin(server.baseUrl);
      await runCli(['users:promote', user.email], cliEnv);

      const result = await runCli(['users:demote', user.email], cliEnv);

      expect(result).toEqual({ code: 0, stdout: `User ${user.userId} (${user.email}) is no longer an admin.\n`, stderr: '' });
      expect((await readUserState(database, user.userId)).role).toBe('user');
    });

    it('reports a user who is not an admin', async () => {
      const user = await registerAndLogin(server.baseUrl);

      const result = await runCli(['users:demote', user.email], cliEnv);

      expect(result).toEqual({ code: 0, stdout: `User ${user.userId} (${user.email}) is not an admin.\n`, stderr: '' });
    });

    it('exits with 1 for an unknown email', async () => {
      const result = await runCli(['users:demote', 'nobody@example.com'], cliEnv);

      expect(result).toEqual({ code: 1, stdout: '', stderr: 'No user has the email nobody@example.com.\n' });
    });

    it('denies admin routes on a running server at once', async () => {
      const user = await registerAndLogin(server.baseUrl);
      await runCli(['users:promote', user.email], cliEnv);
      const getSelf = async () => (await http(server.baseUrl, 'GET', `/admin/users/${user.userId}`, { token: user.accessToken })).status;
      expect(await statusWithin(EVICTION_WAIT_MS, getSelf, 200)).toBe(200);

      const result = await runCli(['users:demote', user.email], cliEnv);
      expect(result.code).toBe(0);

      expect(await statusWithin(EVICTION_WAIT_MS, getSelf, 403)).toBe(403);
    });
  });

  it('prints help without opening a database', async () => {
    const dataDir = join(tmpdir(), `verso-cli-help-${process.pid}`);

    const result = await runCli(['--help'], { NODE_ENV: 'test', EMBEDDED_POSTGRES_DIR: dataDir });

    expect(result.code).toBe(0);
    for (const command of ['users:promote <email>', 'users:demote <email>', 'migrations:run', 'migrations:revert']) {
      expect(result.stdout).toContain(command);
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it('exits with 1 for an unknown command', async () => {
    const result = await runCli(['reticulate'], cliEnv);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: unknown command 'reticulate'\n");
  });

  describe('migrations', () => {
    // These change the schema, so they run on a database of their own.
    let scratch: TestDatabase;
    let scratchEnv: Record<string, string>;

    beforeAll(async () => {
      scratch = await createTestDatabase();
      scratchEnv = { NODE_ENV: 'test', DATABASE_URL: scratch.url };
    });

    afterAll(async () => {
      await scratch?.drop();
    });

    const tables = async () =>
      (await scratch.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).map((row) => row.tablename);

    it('migrations:run reports nothing pending on a migrated database', async () => {
      const result = await runCli(['migrations:run'], scratchEnv);

      expect(result).toEqual({ code: 0, stdout: 'No pending migrations.\n', stderr: '' });
    });

    it('migrations:revert reverts the last migration only', async () => {
      const result = await runCli(['migrations:revert'], scratchEnv);

      expect(result).toEqual({ code: 0, stdout: 'Reverted NotifyTokenStateChanges1764900000000.\n', stderr: '' });
      expect(await tables()).toEqual(['audit_events', 'migrations', 'sessions', 'users']);
    });

    it('migrations:revert drops the tables of the first migration', async () => {
      const result = await runCli(['migrations:revert'], scratchEnv);

      expect(result).toEqual({ code: 0, stdout: 'Reverted CreateUsersSessionsAudit1764800000000.\n', stderr: '' });
      expect(await tables()).toEqual(['migrations']);
    });

    it('migrations:revert reports when nothing is applied', async () => {
      const result = await runCli(['migrations:revert'], scratchEnv);

      expect(result).toEqual({ code: 0, stdout: 'No migration to revert.\n', stderr: '' });
    });

    it('users:promote asks for migrations on an empty schema', async () => {
      const result = await runCli(['users:promote', 'a@example.com'], scratchEnv);

      expect(result).toEqual({ code: 1, stdout: '', stderr: 'The database has no users table yet: run the migrations first (npm run migration:run).\n' });
    });

    it('migrations:run applies the pending migrations', async () => {
      const result = await runCli(['migrations:run'], scratchEnv);

      expect(result).toEqual({ code: 0, stdout: 'Applied CreateUsersSessionsAudit1764800000000.\nApplied NotifyTokenStateChanges1764900000000.\n', stderr: '' });
      expect(await tables()).toEqual(['audit_events', 'migrations', 'sessions', 'users']);
    });
  });

  it('exits with 1 when the database cannot be reached', async () => {
    const closed = new URL(database.url);
    closed.port = '9';

    const result = await runCli(['migrations:run'], { NODE_ENV: 'test', DATABASE_URL: closed.toString() });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Connection to PostgreSQL failed: connect ECONNREFUSED 127\.0\.0\.1:9\n$/);
  });
});
