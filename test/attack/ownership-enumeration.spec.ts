import { createTestDatabase, TestDatabase } from '../support/database';
import { http, HttpResult, LoggedInUser, registerAndLogin } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';

const SESSION_NOT_FOUND = { statusCode: 404, message: 'Session not found.', error: 'Not Found' };
const ADMIN_REQUIRED = { statusCode: 403, message: 'This route requires the admin role.', error: 'Forbidden' };
const INVALID_CREDENTIALS = { statusCode: 401, message: 'Invalid email or password.', error: 'Unauthorized' };

describe('ownership', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let attacker: LoggedInUser;
  let victim: LoggedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    attacker = await registerAndLogin(verso.baseUrl);
    victim = await registerAndLogin(verso.baseUrl);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it("deleting another user's session gets the same 404 as a random id", async () => {
    const foreign = await http(verso.baseUrl, 'DELETE', `/sessions/${victim.sessionId}`, { token: attacker.accessToken });
    const random = await http(verso.baseUrl, 'DELETE', '/sessions/6f1c2a9e-0000-4000-8000-000000000000', { token: attacker.accessToken });
    const malformed = await http(verso.baseUrl, 'DELETE', '/sessions/not-a-uuid', { token: attacker.accessToken });

    for (const response of [foreign, random, malformed]) {
      expect(response.status).toBe(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
    }
  });

  it("other user's session stays alive after the attempt", async () => {
    await http(verso.baseUrl, 'DELETE', `/sessions/${victim.sessionId}`, { token: attacker.accessToken });

    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: victim.accessToken })).status).toBe(200);
    const rotated = await http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: victim.refreshToken } });
    expect(rotated.status).toBe(200);
    victim = { ...victim, accessToken: rotated.body.accessToken, refreshToken: rotated.body.refreshToken };
  });

  it("session list shows only one's own sessions", async () => {
    const response = await http(verso.baseUrl, 'GET', '/sessions', { token: attacker.accessToken });
    expect(response.body.map((session: { id: string }) => session.id)).toEqual([attacker.sessionId]);
  });

  it.each([
    ['GET', '/admin/users/:victim'],
    ['GET', '/admin/users/:victim/sessions'],
    ['GET', '/admin/users/:victim/events'],
    ['POST', '/admin/users/:victim/lock'],
    ['POST', '/admin/users/:victim/unlock'],
    ['POST', '/admin/users/:victim/revoke-tokens'],
    ['DELETE', '/admin/sessions/:session'],
  ])('%s %s as a user gets 403', async (method, template) => {
    const path = template.replace(':victim', victim.userId).replace(':session', victim.sessionId);
    const body = method === 'POST' && path.endsWith('/lock') ? { reason: 'takeover' } : undefined;

    const response = await http(verso.baseUrl, method, path, { token: attacker.accessToken, body });
    expect(response.status).toBe(403);
    expect(response.body).toEqual(ADMIN_REQUIRED);
  });

  it('victim is untouched by the denied admin calls', async () => {
    const state = await database.query<{ token_version: number; locked_at: Date | null }>('SELECT token_version, locked_at FROM users WHERE id = $1', [victim.userId]);
    expect(state).toEqual([{ token_version: 0, locked_at: null }]);
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: victim.accessToken })).status).toBe(200);
  });
});

describe('login enumeration', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let user: LoggedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    user = await registerAndLogin(verso.baseUrl);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('unknown email and wrong password get the same status and body', async () => {
    const unknown = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: 'nobody-here@example.com', password: 'some guess' } });
    const wrong = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: 'some guess' } });

    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(INVALID_CREDENTIALS);
    expect(wrong.body).toEqual(INVALID_CREDENTIALS);
  });

  it('unknown email and wrong password get the same headers', async () => {
    const unknown = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: 'nobody-here@example.com', password: 'some guess' } });
    const wrong = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: 'some guess' } });

    const names = (response: HttpResult) => [...response.headers.keys()].filter((name) => name !== 'date').sort();
    expect(names(unknown)).toEqual(names(wrong));
    expect(unknown.headers.get('content-length')).toBe(wrong.headers.get('content-length'));
  });

  // The timing of the two cases is compared in test/login-timing.timing.spec.ts,
  // which runs alone after the other files so their load does not blur it.
});
