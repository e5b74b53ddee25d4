import { createTestDatabase, TestDatabase } from './support/database';
import { http, LoggedInUser, login, registerAndLogin } from './support/http';
import { introspect, testClients } from './support/oauth-clients';
import { startTestApp, TestApp } from './support/test-app';
import { signAccessToken, unsignedToken } from './support/tokens';

const clients = testClients();

function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('token introspection', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let admin: LoggedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url, { INTROSPECTION_CLIENTS: clients.environment });
    admin = await registerAndLogin(verso.baseUrl);
    // Promoted before its first guarded request, so no cached state holds the old role.
    await database.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.userId]);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  // Each case turns a freshly logged-in user into a token in one state; the
  // guard (GET /auth/me) and introspection must reach the same decision.
  const states: Array<[string, boolean, (user: LoggedInUser) => Promise<string>]> = [
    ['live token', true, async (user) => user.accessToken],
    [
      'after local logout',
      false,
      async (user) => {
        await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });
        return user.accessToken;
      },
    ],
    [
      'after global logout',
      false,
      async (user) => {
        await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'global' } });
        return user.accessToken;
      },
    ],
    [
      'version bumped, session alive',
      false,
      async (user) => {
        // A password change bumps the version but keeps this session with a new pair.
        const changed = await http(verso.baseUrl, 'POST', '/auth/password', {
          token: user.accessToken,
          body: { currentPassword: user.password, newPassword: 'a whole new passphrase' },
        });
        if (changed.status !== 200) throw new Error(`password change failed: ${changed.status}`);
        return user.accessToken;
      },
    ],
    [
      'issued after the version bump',
      true,
      async (user) => {
        const changed = await http(verso.baseUrl, 'POST', '/auth/password', {
          token: user.accessToken,
          body: { currentPassword: user.password, newPassword: 'a whole new passphrase' },
        });
        return changed.body.accessToken as string;
      },
    ],
    [
      'user locked',
      false,
      async (user) => {
        const locked = await http(verso.baseUrl, 'POST', `/admin/users/${user.userId}/lock`, { token: admin.accessToken, body: { reason: 'test' } });
        if (locked.status !== 204) throw new Error(`lock failed: ${locked.status}`);
        return user.accessToken;
      },
    ],
    [
      'session revoked from another device',
      false,
      async (user) => {
        const other = await login(verso.baseUrl, user.email, user.password);
        await http(verso.baseUrl, 'DELETE', `/sessions/${user.sessionId}`, { token: other.accessToken });
        return user.accessToken;
      },
    ],
    [
      'session revoked by an admin',
      false,
      async (user) => {
        await http(verso.baseUrl, 'DELETE', `/admin/sessions/${user.sessionId}`, { token: admin.accessToken });
        return user.accessToken;
      },
    ],
    [
      'expired',
      false,
      async (user) => {
        const now = Math.floor(Date.now() / 1000);
        return signAccessToken(verso.config, { ...user, tokenVersion: 0 }, { claims: { iat: now - 1000, exp: now - 100 } });
      },
    ],
    ['signed with another secret', false, async (user) => signAccessToken(verso.config, { ...user, tokenVersion: 0 }, { secret: 'z'.repeat(32) })],
    ['typ is JWT', false, async (user) => signAccessToken(verso.config, { ...user, tokenVersion: 0 }, { header: { typ: 'JWT' } })],
    ['kid names no key', false, async (user) => signAccessToken(verso.config, { ...user, tokenVersion: 0 }, { header: { kid: 'unknown' } })],
    ['sid missing', false, async (user) => signAccessToken(verso.config, { ...user, tokenVersion: 0 }, { claims: { sid: undefined } })],
    ['ver is a string', false, async (user) => signAccessToken(verso.config, { ...user, tokenVersion: 0 }, { claims: { ver: '0' } })],
    ['alg none', false, async (user) => unsignedToken(decodePayload(user.accessToken))],
    ['refresh token', false, async (user) => user.refreshToken],
    ['not a JWT', false, async () => 'not-a-token'],
  ];

  it.each(states)('guard and introspection agree: %s', async (_state, live, arrange) => {
    const user = await registerAndLogin(verso.baseUrl);
    const token = await arrange(user);

    const guard = await http(verso.baseUrl, 'GET', '/auth/me', { token });
    const introspection = await introspect(verso.baseUrl, token, clients.gateway);

    expect(introspection.status).toBe(200);
    expect({ guard: guard.status, active: introspection.body.active }).toEqual(live ? { guard: 200, active: true } : { guard: 401, active: false });
  });

  it('inactive answer carries only active: false', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });

    const introspection = await introspect(verso.baseUrl, user.accessToken, clients.gateway);

    expect(introspection.body).toEqual({ active: false });
  });

  it('active answer carries the claims and the role', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const claims = decodePayload(user.accessToken);

    const introspection = await introspect(verso.baseUrl, user.accessToken, clients.gateway);

    expect(introspection.body).toEqual({
      active: true,
      token_type: 'Bearer',
      token_use: 'access_token',
      sub: user.userId,
      sid: user.sessionId,
      role: 'user',
      jti: claims.jti,
      iss: 'verso',
      aud: 'verso-api',
      iat: claims.iat,
      exp: claims.exp,
    });
  });

  it('answers are not cacheable', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const active = await introspect(verso.baseUrl, user.accessToken, clients.gateway);
    const inactive = await introspect(verso.baseUrl, 'not-a-token', clients.gateway);

    expect([active.headers.get('cache-control'), inactive.headers.get('cache-control')]).toEqual(['no-store', 'no-store']);
  });

  it('accepts every configured client', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const introspection = await introspect(verso.baseUrl, user.accessToken, clients.reports);

    expect(introspection.body.active).toBe(true);
  });

  it('ignores parameters it does not know', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const introspection = await http(verso.baseUrl, 'POST', '/oauth/introspect', {
      basic: clients.gateway,
      form: { token: user.accessToken, token_type_hint: 'refresh_token', client_id: 'gateway' },
    });

    expect([introspection.status, introspection.body.active]).toEqual([200, true]);
  });

  describe('client authentication', () => {
    const challenge = 'Basic realm="verso", charset="UTF-8"';
    const failure = { statusCode: 401, message: 'Client authentication failed.', error: 'invalid_client' };

    it.each([
      ['no credentials', {}],
      ['a wrong secret', { basic: { id: clients.gateway.id, secret: clients.reports.secret } }],
      ['an unknown client id', { basic: { id: 'stranger', secret: clients.gateway.secret } }],
      ['an empty secret', { basic: { id: clients.gateway.id, secret: '' } }],
      ['a bearer token instead', { headers: { authorization: `Bearer ${clients.gateway.secret}` } }],
    ])('rejects %s with 401 invalid_client', async (_case, credentials) => {
      const response = await http(verso.baseUrl, 'POST', '/oauth/introspect', { ...credentials, form: { token: 'not-a-token' } });

      expect({ status: response.status, challenge: response.headers.get('www-authenticate'), body: response.body }).toEqual({
        status: 401,
        challenge,
        body: failure,
      });
    });

    it('rejects the revocation endpoint too', async () => {
      const response = await http(verso.baseUrl, 'POST', '/oauth/revoke', { form: { token: 'not-a-token' } });

      expect([response.status, response.body]).toEqual([401, failure]);
    });
  });

  describe('malformed requests', () => {
    it('rejects a request without a token', async () => {
      const response = await http(verso.baseUrl, 'POST', '/oauth/introspect', { basic: clients.gateway, form: { token_type_hint: 'access_token' } });

      expect([response.status, response.body]).toEqual([
        400,
        { statusCode: 400, message: 'The token parameter is required, exactly once.', error: 'invalid_request' },
      ]);
    });

    it('rejects a token sent twice', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      const response = await http(verso.baseUrl, 'POST', '/oauth/introspect', { basic: clients.gateway, form: { token: [user.accessToken, 'other'] } });

      expect([response.status, response.body.error]).toEqual([400, 'invalid_request']);
    });
  });
});
