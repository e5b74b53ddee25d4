import { randomBytes } from 'node:crypto';

import { loadConfig } from '../../src/config/configuration';
import { createTestDatabase, TestDatabase } from '../support/database';
import { basicAuthorization, http, HttpOptions } from '../support/http';
import { introspect, testClients } from '../support/oauth-clients';
import { ServerProcess, startServerProcess } from '../support/server-process';
import { testEnvironment } from '../support/test-app';
import { signAccessToken } from '../support/tokens';

type SecretKind = 'access token' | 'refresh token' | 'password' | 'password hash' | 'server secret' | 'client secret';

/**
 * verso must never log a token, a password, a password hash or a secret.
 * Both levels that log requests run every flow that handles one against a
 * real server process. Every such value is then searched for in all that the
 * process wrote to stdout and stderr.
 */
describe.each(['debug', 'trace'])('log secrecy at %s level', (level) => {
  let database: TestDatabase;
  let verso: ServerProcess;
  let output = '';
  // The one registered user, named in the failed login warning that the capture checks look for.
  let userId = '';
  const secrets: Array<{ kind: SecretKind; label: string; value: string }> = [];

  const remember = (kind: SecretKind, label: string, value: unknown) => {
    if (typeof value !== 'string' || value.length === 0) throw new Error(`missing ${label}: the flow did not return it`);
    secrets.push({ kind, label, value });
  };

  const rememberAccessToken = (label: string, token: unknown) => {
    remember('access token', label, token);
    remember('access token', `${label}, signature`, (token as string).split('.')[2]);
  };

  const rememberPasswordHash = async (label: string) => {
    const [row] = await database.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [userId]);
    remember('password hash', label, row?.password_hash);
    // PHC format, $argon2id$v=19$m=...,t=...,p=...$salt$hash: either part alone is as bad.
    const [, , , , salt, hash] = row.password_hash.split('$');
    remember('password hash', `${label}, salt part`, salt);
    remember('password hash', `${label}, hash part`, hash);
  };

  /** Send a request and fail at once on an unexpected status, so a flow that went wrong cannot pass as a quiet log. */
  const expectStatus = async (status: number, method: string, path: string, options: HttpOptions = {}) => {
    const response = await http(verso.baseUrl, method, path, options);
    if (response.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${response.status} ${JSON.stringify(response.body)}`);
    return response;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    const clients = testClients();
    const metricsToken = randomBytes(32).toString('base64url');
    const environment = testEnvironment(database.url, { LOG_LEVEL: level, INTROSPECTION_CLIENTS: clients.environment, METRICS_TOKEN: metricsToken });
    remember('server secret', 'METRICS_TOKEN', metricsToken);
    remember('server secret', 'JWT_SECRET', environment.JWT_SECRET);
    remember('server secret', 'REFRESH_TOKEN_SECRET', environment.REFRESH_TOKEN_SECRET);
    remember('client secret', 'gateway secret', clients.gateway.secret);
    remember('client secret', 'gateway Basic header', basicAuthorization(clients.gateway.id, clients.gateway.secret));
    remember('client secret', 'gateway Basic credentials', basicAuthorization(clients.gateway.id, clients.gateway.secret).slice('Basic '.length));
    verso = await startServerProcess(environment);


    const email = `log-secrecy-${level}@example.com`;
    const password = `first passphrase ${randomBytes(8).toString('hex')}`;
    const newPassword = `second passphrase ${randomBytes(8).toString('hex')}`;
    const wrongPassword = `wrong passphrase ${randomBytes(8).toString('hex')}`;
    remember('password', 'registered password', password);
    remember('password', 'new password', newPassword);
    remember('password', 'wrong password', wrongPassword);

    const registered = await expectStatus(201, 'POST', '/auth/register', { body: { email, password } });
    userId = registered.body.id;
    await rememberPasswordHash('hash of the registered password');


    const first = await expectStatus(200, 'POST', '/auth/login', { body: { email, password } });
    rememberAccessToken('first access token', first.body.accessToken);
    remember('refresh token', 'first refresh token', first.body.refreshToken);


    await expectStatus(401, 'POST', '/auth/login', { body: { email, password: wrongPassword } });
    const unknownEmailPassword = `unknown email passphrase ${randomBytes(8).toString('hex')}`;
    remember('password', 'password for an unknown email', unknownEmailPassword);
    await expectStatus(401, 'POST', '/auth/login', { body: { email: `nobody-${level}@example.com`, password: unknownEmailPassword } });


    const refreshed = await expectStatus(200, 'POST', '/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
    rememberAccessToken('refreshed access token', refreshed.body.accessToken);
    remember('refresh token', 'refreshed refresh token', refreshed.body.refreshToken);
    // A retry inside the grace window receives the pair again, with a fresh access token.
    const retried = await expectStatus(200, 'POST', '/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
    rememberAccessToken('access token of the retried refresh', retried.body.accessToken);
    // Two rotations later the first token counts as stolen, and presenting it ends the session.
    const second = await expectStatus(200, 'POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } });
    rememberAccessToken('second refreshed access token', second.body.accessToken);
    remember('refresh token', 'second refreshed refresh token', second.body.refreshToken);
    await expectStatus(401, 'POST', '/auth/refresh', { body: { refreshToken: first.body.refreshToken } });


    const live = await expectStatus(200, 'POST', '/auth/login', { body: { email, password } });
    rememberAccessToken('live access token', live.body.accessToken);
    remember('refresh token', 'live refresh token', live.body.refreshToken);
    await expectStatus(200, 'GET', '/auth/me', { token: live.body.accessToken });
    await expectStatus(200, 'GET', '/auth/verify', { token: live.body.accessToken });


    const wrongCurrent = `wrong current passphrase ${randomBytes(8).toString('hex')}`;
    remember('password', 'wrong current password', wrongCurrent);
    await expectStatus(403, 'POST', '/auth/password', { token: live.body.accessToken, body: { currentPassword: wrongCurrent, newPassword } });
    const changed = await expectStatus(200, 'POST', '/auth/password', { token: live.body.accessToken, body: { currentPassword: password, newPassword } });
    rememberAccessToken('access token after the password change', changed.body.accessToken);
    remember('refresh token', 'refresh token after the password change', changed.body.refreshToken);
    // The token from before the change is now revoked, and revoked tokens are sent too.
    await expectStatus(401, 'GET', '/auth/me', { token: live.body.accessToken });


    const introspected = await introspect(verso.baseUrl, changed.body.accessToken, clients.gateway);
    if (introspected.body?.active !== true) throw new Error(`introspection: ${JSON.stringify(introspected.body)}`);
    await expectStatus(200, 'POST', '/oauth/introspect', { basic: clients.gateway, form: { token: changed.body.refreshToken } });
    const wrongClientSecret = randomBytes(32).toString('base64url');
    remember('client secret', 'wrong client secret', wrongClientSecret);
    remember('client secret', 'wrong Basic header', basicAuthorization(clients.gateway.id, wrongClientSecret));
    remember('client secret', 'wrong Basic credentials', basicAuthorization(clients.gateway.id, wrongClientSecret).slice('Basic '.length));
    await expectStatus(401, 'POST', '/oauth/introspect', { basic: { id: clients.gateway.id, secret: wrongClientSecret }, form: { token: changed.body.accessToken } });
    await expectStatus(200, 'POST', '/oauth/revoke', { basic: clients.gateway, form: { token: changed.body.refreshToken, token_type_hint: 'refresh_token' } });


    const last = await expectStatus(200, 'POST', '/auth/login', { body: { email, password: newPassword } });
    rememberAccessToken('access token ended by logout', last.body.accessToken);
    remember('refresh token', 'refresh token ended by logout', last.body.refreshToken);
    await expectStatus(204, 'POST', '/auth/logout', { token: last.body.accessToken, body: { scope: 'local' } });
    await expectStatus(401, 'GET', '/auth/verify', { token: last.body.accessToken });
    await expectStatus(200, 'POST', '/oauth/revoke', { basic: clients.gateway, form: { token: last.body.accessToken } });


    // Bodies that never reach a handler: broken JSON, a failed validation and a rejected content type.
    const brokenPassword = `broken json passphrase ${randomBytes(8).toString('hex')}`;
    remember('password', 'password in broken JSON', brokenPassword);
    await expectStatus(400, 'POST', '/auth/login', { body: `{"email": "${email}", "password": "${brokenPassword}"` });
    await expectStatus(400, 'POST', '/auth/register', { body: `{"email": "${email}", "password": "${brokenPassword}", }` });
    const invalidPassword = `invalid body passphrase ${randomBytes(8).toString('hex')}`;
    remember('password', 'password in an invalid body', invalidPassword);
    await expectStatus(400, 'POST', '/auth/register', { body: { email: 'not an email', password: invalidPassword, extra: invalidPassword } });
    await expectStatus(415, 'POST', '/auth/login', { body: JSON.stringify({ email, password: invalidPassword }), headers: { 'content-type': 'text/plain' } });


    // Tokens that verso never issued: garbage, and one signed with another secret.
    const garbage = `garbage.${randomBytes(24).toString('base64url')}.${randomBytes(24).toString('base64url')}`;
    rememberAccessToken('garbage bearer token', garbage);
    await expectStatus(401, 'GET', '/auth/me', { token: garbage });
    const forged = signAccessToken(loadConfig(environment), { userId, sessionId: live.body.sessionId, tokenVersion: 0 }, { secret: randomBytes(32).toString('base64url') });
    rememberAccessToken('forged access token', forged);
    await expectStatus(401, 'GET', '/auth/me', { token: forged });
    await expectStatus(200, 'POST', '/oauth/introspect', { basic: clients.gateway, form: { token: forged } });

    // A client that puts its token in the query string gets 401, because verso
    // reads tokens only from the Authorization header, and the request line
    // is logged without the query.
    await expectStatus(401, 'GET', `/auth/me?access_token=${encodeURIComponent(changed.body.accessToken)}`);
    await expectStatus(401, 'GET', `/auth/verify?token=${encodeURIComponent(changed.body.refreshToken)}`);

    // A failed client authentication is logged at warn level: neither the
    // query string nor an id that is really a swapped secret may appear in it.
    await expectStatus(401, 'POST', `/oauth/introspect?token=${encodeURIComponent(changed.body.accessToken)}`, {
      basic: { id: clients.gateway.id, secret: wrongClientSecret },
      form: { token: 'x' },
    });
    await expectStatus(401, 'POST', '/oauth/introspect', { basic: { id: clients.gateway.secret, secret: clients.gateway.id }, form: { token: 'x' } });

    // Credentials in headers other than Authorization are logged by name only.
    const otherHeaderSecret = randomBytes(24).toString('base64url');
    remember('client secret', 'secret in other credential headers', otherHeaderSecret);
    const fresh = await expectStatus(200, 'POST', '/auth/login', { body: { email, password: newPassword } });
    rememberAccessToken('access token sent with other credential headers', fresh.body.accessToken);
    remember('refresh token', 'refresh token of that login', fresh.body.refreshToken);
    await expectStatus(200, 'GET', '/auth/me', {
      token: fresh.body.accessToken,
      headers: { 'proxy-authorization': `Basic ${otherHeaderSecret}`, 'x-api-key': otherHeaderSecret, referer: `https://app.example.com/?token=${otherHeaderSecret}` },
    });

    const wrongMetricsToken = randomBytes(32).toString('base64url');
    remember('server secret', 'wrong metrics token', wrongMetricsToken);
    await expectStatus(200, 'GET', '/metrics', { headers: { authorization: `Bearer ${metricsToken}` } });
    await expectStatus(401, 'GET', '/metrics', { headers: { authorization: `Bearer ${wrongMetricsToken}` } });

    await rememberPasswordHash('hash of the new password');

    // Stopping waits for the output streams to close, so every line written is captured.
    await verso.stop();
    output = verso.output();
  });

  afterAll(async () => {
    await verso?.stop();
    await database?.drop();
  });

  /** List the secrets of one kind that appear in the output, as written or escaped inside a JSON string. */
  const leaked = (kind: SecretKind) =>
    secrets
      .filter((secret) => secret.kind === kind)
      .filter(({ value }) => output.includes(value) || output.includes(JSON.stringify(value).slice(1, -1)))
      .map(({ label }) => label);

  it('captures request lines', () => {
    // Without this, an empty capture would pass every check below.
    expect(output).toContain('"msg":"request completed"');
  });

  it('redacts the authorization header', () => {
    // Guarded and OAuth requests carry the header, so the checks below would catch a missing redaction.
    expect(output).toContain('"authorization":"[redacted]"');
  });

  it('redacts the query string', () => {
    // The requests with a token in the query were logged, only without it.
    expect(output).toContain('"url":"/auth/me?[redacted]"');
  });

  it('captures the failed login warning', () => {
    expect(output).toContain(`Failed login for user ${userId}`);
  });

  it('captures the refresh reuse warning', () => {
    expect(output).toContain('Refresh token reuse on session');
  });

  it('logs no access token', () => {
    expect(leaked('access token')).toEqual([]);
  });

  it('logs no refresh token', () => {
    expect(leaked('refresh token')).toEqual([]);
  });

  it('logs no password', () => {
    expect(leaked('password')).toEqual([]);
  });

  it('logs no password hash', () => {
    expect(leaked('password hash')).toEqual([]);
  });

  it('logs no server secret', () => {
    expect(leaked('server secret')).toEqual([]);
  });

  it('logs no client secret', () => {
    expect(leaked('client secret')).toEqual([]);
  });
});
