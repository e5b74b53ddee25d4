import { Cluster, getMe, startCluster } from '../support/cluster';
import { http, HttpResult, login, LoggedInUser, registerAndLogin } from '../support/http';
import { metricValue } from '../support/metrics';
import { pollUntil } from '../support/polling';

// Each token state read keeps its (pre-revocation) result this long before it
// returns, so the revocation commits while those reads are in flight.
const READ_DELAY_MS = 1000;
const REQUESTS_PER_INSTANCE = 25;

interface Timed {
  response: HttpResult;
  startedAt: number;
  endedAt: number;
}

async function timedMe(baseUrl: string, token: string): Promise<Timed> {
  const startedAt = performance.now();
  const response = await getMe(baseUrl, token);
  return { response, startedAt, endedAt: performance.now() };
}

interface RaceOutcome {
  target: LoggedInUser;
  revokedAt: number;
  /** Requests that started before the revocation. */
  racing: Timed[];
  /** Requests that started after it had committed and reached both instances, if asked for. */
  afterRevoke: Timed[];
}

/**
 * Scenario 4: a cache fill racing a revocation, on two server processes. The
 * revocation commits while 50 requests wait on reads of the session's live
 * state; those reads must not end up in either cache. Each property gets a
 * round of its own, because the fresh reads of the requests sent after the
 * revocation would overwrite a wrongly stored entry and hide it.
 */
describe('a cache fill racing a revocation', () => {
  let cluster: Cluster;
  let I1: string;
  let I2: string;

  beforeAll(async () => {
    cluster = await startCluster(2, { TOKEN_STATE_READ_DELAY_MS: String(READ_DELAY_MS) });
    [I1, I2] = cluster.instances.map((instance) => instance.baseUrl);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  async function race(options: { requestAfterRevoke: boolean }): Promise<RaceOutcome> {
    // Device B revokes device A's session; B's own state is cached first so
    // the revoking request does not wait on a read.
    const target = await registerAndLogin(I1);
    const revoker = { ...target, ...(await login(I1, target.email, target.password)) };
    expect((await getMe(I1, revoker.accessToken)).status).toBe(200);
    const messagesBefore = await metricValue(I2, 'verso_invalidation_messages_total', { kind: 'invalidate' });
    const missesBefore = await Promise.all([I1, I2].map((instance) => metricValue(instance, 'verso_token_cache_lookups_total', { result: 'miss' })));

    // 50 requests that start reads of the live session on both instances...
    const everywhere = () => [I1, I2].flatMap((instance) => Array.from({ length: REQUESTS_PER_INSTANCE }, () => timedMe(instance, target.accessToken)));
    const racing = everywhere();
    for (const [index, instance] of [I1, I2].entries()) {
      await pollUntil(async () => ((await metricValue(instance, 'verso_token_cache_lookups_total', { result: 'miss' })) > missesBefore[index] ? true : undefined), {
        timeoutMs: READ_DELAY_MS / 2,
        what: 'a read of the session started',
      });
    }

    // ...then the revocation commits while those reads are held open.
    const revoke = await http(I1, 'DELETE', `/sessions/${target.sessionId}`, { token: revoker.accessToken });
    expect(revoke.status).toBe(204);
    const revokedAt = performance.now();

    // I1 evicted before it sent its response; I2 evicts when the message arrives.
    await pollUntil(async () => ((await metricValue(I2, 'verso_invalidation_messages_total', { kind: 'invalidate' })) > messagesBefore ? true : undefined), {
      timeoutMs: 1000,
      what: 'the invalidation message on I2',
    });
    const afterRevoke = options.requestAfterRevoke ? await Promise.all(everywhere()) : [];
    return { target, revokedAt, racing: await Promise.all(racing), afterRevoke };
  }

  /** Select the requests that started before the revocation and got 200, from a read of the live state, after it. */
  function lateLiveResponses({ racing, revokedAt }: RaceOutcome): Timed[] {
    return racing.filter(({ response, endedAt }) => response.status === 200 && endedAt > revokedAt);
  }

  describe('requests that start after the revocation', () => {
    let outcome: RaceOutcome;

    beforeAll(async () => {
      outcome = await race({ requestAfterRevoke: true });
    });

    it('raced the revocation', () => {
      expect(lateLiveResponses(outcome).length).toBeGreaterThan(0);
    });

    it('all get 401, on both instances', () => {
      expect(outcome.afterRevoke.map(({ response }) => response.status)).toEqual(outcome.afterRevoke.map(() => 401));
    });
  });

  describe('the reads that raced', () => {
    let outcome: RaceOutcome;

    beforeAll(async () => {
      outcome = await race({ requestAfterRevoke: false });
    });

    it('raced the revocation', () => {
      expect(lateLiveResponses(outcome).length).toBeGreaterThan(0);
    });

    it.each([0, 1])('left no live entry on instance %i', async (index) => {
      const response = await getMe(cluster.instances[index].baseUrl, outcome.target.accessToken);

      expect(response.status).toBe(401);
    });
  });
});
