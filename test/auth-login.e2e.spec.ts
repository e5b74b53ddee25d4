import { readClaims } from './support/jwt-claims';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, registerAndLogin } from './support/http';
import { ACCOUNT_LOCKED, badRequest, INVALID_CREDENTIALS, UUID } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

describe('POST /auth/login', () => {
  let database: TestDatabase;
  let verso: TestApp;
  const login = (body: unknown) => http(verso.baseUrl, 'POST', '/auth/login', { body });

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('returns 200 with a token pair', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await login({ email: user.email, password: user.password });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      refreshToken: expect.stringMatching(/^[\w-]{70}$/),
      tokenType: 'Bearer',
      expiresIn: 900,
      sessionId: expect.stringMatching(UUID),
    });
  });

  it('marks the response no-store', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await login({ email: user.email, password: user.password });

    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('mints an access token with the documented header and claims', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const { body } = await login({ email: user.email, password: user.password });
    const header = JSON.parse(Buffer.from(body.accessToken.split('.')[0], 'base64url').toString('utf8'));
    const claims = readClaims(body.accessToken);

    expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: expect.any(String) });
    expect(claims).toEqual({
      iss: 'verso',
      aud: 'verso-api',
      sub: user.userId,
      sid: body.sessionId,
      ver: 0,
      jti: expect.stringMatching(UUID),
      iat: expect.any(Number),
      exp: (claims.iat as number) + 900,
    });
  });

  it('opens a new session per login', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const second = await login({ email: user.email, password: user.password });

    expect(second.body.sessionId).not.toBe(user.sessionId);
    const rows = await database.query('SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [user.userId]);
    expect(rows).toHaveLength(2);
  });

  it('accepts the email in another case', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await login({ email: user.email.toUpperCase(), password: user.password });

    expect(response.status).toBe(200);
  });

  it('returns 401 for a wrong password', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await login({ email: user.email, password: 'wrong password' });

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_CREDENTIALS);
  });

  it('returns 401 with the same body for an unknown email', async () => {
    const response = await login({ email: 'nobody@example.com', password: 'wrong password' });

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_CREDENTIALS);
  });

  it('audits a failed login with its reason', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await login({ email: user.email, password: 'wrong password' });

    const events = await database.query("SELECT details FROM audit_events WHERE user_id = $1 AND type = 'login_failed'", [user.userId]);

    expect(events).toEqual([{ details: { reason: 'wrong_password' } }]);
  });

  it('returns 403 for a locked user with the right password', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await database.query("UPDATE users SET locked_at = now(), lock_reason = 'test' WHERE id = $1", [user.userId]);

    const response = await login({ email: user.email, password: user.password });

    expect(response.status).toBe(403);
    expect(response.body).toEqual(ACCOUNT_LOCKED);
  });

  it('returns 401 for a locked user with a wrong password', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await database.query("UPDATE users SET locked_at = now(), lock_reason = 'test' WHERE id = $1", [user.userId]);

    const response = await login({ email: user.email, password: 'wrong password' });

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_CREDENTIALS);
  });

  it('returns 200 once a timed lock has ended', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await database.query("UPDATE users SET locked_at = now() - interval '2 hours', lock_reason = 'test', locked_until = now() - interval '1 hour' WHERE id = $1", [
      user.userId,
    ]);

    const response = await login({ email: user.email, password: user.password });

    expect(response.status).toBe(200);
  });

  it('returns 400 for an invalid email', async () => {
    const response = await login({ email: 'nobody', password: 'whatever' });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('email must be a valid email address'));
  });

  it('returns 400 for an unknown field', async () => {
    const response = await login({ email: 'nobody@example.com', password: 'whatever', remember: true });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('property remember should not exist'));
  });

  it('returns 400 for a missing password', async () => {
    const response = await login({ email: 'nobody@example.com' });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(
      badRequest('password must be shorter than or equal to 128 characters', 'password must be longer than or equal to 1 characters', 'password must be a string'),
    );
  });
});
