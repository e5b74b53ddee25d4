import { randomUUID } from 'node:crypto';

import { readSession } from './support/accounts';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, login, registerAndLogin } from './support/http';
import { INVALID_ACCESS_TOKEN, ISO_TIMESTAMP, SESSION_NOT_FOUND, TOKEN_REQUIRED } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

describe('sessions and /auth/me', () => {
  let database: TestDatabase;
  let verso: TestApp;
  const me = (token: string) => http(verso.baseUrl, 'GET', '/auth/me', { token });
  const listSessions = (token: string) => http(verso.baseUrl, 'GET', '/sessions', { token });
  const deleteSession = (token: string, id: string) => http(verso.baseUrl, 'DELETE', `/sessions/${id}`, { token });
  const refresh = (refreshToken: string) => http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken } });

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  describe('GET /auth/me', () => {
    it('returns 200 with the caller', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      const response = await me(user.accessToken);

      expect(response.status).toBe(200);
      expect(response.body).toEqual({ id: user.userId, email: user.email, role: 'user', sessionId: user.sessionId });
    });

    it('returns 401 without a token', async () => {
      const response = await http(verso.baseUrl, 'GET', '/auth/me');

      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(response.body).toEqual(TOKEN_REQUIRED);
    });

    it('returns 401 for a token that is not a JWT', async () => {
      const response = await me('not-a-token');

      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(response.body).toEqual(INVALID_ACCESS_TOKEN);
    });
  });

  describe('GET /sessions', () => {
    it("lists the caller's live sessions and marks the current one", async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const other = await login(verso.baseUrl, user.email, user.password);

      const response = await listSessions(user.accessToken);

      expect(response.status).toBe(200);
      const session = (id: string, current: boolean) => ({
        id,
        userAgent: 'node',
        ip: '127.0.0.1',
        createdAt: expect.stringMatching(ISO_TIMESTAMP),
        lastUsedAt: expect.stringMatching(ISO_TIMESTAMP),
        expiresAt: expect.stringMatching(ISO_TIMESTAMP),
        current,
      });
      expect(response.body).toEqual([session(other.sessionId, false), session(user.sessionId, true)]);
    });

    it('leaves out ended sessions', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const other = await login(verso.baseUrl, user.email, user.password);
      await http(verso.baseUrl, 'POST', '/auth/logout', { token: other.accessToken, body: { scope: 'local' } });

      const response = await listSessions(user.accessToken);

      expect(response.body.map((session: { id: string }) => session.id)).toEqual([user.sessionId]);
    });

    it("leaves out other users' sessions", async () => {
      const user = await registerAndLogin(verso.baseUrl);
      await registerAndLogin(verso.baseUrl);

      const response = await listSessions(user.accessToken);

      expect(response.body).toHaveLength(1);
    });

    it('returns 401 without a token', async () => {
      const response = await http(verso.baseUrl, 'GET', '/sessions');

      expect(response.status).toBe(401);
      expect(response.body).toEqual(TOKEN_REQUIRED);
    });
  });

  describe('DELETE /sessions/:id', () => {
    it('returns 204 and ends another session of the caller', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const other = await login(verso.baseUrl, user.email, user.password);
      expect((await me(other.accessToken)).status).toBe(200);

      const response = await deleteSession(user.accessToken, other.sessionId);

      expect(response.status).toBe(204);
      expect(response.body).toBeUndefined();
      expect((await me(other.accessToken)).status).toBe(401);
      expect((await refresh(other.refreshToken)).status).toBe(401);
      expect((await me(user.accessToken)).status).toBe(200);
    });

    it('ends the current session', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      expect((await deleteSession(user.accessToken, user.sessionId)).status).toBe(204);

      expect((await me(user.accessToken)).status).toBe(401);
    });

    it('returns 404 for an unknown id', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      const response = await deleteSession(user.accessToken, randomUUID());

      expect(response.status).toBe(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
    });

    it('returns 404 for a malformed id', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      const response = await deleteSession(user.accessToken, 'not-a-uuid');

      expect(response.status).toBe(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
    });

    it('returns 404 for a session already ended', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const other = await login(verso.baseUrl, user.email, user.password);
      await deleteSession(user.accessToken, other.sessionId);

      const response = await deleteSession(user.accessToken, other.sessionId);

      expect(response.status).toBe(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
    });

    it('returns 401 without a token', async () => {
      const response = await http(verso.baseUrl, 'DELETE', `/sessions/${randomUUID()}`);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(TOKEN_REQUIRED);
    });
  });

  describe("another user's session", () => {
    // X deletes Y's session: the response is the one for a random id, and Y keeps the session.
    it('is answered 404 like a random id', async () => {
      const x = await registerAndLogin(verso.baseUrl);
      const y = await registerAndLogin(verso.baseUrl);

      const theirs = await deleteSession(x.accessToken, y.sessionId);
      const random = await deleteSession(x.accessToken, randomUUID());

      expect(theirs.status).toBe(404);
      expect(theirs.body).toEqual(SESSION_NOT_FOUND);
      expect(theirs.status).toBe(random.status);
      expect(theirs.body).toEqual(random.body);
    });

    it('stays alive', async () => {
      const x = await registerAndLogin(verso.baseUrl);
      const y = await registerAndLogin(verso.baseUrl);

      await deleteSession(x.accessToken, y.sessionId);

      expect(await readSession(database, y.sessionId)).toEqual({ revoked_at: null, revoked_reason: null, refresh_generation: 0 });
      expect((await me(y.accessToken)).status).toBe(200);
      expect((await refresh(y.refreshToken)).status).toBe(200);
    });
  });
});
