import { readSession, readUserState } from './support/accounts';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, login, LoggedInUser, registerAndLogin } from './support/http';
import { readClaims } from './support/jwt-claims';
import { badRequest, INVALID_ACCESS_TOKEN, INVALID_CREDENTIALS, INVALID_REFRESH_TOKEN, TOKEN_REQUIRED, WRONG_CURRENT_PASSWORD } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

const NEW_PASSWORD = 'a brand new passphrase';

describe('POST /auth/password', () => {
  let database: TestDatabase;
  let verso: TestApp;
  const changePassword = (token: string, body: unknown) => http(verso.baseUrl, 'POST', '/auth/password', { token, body });
  const me = (token: string) => http(verso.baseUrl, 'GET', '/auth/me', { token });
  const refresh = (refreshToken: string) => http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken } });

  /** Devices A and B of one user, with both access tokens cached; A changes the password. */
  async function changeOnA() {
    const a = await registerAndLogin(verso.baseUrl);
    const b: LoggedInUser = { ...a, ...(await login(verso.baseUrl, a.email, a.password)) };
    expect((await me(a.accessToken)).status).toBe(200);
    expect((await me(b.accessToken)).status).toBe(200);

    const response = await changePassword(a.accessToken, { currentPassword: a.password, newPassword: NEW_PASSWORD });
    expect(response.status).toBe(200);
    return { a, b, response };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('returns 200 with a new pair for the same session', async () => {
    const { a, response } = await changeOnA();

    expect(response.body).toEqual({
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      refreshToken: expect.stringMatching(/^[\w-]{70}$/),
      tokenType: 'Bearer',
      expiresIn: 900,
      sessionId: a.sessionId,
    });
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('rejects the old password at login', async () => {
    const { a } = await changeOnA();

    const response = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: a.email, password: a.password } });

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_CREDENTIALS);
  });

  it('accepts the new password at login', async () => {
    const { a } = await changeOnA();

    const response = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: a.email, password: NEW_PASSWORD } });

    expect(response.status).toBe(200);
  });

  it("kills the other device's access token", async () => {
    const { b } = await changeOnA();

    const response = await me(b.accessToken);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_ACCESS_TOKEN);
  });

  it("kills the other device's refresh token", async () => {
    const { b } = await changeOnA();

    const response = await refresh(b.refreshToken);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
  });

  it('ends the other session with reason password_changed', async () => {
    const { b } = await changeOnA();

    expect((await readSession(database, b.sessionId))?.revoked_reason).toBe('password_changed');
  });

  it("kills this device's old access token", async () => {
    const { a } = await changeOnA();

    const response = await me(a.accessToken);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_ACCESS_TOKEN);
  });

  it("rejects this device's old refresh token", async () => {
    const { a } = await changeOnA();

    const response = await refresh(a.refreshToken);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
  });

  it("treats this device's old refresh token as reuse", async () => {
    const { a, response } = await changeOnA();

    await refresh(a.refreshToken);

    expect((await readSession(database, a.sessionId))?.revoked_reason).toBe('refresh_reuse');
    expect((await me(response.body.accessToken)).status).toBe(401);
  });

  it('gives an access token that works', async () => {
    const { a, response } = await changeOnA();

    const meResponse = await me(response.body.accessToken);

    expect(meResponse.status).toBe(200);
    expect(meResponse.body).toEqual({ id: a.userId, email: a.email, role: 'user', sessionId: a.sessionId });
  });

  it('gives a refresh token that rotates', async () => {
    const { a, response } = await changeOnA();

    const rotated = await refresh(response.body.refreshToken);

    expect(rotated.status).toBe(200);
    expect(rotated.body.sessionId).toBe(a.sessionId);
  });

  it('bumps the token version', async () => {
    const { a, response } = await changeOnA();

    expect((await readUserState(database, a.userId)).token_version).toBe(1);
    expect(readClaims(response.body.accessToken).ver).toBe(1);
  });

  it('returns 403 for a wrong current password', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await changePassword(user.accessToken, { currentPassword: 'not my password', newPassword: NEW_PASSWORD });

    expect(response.status).toBe(403);
    expect(response.body).toEqual(WRONG_CURRENT_PASSWORD);
  });

  it('changes nothing on a wrong current password', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    await changePassword(user.accessToken, { currentPassword: 'not my password', newPassword: NEW_PASSWORD });

    expect((await me(user.accessToken)).status).toBe(200);
    expect((await readUserState(database, user.userId)).token_version).toBe(0);
    expect((await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password } })).status).toBe(200);
  });

  it('returns 400 for a short new password', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await changePassword(user.accessToken, { currentPassword: user.password, newPassword: 'short' });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('newPassword must be longer than or equal to 8 characters'));
  });

  it('returns 400 for an unknown field', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await changePassword(user.accessToken, { currentPassword: user.password, newPassword: NEW_PASSWORD, confirm: NEW_PASSWORD });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('property confirm should not exist'));
  });

  it('returns 401 without a token', async () => {
    const response = await http(verso.baseUrl, 'POST', '/auth/password', { body: { currentPassword: 'x', newPassword: NEW_PASSWORD } });

    expect(response.status).toBe(401);
    expect(response.body).toEqual(TOKEN_REQUIRED);
  });
});
