import { randomUUID } from 'node:crypto';

import { makeAdminInDatabase, readSession, readUserState } from './support/accounts';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, LoggedInUser, registerAndLogin } from './support/http';
import { ADMIN_REQUIRED, badRequest, INVALID_ACCESS_TOKEN, ISO_TIMESTAMP, SESSION_NOT_FOUND, TOKEN_REQUIRED, USER_NOT_FOUND } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

describe('admin routes', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let admin: LoggedInUser;
  const asAdmin = (method: string, path: string, body?: unknown) => http(verso.baseUrl, method, path, { token: admin.accessToken, body });
  const me = (token: string) => http(verso.baseUrl, 'GET', '/auth/me', { token });
  const refresh = (refreshToken: string) => http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken } });

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    admin = await registerAndLogin(verso.baseUrl);
    await makeAdminInDatabase(database, admin.userId);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  // Every row has three entries: with fewer, it.each would pass Jest's done callback as the body.
  const ADMIN_ROUTES: Array<[string, string, unknown]> = [
    ['GET', '/admin/users?email=someone@example.com', undefined],
    ['GET', '/admin/users/:userId', undefined],
    ['GET', '/admin/users/:userId/sessions', undefined],
    ['GET', '/admin/users/:userId/events', undefined],
    ['POST', '/admin/users/:userId/lock', { reason: 'test' }],
    ['POST', '/admin/users/:userId/unlock', undefined],
    ['POST', '/admin/users/:userId/revoke-tokens', undefined],
    ['DELETE', '/admin/sessions/:sessionId', undefined],
  ];
  const fill = (route: string, userId: string = randomUUID(), sessionId: string = randomUUID()) => route.replace(':userId', userId).replace(':sessionId', sessionId);

  describe('access', () => {
    it.each(ADMIN_ROUTES)('%s %s returns 403 for a non-admin', async (method, route, body) => {
      const user = await registerAndLogin(verso.baseUrl);

      const response = await http(verso.baseUrl, method, fill(route), { token: user.accessToken, body });

      expect(response.status).toBe(403);
      expect(response.body).toEqual(ADMIN_REQUIRED);
    });

    it.each(ADMIN_ROUTES)('%s %s returns 401 without a token', async (method, route, body) => {
      const response = await http(verso.baseUrl, method, fill(route), { body });

      expect(response.status).toBe(401);
      expect(response.body).toEqual(TOKEN_REQUIRED);
    });

    it('changes nothing for a non-admin', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const target = await registerAndLogin(verso.baseUrl);

      for (const [method, route, body] of ADMIN_ROUTES) {
        await http(verso.baseUrl, method, fill(route, target.userId, target.sessionId), { token: user.accessToken, body });
      }

      expect(await readUserState(database, target.userId)).toEqual({ role: 'user', token_version: 0 });
      expect((await readSession(database, target.sessionId))?.revoked_at).toBeNull();
    });
  });

  describe('GET /admin/users?email=', () => {
    it('returns 200 with the user, in any case', async () => {
      const target = await registerAndLogin(verso.baseUrl);
      const byId = await asAdmin('GET', `/admin/users/${target.userId}`);

      const response = await asAdmin('GET', `/admin/users?email=${encodeURIComponent(target.email.toUpperCase())}`);

      expect(response.status).toBe(200);
      expect(response.body).toEqual(byId.body);
    });

    it('returns 404 for an unknown email', async () => {
      const response = await asAdmin('GET', '/admin/users?email=nobody-here@example.com');

      expect(response.status).toBe(404);
      expect(response.body).toEqual(USER_NOT_FOUND);
    });

    it('returns 400 without an email', async () => {
      const response = await asAdmin('GET', '/admin/users');

      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest('email must be a valid email address', 'email must be shorter than or equal to 254 characters', 'email must be a string'));
    });

    it('returns 400 for an invalid email', async () => {
      const response = await asAdmin('GET', '/admin/users?email=not-an-email');

      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest('email must be a valid email address'));
    });

    it('returns 400 for an unknown query field', async () => {
      const response = await asAdmin('GET', '/admin/users?email=someone@example.com&role=admin');

      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest('property role should not exist'));
    });

    it('returns 400 for a repeated email', async () => {
      const response = await asAdmin('GET', '/admin/users?email=a@example.com&email=b@example.com');

      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest('email must be a valid email address', 'email must be shorter than or equal to 254 characters', 'email must be a string'));
    });
  });

  describe('GET /admin/users/:id', () => {
    it('returns 200 with role, lock state and token version', async () => {
      const target = await registerAndLogin(verso.baseUrl);

      const response = await asAdmin('GET', `/admin/users/${target.userId}`);

      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        id: target.userId,
        email: target.email,
        role: 'user',
        tokenVersion: 0,
        locked: false,
        lockedAt: null,
        lockReason: null,
        lockedUntil: null,
        createdAt: expect.stringMatching(ISO_TIMESTAMP),
        updatedAt: expect.stringMatching(ISO_TIMESTAMP),
      });
    });

    it('returns 404 for an unknown id', async () => {
      const response = await asAdmin('GET', `/admin/users/${randomUUID()}`);

      expect(response.status).toBe(404);
      expect(response.body).toEqual(USER_NOT_FOUND);
    });

    it('returns 404 for a malformed id', async () => {
      const response = await asAdmin('GET', '/admin/users/42');

      expect(response.status).toBe(404);
      expect(response.body).toEqual(USER_NOT_FOUND);
    });
  });

  describe('GET /admin/users/:id/sessions', () => {
    it('returns 200 with live and ended sessions', async () => {
      const target = await registerAndLogin(verso.baseUrl);
      await http(verso.baseUrl, 'POST', '/auth/logout', { token: target.accessToken, body: { scope: 'local' } });

      const response = await asAdmin('GET', `/admin/users/${target.userId}/sessions`);

      expect(response.status).toBe(200);
      expect(response.body).toEqual([
        {
          id: target.sessionId,
          userAgent: 'node',
          ip: '127.0.0.1',
          createdAt: expect.stringMatching(ISO_TIMESTAMP),
          lastUsedAt: expect.stringMatching(ISO_TIMESTAMP),
          expiresAt: expect.stringMatching(ISO_TIMESTAMP),
          current: false,
          revokedAt: expect.stringMatching(ISO_TIMESTAMP),
          revokedReason: 'logout',
        },
      ]);
    });

    it('returns 404 for an unknown user', async () => {
      const response = await asAdmin('GET', `/admin/users/${randomUUID()}/sessions`);

      expect(response.status).toBe(404);
      expect(response.body).toEqual(USER_NOT_FOUND);
    });
  });

  describe('GET /admin/users/:id/events', () => {
    it('returns 200 with the events, newest first', async () => {
      const target = await registerAndLogin(verso.baseUrl);

      const response = await asAdmin('GET', `/admin/users/${target.userId}/events`);

      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        events: [
          expect.objectContaining({ type: 'login', actorId: target.userId, sessionId: target.sessionId }),
          expect.objectContaining({ type: 'register', actorId: target.userId, sessionId: null }),
        ],
        total: 2,
        limit: 50,
        offset: 0,
      });
    });

    it('pages with limit and offset', async () => {
      const target = await registerAndLogin(verso.baseUrl);

      const response = await asAdmin('GET', `/admin/users/${target.userId}/events?limit=1&offset=1`);

      expect(response.status).toBe(200);
      expect(response.body.events.map((event: { type: string }) => event.type)).toEqual(['register']);
      expect(response.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
    });

    it('returns 400 for a limit over 200', async () => {
      const target = await registerAndLogin(verso.baseUrl);

      const response = await asAdmin('GET', `/admin/users/${target.userId}/events?limit=201`);

      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest('limit must not be greater than 200'));
    });

    it('returns 404 for an unknown user', async () => {
      const response = await asAdmin('GET', `/admin/users/${randomUUID()}/events`);

      expect(response.status).toBe(404);
      expect(response.body).toEqual(USER_NOT_FOUND);
    });
  });

  describe('POST /admin/users/:id/lock', () => {
    it('returns 204 and locks the user', async () => {
      const target = await registerAndLogin(verso.baseUrl);

      const response = await asAdmin('POST', `/admin/users/${target.userId}/lock`, { reason: 'Suspicious activity' });

      expect(response.status).toBe(204);
      expect(response.body).toBeUndefined();
      expect((await asAdmin('GET', `/admin/users/${target.userId}`)).body).toMatchObject({
        locked: true,
        lockReason: 'Suspicious activity',
        lockedUntil: null,
        tokenVersion: 1,
      });
    });

    it("ends the user's tokens", async () => {
      const target = await registerAndLogin(verso.baseUrl);
      expect((await me(target.accessToken)).status).toBe(200);

      await asAdmin('POST', `/admin/users/${target.userId}/lock`, { reason: 'test' });

      expect((await me(target.accessToken)).status).toBe(401);
      expect((await refresh(target.refreshToken)).status).toBe(401);
      expect((await readSession(database, target.sessionId))?.revoked_reason).toBe('admin_lock');
    });

    it('accepts an end time in the future', async () => {
      const target = await registerAndLogin(verso.baseUrl);
      const until = new Date(Date.now() + 3_600_000).toISOString();

      const response = await asAdmin('POST', `/admin/users/${target.userId}/lock`, { reason: 'cool-off', until });

      expect(response.status).toBe(204);
      expect((await asAdmin('GET', `/admin/users/${target.userId}`)).body).toMatchObject({ locked: true, lockedUntil: until });
    });

    it('returns 400 for an end time in the past', async () => {
      const target = await registerAndLogin(verso.baseUrl);

      const response = await asAdmin('POST', `/admin/users/${target.userId}/lock`, { reason: 'test', until: '2000-01-01T00:00:00Z' });

      expect(response.status).toBe(400);
      expect(response.body).toEqual({ statusCode: 400, message: 'until must be in the future', error: 'Bad Request' });
    });

    it('returns 400 without a reason', async () => {
      const target = await registerAndLogin(verso.baseUrl);

      const response = await asAdmin('POST', `/admin/users/${target.userId}/lock`, {});

      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest(
          'reason must be plain text without control characters',
          'reason must be shorter than or equal to 500 characters',
          'reason must be longer than or equal to 1 characters',
          'reason must be a string',
        ));
    });

    it("returns 400 for the admin's own account", async () => {
      const response = await asAdmin('POST', `/admin/users/${admin.userId}/lock`, { reason: 'test' });

      expect(response.status).toBe(400);
      expect(response.body).toEqual({ statusCode: 400, message: 'An admin cannot lock their own account.', error: 'Bad Request' });
    });

    it("returns 400 for the admin's own id in upper case", async () => {
      const response = await asAdmin('POST', `/admin/users/${admin.userId.toUpperCase()}/lock`, { reason: 'test' });

      expect(response.status).toBe(400);
      expect(response.body).toEqual({ statusCode: 400, message: 'An admin cannot lock their own account.', error: 'Bad Request' });
    });

    // Week dates, comma fractions and the basic format are ISO 8601 but not
    // RFC 3339, and Date cannot parse them.
    it.each(['2030-W01', '2030-W01-1', '2030-01-01T00:00:00,5Z', '20300101T000000Z'])('returns 400 for until %s', async (until) => {
      const target = await registerAndLogin(verso.baseUrl);

      const response = await asAdmin('POST', `/admin/users/${target.userId}/lock`, { reason: 'test', until });

      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest('until must be an RFC 3339 date-time, such as 2030-01-01T00:00:00Z'));
    });

    it('returns 404 for an unknown user', async () => {
      const response = await asAdmin('POST', `/admin/users/${randomUUID()}/lock`, { reason: 'test' });

      expect(response.status).toBe(404);
      expect(response.body).toEqual(USER_NOT_FOUND);
    });
  });

  describe('POST /admin/users/:id/unlock', () => {
    it('returns 204 and lets the user log in again', async () => {
      const target = await registerAndLogin(verso.baseUrl);
      await asAdmin('POST', `/admin/users/${target.userId}/lock`, { reason: 'test' });

      const response = await asAdmin('POST', `/admin/users/${target.userId}/unlock`);

      expect(response.status).toBe(204);
      expect((await asAdmin('GET', `/admin/users/${target.userId}`)).body).toMatchObject({ locked: false, lockedAt: null, lockReason: null });
      expect((await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: target.email, password: target.password } })).status).toBe(200);
    });

    it('keeps tokens from before the lock dead', async () => {
      const target = await registerAndLogin(verso.baseUrl);
      await asAdmin('POST', `/admin/users/${target.userId}/lock`, { reason: 'test' });

      await asAdmin('POST', `/admin/users/${target.userId}/unlock`);

      expect((await me(target.accessToken)).body).toEqual(INVALID_ACCESS_TOKEN);
      expect((await refresh(target.refreshToken)).status).toBe(401);
    });

    it('returns 404 for an unknown user', async () => {
      const response = await asAdmin('POST', `/admin/users/${randomUUID()}/unlock`);

      expect(response.status).toBe(404);
      expect(response.body).toEqual(USER_NOT_FOUND);
    });
  });

  describe('POST /admin/users/:id/revoke-tokens', () => {
    it("returns 204 and ends the user's tokens", async () => {
      const target = await registerAndLogin(verso.baseUrl);
      expect((await me(target.accessToken)).status).toBe(200);

      const response = await asAdmin('POST', `/admin/users/${target.userId}/revoke-tokens`);

      expect(response.status).toBe(204);
      expect((await me(target.accessToken)).status).toBe(401);
      expect((await refresh(target.refreshToken)).status).toBe(401);
      expect(await readUserState(database, target.userId)).toEqual({ role: 'user', token_version: 1 });
    });

    it('does not lock the account', async () => {
      const target = await registerAndLogin(verso.baseUrl);

      await asAdmin('POST', `/admin/users/${target.userId}/revoke-tokens`);

      expect((await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: target.email, password: target.password } })).status).toBe(200);
    });

    it('returns 404 for an unknown user', async () => {
      const response = await asAdmin('POST', `/admin/users/${randomUUID()}/revoke-tokens`);

      expect(response.status).toBe(404);
      expect(response.body).toEqual(USER_NOT_FOUND);
    });
  });

  describe('DELETE /admin/sessions/:id', () => {
    it('returns 204 and ends the session', async () => {
      const target = await registerAndLogin(verso.baseUrl);
      expect((await me(target.accessToken)).status).toBe(200);

      const response = await asAdmin('DELETE', `/admin/sessions/${target.sessionId}`);

      expect(response.status).toBe(204);
      expect((await me(target.accessToken)).status).toBe(401);
      expect((await readSession(database, target.sessionId))?.revoked_reason).toBe('admin');
    });

    it('returns 404 for an unknown session', async () => {
      const response = await asAdmin('DELETE', `/admin/sessions/${randomUUID()}`);

      expect(response.status).toBe(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
    });

    it('returns 404 for a session already ended', async () => {
      const target = await registerAndLogin(verso.baseUrl);
      await asAdmin('DELETE', `/admin/sessions/${target.sessionId}`);

      const response = await asAdmin('DELETE', `/admin/sessions/${target.sessionId}`);

      expect(response.status).toBe(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
    });

    it('returns 404 for a malformed id', async () => {
      const response = await asAdmin('DELETE', '/admin/sessions/abc');

      expect(response.status).toBe(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
    });
  });
});
