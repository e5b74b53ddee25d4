import { createTestDatabase, TestDatabase } from './support/database';
import { http, registerAndLogin } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

describe('smoke', () => {
  let database: TestDatabase;
  let verso: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('global logout rejects the old access token', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const before = await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken });
    expect(before.status).toBe(200);
    expect(before.body).toEqual({ id: user.userId, email: user.email, role: 'user', sessionId: user.sessionId });

    const logout = await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'global' } });
    expect(logout.status).toBe(204);

    const after = await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(after.body).toEqual({ statusCode: 401, message: 'The access token is invalid, expired or revoked.', error: 'Unauthorized' });
  });
});
