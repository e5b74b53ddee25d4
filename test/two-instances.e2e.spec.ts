import { readSession } from './support/accounts';
import { createTestDatabase, TestDatabase } from './support/database';
import { statusWithin } from './support/eventually';
import { http, LoggedInUser, registerAndLogin } from './support/http';
import { INVALID_ACCESS_TOKEN, INVALID_REFRESH_TOKEN } from './support/responses';
import { ServerProcess, startServerProcess } from './support/server-process';
import { testEnvironment } from './support/test-app';

// Well above the invalidation bound of 100 ms, far below the cache TTL of
// 30 s: a rejection within it came from the NOTIFY, not from expiry.
const EVICTION_WAIT_MS = 1000;
const ROUNDS = 5;

/**
 * Two verso processes, I1 and I2, on one database, as behind a load
 * balancer: a revocation through one must reach the other, and concurrent
 * refreshes through both must rotate a session once.
 */
describe('two instances on one database', () => {
  let database: TestDatabase;
  let i1: ServerProcess;
  let i2: ServerProcess;

  const me = (server: ServerProcess, token: string) => http(server.baseUrl, 'GET', '/auth/me', { token });
  const refresh = (server: ServerProcess, refreshToken: string) => http(server.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken } });


  /** Register a user through I1 and use the access token on both instances, so both cache its state. */
  async function userSeenByBoth(): Promise<LoggedInUser> {
    const user = await registerAndLogin(i1.baseUrl);
    expect((await me(i1, user.accessToken)).status).toBe(200);
    expect((await me(i2, user.accessToken)).status).toBe(200);
    return user;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    // One environment for both, so they share the signing and refresh secrets.
    const env = testEnvironment(database.url, { TOKEN_CACHE_TTL_MS: '30000' });
    [i1, i2] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });

  afterAll(async () => {
    await Promise.all([i1?.stop(), i2?.stop()]);
    await database?.drop();
  });

  describe('a local logout through I1', () => {
    it('kills the access token on I1 at once', async () => {
      const user = await userSeenByBoth();

      await http(i1.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });
      const response = await me(i1, user.accessToken);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_ACCESS_TOKEN);
    });

    it('kills the access token on I2', async () => {
      const user = await userSeenByBoth();

      await http(i1.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });

      expect(await statusWithin(EVICTION_WAIT_MS, async () => (await me(i2, user.accessToken)).status, 401)).toBe(401);
    });

    it('kills the refresh token on I2', async () => {
      const user = await userSeenByBoth();

      await http(i1.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });
      const response = await refresh(i2, user.refreshToken);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
    });
  });

  describe('one refresh token sent to I1 and I2 at once', () => {
    // Several rounds, because one pair of requests may not overlap on a busy machine.
    async function raceRefreshes() {
      const user = await registerAndLogin(i1.baseUrl);
      const responses = await Promise.all([refresh(i1, user.refreshToken), refresh(i2, user.refreshToken)]);
      return { user, responses };
    }

    it('gives each request the successor pair or a 401', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { responses } = await raceRefreshes();
        const successes = responses.filter((response) => response.status === 200);

        expect(successes.length).toBeGreaterThanOrEqual(1);
        for (const response of responses) {
          if (response.status === 200) expect(response.body).toEqual(successes[0].body);
          else expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
        }
      }
    });

    it('rotates the session exactly once and keeps it alive', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { user } = await raceRefreshes();

        expect(await readSession(database, user.sessionId)).toEqual({ revoked_at: null, revoked_reason: null, refresh_generation: 1 });
      }
    });

    it('leaves a successor that rotates on either instance', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { responses } = await raceRefreshes();
        const successor = responses.find((response) => response.status === 200)!.body;

        const next = await refresh(round % 2 === 0 ? i1 : i2, successor.refreshToken);

        expect(next.status).toBe(200);
        expect((await me(i2, next.body.accessToken)).status).toBe(200);
      }
    });

    it('records no refresh reuse', async () => {
      const users: string[] = [];
      for (let round = 0; round < ROUNDS; round++) users.push((await raceRefreshes()).user.userId);

      const events = await database.query("SELECT id FROM audit_events WHERE type = 'refresh_reuse_detected' AND user_id = ANY($1::uuid[])", [users]);

      expect(events).toEqual([]);
    });
  });
});
