import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { http, HttpResult, login, LoggedInUser, registerAndLogin } from '../support/http';
import { metricValue } from '../support/metrics';
import { pollUntil } from '../support/polling';
import { freePort } from '../support/ports';
import { PostgresProcess, startPostgresProcess } from '../support/postgres-process';
import { ServerProcess, startServerProcess } from '../support/server-process';
import { testEnvironment } from '../support/test-app';

// The bound on a guarded route's 503 response while the database is unreachable.
const ANSWER_BOUND_MS = 2000;
// The README's bound on noticing a channel that stopped responding: the probe interval plus the probe timeout.
const CHANNEL_DOWN_BOUND_MS = 1000 + 2000;
const GUARD_UNAVAILABLE = { statusCode: 503, message: 'The token could not be checked. Retry shortly.', error: 'Service Unavailable' };

/**
 * Scenario 11 on two instances, against a PostgreSQL of the test's own that it
 * can freeze, stop and start again; DATABASE_URL plays no part.
 */
describe('the database goes away', () => {
  let workDir: string;
  let dataDir: string;
  let port: number;
  let postgres: PostgresProcess;
  let instances: ServerProcess[] = [];
  // Its queries may wait longer than the channel's probe, which must still fail on time.
  let patient: ServerProcess;
  let frozen: number[] = [];
  let revoked: LoggedInUser;
  let valid: LoggedInUser;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'verso-outage-'));
    dataDir = join(workDir, 'data');
    port = await freePort();
    postgres = await startPostgresProcess(dataDir, port);

    // The default probe interval, which the channel-down bound below assumes.
    const env = testEnvironment(postgres.url, { DATABASE_POOL_SIZE: '4', LOG_LEVEL: 'error' });
    instances.push(await startServerProcess({ ...env, MIGRATIONS_RUN: 'true' }));
    instances.push(await startServerProcess(env));
    patient = await startServerProcess({ ...env, DATABASE_QUERY_TIMEOUT_MS: '5000' });

    // One session revoked before the outage, one live; both cached on both instances.
    const first = await registerAndLogin(instances[0].baseUrl);
    revoked = first;
    valid = { ...first, ...(await login(instances[0].baseUrl, first.email, first.password)) };
    expect((await http(instances[0].baseUrl, 'POST', '/auth/logout', { token: revoked.accessToken, body: { scope: 'local' } })).status).toBe(204);
    for (const instance of instances) {
      expect((await me(instance, valid)).status).toBe(200);
      expect((await me(instance, revoked)).status).toBe(401);
    }
  });

  afterAll(async () => {
    thaw();
    await Promise.all([...instances, patient].map((instance) => instance?.stop()));
    await postgres?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  function me(instance: ServerProcess, user: LoggedInUser): Promise<HttpResult> {
    return http(instance.baseUrl, 'GET', '/auth/me', { token: user.accessToken });
  }

  async function timedMe(instance: ServerProcess, user: LoggedInUser): Promise<{ response: HttpResult; elapsedMs: number }> {
    const started = performance.now();
    const response = await me(instance, user);
    return { response, elapsedMs: performance.now() - started };
  }

  /** Send GET /auth/me and expect the guard's 503 with Retry-After, returned within ANSWER_BOUND_MS. */
  async function expectQuickUnavailable(instance: ServerProcess, user: LoggedInUser): Promise<void> {
    const { response, elapsedMs } = await timedMe(instance, user);

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.body).toEqual(GUARD_UNAVAILABLE);
    expect(elapsedMs).toBeLessThan(ANSWER_BOUND_MS);
  }

  /** Stop every process of the server (postmaster and backends) without ending a connection: a hung database. */
  function freeze(): void {
    const postmaster = postgres.postmasterPid();
    const children = execFileSync('pgrep', ['-P', String(postmaster)]).toString().trim().split('\n').map(Number);
    frozen = [postmaster, ...children];
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
  }

  function thaw(): void {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Already gone.
      }
    }
    frozen = [];
  }

  /** Wait until the instance itself reports its channel down, the state in which it must not use its cache. */
  async function waitForChannelDown(instance: ServerProcess): Promise<void> {
    await pollUntil(
      async () => {
        const response = await http(instance.baseUrl, 'GET', '/health/ready');
        return response.body?.error?.invalidationChannel?.status === 'down' ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50, what: 'the channel reported down' },
    );
  }

  async function waitForRecovery(instance: ServerProcess): Promise<void> {
    await pollUntil(async () => ((await me(instance, valid)).status === 200 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'the valid token accepted again',
    });
  }

  describe('when it hangs', () => {
    // Milliseconds from the freeze until each instance reported its channel down.
    const downAfterMs: number[] = [];

    beforeAll(async () => {
      const frozenAt = performance.now();
      freeze();
      // Read from /metrics, which does not touch the database, so a slow poll
      // does not add to the time measured.
      await Promise.all(
        instances.map(async (instance, index) => {
          await pollUntil(async () => ((await metricValue(instance.baseUrl, 'verso_invalidation_channel_up')) === 0 ? true : undefined), {
            timeoutMs: 15_000,
            intervalMs: 50,
            what: 'the channel gauge at 0',
          });
          downAfterMs[index] = performance.now() - frozenAt;
        }),
      );
      for (const instance of instances) await waitForChannelDown(instance);
    });

    afterAll(async () => {
      thaw();
      for (const instance of instances) await waitForRecovery(instance);
    });

    it.each([0, 1])('revoked token gets 503 on instance %i', async (index) => {
      await expectQuickUnavailable(instances[index], revoked);
    });

    it.each([0, 1])('valid token gets 503 on instance %i', async (index) => {
      await expectQuickUnavailable(instances[index], valid);
    });

    it.each([0, 1])('channel down within the bound on instance %i', (index) => {
      // The README's bound: a probe every second (the default), which fails
      // after 2 s. The margin is for a loaded machine.
      expect(downAfterMs[index]).toBeLessThan(CHANNEL_DOWN_BOUND_MS + 2000);
    });

    it('probe fails on time under a long query timeout', async () => {
      // The probe gives up after 2 s, while the query that sends it may wait 5 s.
      await waitForChannelDown(patient);

      expect((await http(patient.baseUrl, 'GET', '/health/live')).status).toBe(200);
    });
  });

  describe('when it is stopped', () => {
    let unavailableBefore: number[];

    beforeAll(async () => {
      unavailableBefore = await Promise.all(instances.map((instance) => metricValue(instance.baseUrl, 'verso_guard_decisions_total', { outcome: 'unavailable' })));
      await postgres.stop();
      for (const instance of instances) await waitForChannelDown(instance);
    });

    it.each([0, 1])('revoked token gets 503 on instance %i', async (index) => {
      await expectQuickUnavailable(instances[index], revoked);
    });

    it.each([0, 1])('valid token gets 503 on instance %i', async (index) => {
      await expectQuickUnavailable(instances[index], valid);
    });

    it.each([0, 1])('not ready on instance %i', async (index) => {
      const response = await http(instances[index].baseUrl, 'GET', '/health/ready');

      expect(response.status).toBe(503);
      expect(response.body.error).toEqual({
        database: { status: 'down', message: expect.any(String), responseTime: expect.any(Number) },
        invalidationChannel: { status: 'down', state: 'down' },
      });
    });

    it.each([0, 1])('unavailable decisions counted on instance %i', async (index) => {
      expect(await metricValue(instances[index].baseUrl, 'verso_guard_decisions_total', { outcome: 'unavailable' })).toBeGreaterThanOrEqual(unavailableBefore[index] + 2);
    });
  });

  describe('when it returns', () => {
    beforeAll(async () => {
      postgres = await startPostgresProcess(dataDir, port);
    });

    it.each([0, 1])('valid token accepted again on instance %i', async (index) => {
      await waitForRecovery(instances[index]);

      const response = await me(instances[index], valid);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ id: valid.userId, email: valid.email, role: 'user', sessionId: valid.sessionId });
    });

    it.each([0, 1])('revoked token still rejected on instance %i', async (index) => {
      const response = await me(instances[index], revoked);

      expect(response.status).toBe(401);
    });

    it.each([0, 1])('ready again on instance %i', async (index) => {
      const { value } = await pollUntil(
        async () => {
          const response = await http(instances[index].baseUrl, 'GET', '/health/ready');
          return response.status === 200 ? response : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 100, what: 'readiness back' },
      );
      expect(value.body.info.invalidationChannel).toEqual({ status: 'up', state: 'up' });
    });
  });
});
