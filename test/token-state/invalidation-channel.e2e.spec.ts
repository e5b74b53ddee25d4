import { createTestDatabase, TestDatabase } from '../support/database';
import { adminQuery } from '../support/global-setup';
import { http, registerAndLogin } from '../support/http';
import { metricValue, sampleValue, scrapeMetrics } from '../support/metrics';
import { pollUntil } from '../support/polling';
import { startTestApp, TestApp } from '../support/test-app';

const DATABASE_UP = { status: 'up', responseTime: expect.any(Number) };
const UP_BODY = {
  status: 'ok',
  info: { database: DATABASE_UP, invalidationChannel: { status: 'up', state: 'up' } },
  error: {},
  details: { database: DATABASE_UP, invalidationChannel: { status: 'up', state: 'up' } },
};

/**
 * The invalidation channel of one instance (in process), driven into its
 * failure states through the database: its LISTEN connection is terminated,
 * and new connections are refused to keep it down.
 */
describe('invalidation channel', () => {
  let database: TestDatabase;
  let verso: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
  });

  afterAll(async () => {
    await allowConnections(true).catch(() => undefined);
    await verso?.close();
    await database?.drop();
  });

  async function allowConnections(allow: boolean): Promise<void> {
    await adminQuery(process.env.VERSO_TEST_SERVER_URL!, `ALTER DATABASE ${database.name} ALLOW_CONNECTIONS ${allow}`);
  }

  /** End the instance's LISTEN connection from the server side, as a failover or a network cut would. */
  async function killChannelConnection(): Promise<void> {
    const rows = await database.query<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'verso-invalidation'`,
    );
    expect(rows).toEqual([{ killed: true }]);
  }

  async function waitForReadiness(status: number): Promise<{ status: number; body: any }> {
    const { value } = await pollUntil(
      async () => {
        const response = await http(verso.baseUrl, 'GET', '/health/ready');
        return response.status === status ? response : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 5, what: `GET /health/ready answering ${status}` },
    );
    return value;
  }

  it('reports database and channel up when ready', async () => {
    const response = await http(verso.baseUrl, 'GET', '/health/ready');

    expect(response.status).toBe(200);
    expect(response.body).toEqual(UP_BODY);
    expect(await metricValue(verso.baseUrl, 'verso_invalidation_channel_up')).toBe(1);
  });

  it('counts a revocation message and its delay', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);
    const before = await scrapeMetrics(verso.baseUrl);

    const logout = await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });
    expect(logout.status).toBe(204);

    // The instance hears its own messages too: verso's, and the one the
    // database trigger sends for the same revocation. Wait for both, bounded.
    const { value: after } = await pollUntil(
      async () => {
        const text = await scrapeMetrics(verso.baseUrl);
        return sampleValue(text, 'verso_invalidation_messages_total', { kind: 'invalidate' }) >=
          sampleValue(before, 'verso_invalidation_messages_total', { kind: 'invalidate' }) + 2
          ? text
          : undefined;
      },
      { timeoutMs: 2000, intervalMs: 10, what: 'the invalidation messages' },
    );
    expect(sampleValue(after, 'verso_invalidation_delay_seconds_count')).toBe(sampleValue(before, 'verso_invalidation_delay_seconds_count') + 2);
    // The local eviction after the commit removed the entry; the messages find nothing more to evict.
    expect(sampleValue(after, 'verso_token_cache_evictions_total', { cause: 'invalidation' })).toBe(
      sampleValue(before, 'verso_token_cache_evictions_total', { cause: 'invalidation' }) + 1,
    );
    expect(sampleValue(after, 'verso_invalidation_messages_total', { kind: 'probe' })).toBeGreaterThan(0);
  });

  it('counts guard decisions by outcome', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const before = await scrapeMetrics(verso.baseUrl);

    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: 'not-a-jwt' })).status).toBe(401);
    expect((await http(verso.baseUrl, 'GET', `/admin/users/${user.userId}`, { token: user.accessToken })).status).toBe(403);
    expect((await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } })).status).toBe(204);
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(401);

    const after = await scrapeMetrics(verso.baseUrl);
    const delta = (outcome: string) =>
      sampleValue(after, 'verso_guard_decisions_total', { outcome }) - sampleValue(before, 'verso_guard_decisions_total', { outcome });
    // allowed: /auth/me and the logout itself.
    expect({ allowed: delta('allowed'), invalid_token: delta('invalid_token'), forbidden: delta('forbidden'), revoked: delta('revoked') }).toEqual({
      allowed: 2,
      invalid_token: 1,
      forbidden: 1,
      revoked: 1,
    });
  });

  describe('while the channel is down', () => {
    let user: Awaited<ReturnType<typeof registerAndLogin>>;
    let bypassBefore: number;
    let reconnectsBefore: number;

    beforeAll(async () => {
      user = await registerAndLogin(verso.baseUrl);
      // Cached while the channel is up.
      expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);
      bypassBefore = await metricValue(verso.baseUrl, 'verso_token_cache_lookups_total', { result: 'bypass' });
      reconnectsBefore = await metricValue(verso.baseUrl, 'verso_invalidation_reconnects_total');

      await allowConnections(false);
      await killChannelConnection();
    });

    afterAll(async () => {
      await allowConnections(true);
    });

    it('reports not ready with the channel down', async () => {
      const response = await waitForReadiness(503);

      expect(response.body.status).toBe('error');
      expect(response.body.error).toEqual({ invalidationChannel: { status: 'down', state: 'down' } });
      expect(await metricValue(verso.baseUrl, 'verso_invalidation_channel_up')).toBe(0);
    });

    it('reads the database for every check', async () => {
      await database.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'admin' WHERE id = $1`, [user.sessionId]);

      const response = await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken });

      expect(response.status).toBe(401);
      expect(await metricValue(verso.baseUrl, 'verso_token_cache_lookups_total', { result: 'bypass' })).toBeGreaterThanOrEqual(bypassBefore + 2);
    });

    it('reconnects by itself and counts it', async () => {
      await allowConnections(true);

      expect((await waitForReadiness(200)).body).toEqual(UP_BODY);
      expect(await metricValue(verso.baseUrl, 'verso_invalidation_reconnects_total')).toBe(reconnectsBefore + 1);
      expect(await metricValue(verso.baseUrl, 'verso_invalidation_channel_up')).toBe(1);
    });
  });

  it('empties the cache on reconnect', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);
    // A revocation whose message is lost: with triggers off for this one
    // transaction, nothing announces it, so the cached entry is stale and served.
    await database.query('BEGIN');
    await database.query('SET LOCAL session_replication_role = replica');
    await database.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'admin' WHERE id = $1`, [user.sessionId]);
    await database.query('COMMIT');
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);
    const clearedBefore = await metricValue(verso.baseUrl, 'verso_token_cache_evictions_total', { cause: 'clear' });
    const reconnectsBefore = await metricValue(verso.baseUrl, 'verso_invalidation_reconnects_total');

    await killChannelConnection();
    await pollUntil(
      async () => ((await metricValue(verso.baseUrl, 'verso_invalidation_reconnects_total')) > reconnectsBefore ? true : undefined),
      { timeoutMs: 15_000, intervalMs: 20, what: 'the channel reconnecting' },
    );

    const response = await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken });
    expect(response.status).toBe(401);
    expect(await metricValue(verso.baseUrl, 'verso_token_cache_evictions_total', { cause: 'clear' })).toBeGreaterThan(clearedBefore);
  });
});
