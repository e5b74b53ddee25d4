import { createTestDatabase, TestDatabase } from './support/database';
import { http, HttpResult, login, registerAndLogin } from './support/http';
import { testClients } from './support/oauth-clients';
import { startTestApp, TestApp } from './support/test-app';

const clients = testClients();

describe('token revocation', () => {
  let database: TestDatabase;
  let verso: TestApp;

  const revoke = (form: Record<string, string>): Promise<HttpResult> => http(verso.baseUrl, 'POST', '/oauth/revoke', { basic: clients.gateway, form });
  const me = (token: string) => http(verso.baseUrl, 'GET', '/auth/me', { token });
  const refresh = (refreshToken: string) => http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken } });

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url, { INTROSPECTION_CLIENTS: clients.environment });
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('answers 200 with an empty body', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await revoke({ token: user.refreshToken });

    expect({ status: response.status, body: response.body, cacheControl: response.headers.get('cache-control') }).toEqual({
      status: 200,
      body: undefined,
      cacheControl: 'no-store',
    });
  });

  it('refresh token ends its session', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    await revoke({ token: user.refreshToken, token_type_hint: 'refresh_token' });

    expect([(await me(user.accessToken)).status, (await refresh(user.refreshToken)).status]).toEqual([401, 401]);
  });

  it('access token ends its session', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    await revoke({ token: user.accessToken, token_type_hint: 'access_token' });

    expect([(await me(user.accessToken)).status, (await refresh(user.refreshToken)).status]).toEqual([401, 401]);
  });

  it('wrong hint still ends the session', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    await revoke({ token: user.accessToken, token_type_hint: 'refresh_token' });

    expect((await me(user.accessToken)).status).toBe(401);
  });

  it('leaves the other sessions of the user alive', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const other = await login(verso.baseUrl, user.email, user.password);

    await revoke({ token: user.refreshToken });

    expect([(await me(other.accessToken)).status, (await refresh(other.refreshToken)).status]).toEqual([200, 200]);
  });

  it('records the reason and an audit event', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    await revoke({ token: user.accessToken });

    const sessions = await database.query('SELECT revoked_reason FROM sessions WHERE id = $1', [user.sessionId]);
    const events = await database.query(`SELECT user_id, actor_id, session_id, details FROM audit_events WHERE type = 'oauth_revoke' AND session_id = $1`, [
      user.sessionId,
    ]);
    expect({ sessions, events }).toEqual({
      sessions: [{ revoked_reason: 'oauth_revoke' }],
      events: [{ user_id: user.userId, actor_id: null, session_id: user.sessionId, details: { clientId: 'gateway', tokenType: 'access_token' } }],
    });
  });

  it.each([
    ['an unknown string', 'not-a-token'],
    ['a malformed JWT', 'a.b.c'],
    ['a refresh token with a bad MAC', 'A'.repeat(70)],
  ])('answers 200 to %s and changes nothing', async (_case, token) => {
    const before = await database.query(`SELECT count(*)::int AS live FROM sessions WHERE revoked_at IS NULL`);

    const response = await revoke({ token });

    const after = await database.query(`SELECT count(*)::int AS live FROM sessions WHERE revoked_at IS NULL`);
    expect({ status: response.status, live: after[0].live }).toEqual({ status: 200, live: before[0].live });
  });

  it('answers 200 to a token already revoked, without a second event', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await revoke({ token: user.refreshToken });

    const again = await revoke({ token: user.refreshToken });

    const events = await database.query(`SELECT count(*)::int AS count FROM audit_events WHERE type = 'oauth_revoke' AND session_id = $1`, [user.sessionId]);
    expect({ status: again.status, events: events[0].count }).toEqual({ status: 200, events: 1 });
  });

  it('a dead access token ends nothing', async () => {
    // After a password change, the old access token of this session is dead, but the session lives on with a new pair.
    const user = await registerAndLogin(verso.baseUrl);
    const changed = await http(verso.baseUrl, 'POST', '/auth/password', {
      token: user.accessToken,
      body: { currentPassword: user.password, newPassword: 'a whole new passphrase' },
    });

    const response = await revoke({ token: user.accessToken });

    expect({ status: response.status, current: (await me(changed.body.accessToken)).status }).toEqual({ status: 200, current: 200 });
  });

  it('rejects a request without a token', async () => {
    const response = await revoke({ token_type_hint: 'refresh_token' });

    expect([response.status, response.body.error]).toEqual([400, 'invalid_request']);
  });
});
