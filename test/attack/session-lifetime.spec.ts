import { SessionActivityService } from '../../src/sessions/session-activity.service';
import { SessionCleanupService } from '../../src/sessions/session-cleanup.service';
import { createTestDatabase, TestDatabase } from '../support/database';
import { http, HttpResult, login, registerAndLogin } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';

const INVALID_REFRESH = { statusCode: 401, message: 'The refresh token is invalid, expired or revoked.', error: 'Unauthorized' };
const INVALID_TOKEN = { statusCode: 401, message: 'The access token is invalid, expired or revoked.', error: 'Unauthorized' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function refresh(verso: TestApp, refreshToken: string): Promise<HttpResult> {
  return http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken } });
}

/** Poll until check() is true, at most `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

describe('sessions over time', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  describe('absolute lifetime', () => {
    let verso: TestApp;

    beforeAll(async () => {
      verso = await startTestApp(database.url, { SESSION_TTL_SECONDS: '3' });
    });

    afterAll(async () => {
      await verso?.close();
    });

    it('refresh does not extend it', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      await sleep(1000);
      const rotated = await refresh(verso, user.refreshToken);
      expect(rotated.status).toBe(200);

      await sleep(2300);
      const late = await refresh(verso, rotated.body.refreshToken);
      expect(late.status).toBe(401);
      expect(late.body).toEqual(INVALID_REFRESH);
    });

    it('access token of an expired session gets 401', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);

      await sleep(3300);
      const response = await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken });
      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_TOKEN);
    });
  });

  describe('idle timeout', () => {
    let verso: TestApp;

    beforeAll(async () => {
      verso = await startTestApp(database.url, { SESSION_IDLE_TIMEOUT_SECONDS: '2' });
    });

    afterAll(async () => {
      await verso?.close();
    });

    it('refresh after the idle timeout gets 401', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      await sleep(2500);

      const response = await refresh(verso, user.refreshToken);
      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_REFRESH);
    });

    it('refresh inside the idle timeout keeps the session alive', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      await sleep(1200);
      const first = await refresh(verso, user.refreshToken);
      expect(first.status).toBe(200);

      await sleep(1200);
      const second = await refresh(verso, first.body.refreshToken);
      expect(second.status).toBe(200);
    });
  });

  describe('last use', () => {
    let verso: TestApp;

    beforeAll(async () => {
      verso = await startTestApp(database.url);
    });

    afterAll(async () => {
      await verso?.close();
    });

    const lastUsedAt = async (sessionId: string) =>
      (await database.query<{ last_used_at: Date }>('SELECT last_used_at FROM sessions WHERE id = $1', [sessionId]))[0].last_used_at;

    it('token check writes nothing; the flush touches the session', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      await database.query("UPDATE sessions SET last_used_at = now() - interval '10 minutes' WHERE id = $1", [user.sessionId]);
      const before = await lastUsedAt(user.sessionId);

      expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);
      expect(await lastUsedAt(user.sessionId)).toEqual(before);

      await verso.app.get(SessionActivityService).flush();
      const touched = await lastUsedAt(user.sessionId);
      expect(Date.now() - touched.getTime()).toBeLessThan(60_000);
    });

    it('touch happens at most once a minute', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      await database.query("UPDATE sessions SET last_used_at = now() - interval '30 seconds' WHERE id = $1", [user.sessionId]);
      const before = await lastUsedAt(user.sessionId);

      await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken });
      await verso.app.get(SessionActivityService).flush();

      expect(await lastUsedAt(user.sessionId)).toEqual(before);
    });
  });

  describe('cleanup', () => {
    const exists = async (sessionId: string) => (await database.query('SELECT 1 FROM sessions WHERE id = $1', [sessionId])).length === 1;

    async function staleSessions(baseUrl: string) {
      const revoked = await registerAndLogin(baseUrl);
      await http(baseUrl, 'POST', '/auth/logout', { token: revoked.accessToken });
      await database.query("UPDATE sessions SET revoked_at = now() - interval '1 hour' WHERE id = $1", [revoked.sessionId]);

      const expired = await registerAndLogin(baseUrl);
      await database.query("UPDATE sessions SET expires_at = now() - interval '1 hour' WHERE id = $1", [expired.sessionId]);

      const idle = await registerAndLogin(baseUrl);
      await database.query("UPDATE sessions SET last_used_at = now() - interval '15 days' WHERE id = $1", [idle.sessionId]);

      const recentlyRevoked = await registerAndLogin(baseUrl);
      await http(baseUrl, 'POST', '/auth/logout', { token: recentlyRevoked.accessToken });

      const live = await registerAndLogin(baseUrl);
      return { stale: [revoked.sessionId, expired.sessionId, idle.sessionId], kept: [recentlyRevoked.sessionId, live.sessionId] };
    }

    it('run deletes ended sessions past retention and returns the count', async () => {
      const verso = await startTestApp(database.url, { SESSION_RETENTION_SECONDS: '600' });
      try {
        const { stale, kept } = await staleSessions(verso.baseUrl);
        const cleanup = verso.app.get(SessionCleanupService);
        const log = jest.spyOn((cleanup as unknown as { logger: { log: (message: string) => void } }).logger, 'log');

        expect(await cleanup.run()).toBe(3);
        for (const id of stale) expect(await exists(id)).toBe(false);
        for (const id of kept) expect(await exists(id)).toBe(true);
        expect(log).toHaveBeenCalledWith('Session cleanup deleted 3 session(s) that ended over 600 s ago');
      } finally {
        await verso.close();
      }
    });

    it('timer runs the cleanup', async () => {
      const verso = await startTestApp(database.url, { SESSION_CLEANUP_INTERVAL_SECONDS: '1', SESSION_RETENTION_SECONDS: '600' });
      try {
        const { stale, kept } = await staleSessions(verso.baseUrl);
        await eventually(async () => !(await exists(stale[0])) && !(await exists(stale[1])) && !(await exists(stale[2])), 5000, 'cleanup of stale sessions');
        for (const id of kept) expect(await exists(id)).toBe(true);
      } finally {
        await verso.close();
      }
    });
  });

  describe('timed lock', () => {
    let verso: TestApp;

    beforeAll(async () => {
      verso = await startTestApp(database.url);
    });

    afterAll(async () => {
      await verso?.close();
    });

    it('ends by itself, and tokens from before it stay dead', async () => {
      const admin = await registerAndLogin(verso.baseUrl);
      await database.query("UPDATE users SET role = 'admin' WHERE id = $1", [admin.userId]);
      const user = await registerAndLogin(verso.baseUrl);
      const until = new Date(Date.now() + 2000).toISOString();

      const lock = await http(verso.baseUrl, 'POST', `/admin/users/${user.userId}/lock`, { token: admin.accessToken, body: { reason: 'Cooling off', until } });
      expect(lock.status).toBe(204);

      const lockedLogin = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
      expect(lockedLogin.status).toBe(403);
      expect(lockedLogin.body).toEqual({ statusCode: 403, message: 'This account is locked.', error: 'Forbidden' });

      await eventually(
        async () => (await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password } })).status === 200,
        5000,
        'login after the lock ended',
      );

      const state = await http(verso.baseUrl, 'GET', `/admin/users/${user.userId}`, { token: admin.accessToken });
      expect(state.body).toMatchObject({ locked: false, lockedUntil: until, tokenVersion: 1 });
      expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).body).toEqual(INVALID_TOKEN);
      expect((await refresh(verso, user.refreshToken)).body).toEqual(INVALID_REFRESH);

      const fresh = await login(verso.baseUrl, user.email, user.password);
      expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: fresh.accessToken })).status).toBe(200);
    });
  });
});
