import { readSession } from './support/accounts';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, HttpResult, login, registerAndLogin } from './support/http';
import { badRequest, INVALID_ACCESS_TOKEN, INVALID_REFRESH_TOKEN, UUID } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

describe('POST /auth/refresh', () => {
  let database: TestDatabase;
  let verso: TestApp;
  const refresh = (refreshToken: unknown) => http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken } });
  const me = (token: string) => http(verso.baseUrl, 'GET', '/auth/me', { token });

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('returns 200 with a new pair for the same session', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await refresh(user.refreshToken);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      refreshToken: expect.stringMatching(/^[\w-]{70}$/),
      tokenType: 'Bearer',
      expiresIn: 900,
      sessionId: user.sessionId,
    });
    expect(response.body.refreshToken).not.toBe(user.refreshToken);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('returns an access token that works', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const { body } = await refresh(user.refreshToken);
    const response = await me(body.accessToken);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id: user.userId, email: user.email, role: 'user', sessionId: user.sessionId });
  });

  it('stores only a SHA-256 hash of the refresh token', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const [row] = await database.query<{ refresh_token_hash: Buffer }>('SELECT refresh_token_hash FROM sessions WHERE id = $1', [user.sessionId]);

    expect(row.refresh_token_hash).toHaveLength(32);
    expect(row.refresh_token_hash.toString('base64url')).not.toBe(user.refreshToken);
  });

  it('rotates again with the successor token', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const first = await refresh(user.refreshToken);

    const second = await refresh(first.body.refreshToken);

    expect(second.status).toBe(200);
    expect((await readSession(database, user.sessionId))?.refresh_generation).toBe(2);
  });

  it('returns 401 for a token this server never minted', async () => {
    const response = await refresh('A'.repeat(70));

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
  });

  it('returns 401 for garbage', async () => {
    const response = await refresh('not a refresh token');

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
  });

  it('returns 401 for an access token', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await refresh(user.accessToken);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
  });

  it('returns 401 for a token with one character changed', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const last = user.refreshToken.at(-1) === 'A' ? 'B' : 'A';

    const response = await refresh(`${user.refreshToken.slice(0, -1)}${last}`);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
  });

  it('returns 401 for another spelling of the token', async () => {
    // The last character carries spare bits: flipping its lowest bit decodes to the same bytes.
    const user = await registerAndLogin(verso.baseUrl);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet[alphabet.indexOf(user.refreshToken.at(-1) as string) ^ 1];
    const variant = `${user.refreshToken.slice(0, -1)}${last}`;
    expect(Buffer.from(variant, 'base64url')).toEqual(Buffer.from(user.refreshToken, 'base64url'));

    const response = await refresh(variant);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
    // Not taken for reuse of an old token, so the session goes on.
    expect((await refresh(user.refreshToken)).status).toBe(200);
  });

  it('returns 401 after a local logout', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });

    const response = await refresh(user.refreshToken);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
  });

  it('returns 401 for an expired session', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await database.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [user.sessionId]);

    const response = await refresh(user.refreshToken);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
  });

  it('returns 401 for a session idle too long', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await database.query("UPDATE sessions SET last_used_at = now() - interval '15 days' WHERE id = $1", [user.sessionId]);

    const response = await refresh(user.refreshToken);

    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
  });

  it('returns 400 for a missing token', async () => {
    const response = await http(verso.baseUrl, 'POST', '/auth/refresh', { body: {} });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(
      badRequest('refreshToken must be shorter than or equal to 512 characters', 'refreshToken must be longer than or equal to 1 characters', 'refreshToken must be a string'),
    );
  });

  it('returns 400 for an unknown field', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken, sessionId: user.sessionId } });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('property sessionId should not exist'));
  });

  describe('parallel refreshes with one token', () => {
    // Twenty clients present one refresh token at once: the compare-and-swap
    // lets exactly one rotate, and the grace window hands the others its pair.
    const PARALLEL = 20;

    it('produce one successor pair', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      const responses = await Promise.all(Array.from({ length: PARALLEL }, () => refresh(user.refreshToken)));

      expect(responses.map((response) => response.status)).toEqual(Array(PARALLEL).fill(200));
      expect(new Set(responses.map((response) => JSON.stringify(response.body))).size).toBe(1);
    });

    it('rotate the session once', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      await Promise.all(Array.from({ length: PARALLEL }, () => refresh(user.refreshToken)));

      expect(await readSession(database, user.sessionId)).toEqual({ revoked_at: null, revoked_reason: null, refresh_generation: 1 });
    });

    it('leave a successor that rotates', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const [{ body }] = await Promise.all(Array.from({ length: PARALLEL }, () => refresh(user.refreshToken)));

      const next = await refresh(body.refreshToken);

      expect(next.status).toBe(200);
      expect(next.body.sessionId).toBe(user.sessionId);
    });
  });

  describe('reuse of a rotated token', () => {
    /** RT1 rotates to RT2, which rotates to RT3: the chain the cases below present tokens from. */
    async function rotateTwice() {
      const user = await registerAndLogin(verso.baseUrl);
      const second = await refresh(user.refreshToken);
      const third = await refresh(second.body.refreshToken);
      expect(third.status).toBe(200);
      return { user, rt1: user.refreshToken, rt2: second.body.refreshToken as string, third: third.body };
    }

    it('RT1 inside the grace window is rejected', async () => {
      const { rt1 } = await rotateTwice();

      const response = await refresh(rt1);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
    });

    it('RT1 ends the session', async () => {
      const { user, rt1 } = await rotateTwice();

      await refresh(rt1);

      expect(await readSession(database, user.sessionId)).toEqual({ revoked_at: expect.any(Date), revoked_reason: 'refresh_reuse', refresh_generation: 2 });
    });

    it('RT1 kills the current refresh token', async () => {
      const { rt1, third } = await rotateTwice();
      await refresh(rt1);

      const response = await refresh(third.refreshToken);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
    });

    it('RT1 kills the current access token', async () => {
      const { rt1, third } = await rotateTwice();
      expect((await me(third.accessToken)).status).toBe(200);

      await refresh(rt1);
      const response = await me(third.accessToken);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_ACCESS_TOKEN);
    });

    it('RT1 is audited as reuse', async () => {
      const { user, rt1 } = await rotateTwice();

      await refresh(rt1);

      const events = await database.query("SELECT session_id, details FROM audit_events WHERE user_id = $1 AND type = 'refresh_reuse_detected'", [user.userId]);
      expect(events).toEqual([{ session_id: user.sessionId, details: { presentedGeneration: 0, currentGeneration: 2 } }]);
    });

    it('RT1 leaves other sessions of the user alive', async () => {
      const { user, rt1 } = await rotateTwice();
      const other = await login(verso.baseUrl, user.email, user.password);

      await refresh(rt1);

      expect((await me(other.accessToken)).status).toBe(200);
      expect((await refresh(other.refreshToken)).status).toBe(200);
    });

    it('RT2 inside the grace window returns the current pair', async () => {
      const { rt2, third } = await rotateTwice();

      const response = await refresh(rt2);

      expect(response.status).toBe(200);
      expect(response.body).toEqual(third);
    });

    it('RT2 inside the grace window ends nothing', async () => {
      const { user, rt2, third } = await rotateTwice();

      await refresh(rt2);

      expect(await readSession(database, user.sessionId)).toEqual({ revoked_at: null, revoked_reason: null, refresh_generation: 2 });
      expect((await me(third.accessToken)).status).toBe(200);
      expect((await refresh(third.refreshToken)).status).toBe(200);
    });

    it('grace window follows the database clock', async () => {
      const { user, rt2 } = await rotateTwice();
      await database.query("UPDATE sessions SET rotated_at = rotated_at - interval '11 seconds' WHERE id = $1", [user.sessionId]);
      // A verso whose clock runs 30 s behind PostgreSQL's would see the
      // rotation as only just done, and hand out the pair 11 s after it.
      const realNow = Date.now.bind(Date);
      const lagging = jest.spyOn(Date, 'now').mockImplementation(() => realNow() - 30_000);

      let response: HttpResult;
      try {
        response = await refresh(rt2);
      } finally {
        lagging.mockRestore();
      }

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
    });

    it('RT2 after the grace window ends the session', async () => {
      const { user, rt2, third } = await rotateTwice();
      await database.query("UPDATE sessions SET rotated_at = rotated_at - interval '11 seconds' WHERE id = $1", [user.sessionId]);

      const response = await refresh(rt2);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
      expect((await refresh(third.refreshToken)).status).toBe(401);
      expect((await readSession(database, user.sessionId))?.revoked_reason).toBe('refresh_reuse');
    });
  });

  it('mints refresh tokens that are distinct per session', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const other = await login(verso.baseUrl, user.email, user.password);

    expect(other.sessionId).toMatch(UUID);
    expect(other.refreshToken).not.toBe(user.refreshToken);
  });
});
