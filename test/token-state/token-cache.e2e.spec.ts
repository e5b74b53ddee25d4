import { Client } from 'pg';

import { SESSION_STATE_SQL, USER_STATE_SQL } from '../../src/token-state/token-state.repository';
import { createTestDatabase, TestDatabase } from '../support/database';
import { http, login, LoggedInUser, registerAndLogin } from '../support/http';
import { sampleValue, scrapeMetrics } from '../support/metrics';
import { startTestApp, TestApp } from '../support/test-app';

const TTL_MS = 3000;

/**
 * Every statement this process sends to PostgreSQL, counted on the wire (at
 * pg's Client.query, below TypeORM), so a guard that reads the database some
 * other way is counted too.
 */
class QueryCounter {
  private readonly original = Client.prototype.query;
  readonly texts: string[] = [];

  install(): void {
    const texts = this.texts;
    const original = this.original;
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
      const [config] = args;
      texts.push(typeof config === 'string' ? config : ((config as { text?: string })?.text ?? ''));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof Client.prototype.query;
  }

  uninstall(): void {
    Client.prototype.query = this.original;
  }

  reset(): void {
    this.texts.length = 0;
  }

  count(sql: string): number {
    return this.texts.filter((text) => text === sql).length;
  }
}

describe('token state cache', () => {
  let database: TestDatabase;
  let verso: TestApp;
  const queries = new QueryCounter();

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url, { TOKEN_CACHE_TTL_MS: String(TTL_MS), TOKEN_CACHE_MAX_ENTRIES: '1000' });
    queries.install();
  });

  afterAll(async () => {
    queries.uninstall();
    await verso?.close();
    await database?.drop();
  });

  describe('at steady state', () => {
    let tokens: LoggedInUser[];

    beforeAll(async () => {
      // Two users, one with two sessions: three sessions and two users to read.
      const first = await registerAndLogin(verso.baseUrl);
      const second = await login(verso.baseUrl, first.email, first.password);
      const third = await registerAndLogin(verso.baseUrl);
      tokens = [first, { ...first, ...second }, third];
    });

    async function requestAll(perToken: number): Promise<void> {
      const responses = await Promise.all(
        tokens.flatMap((user) => Array.from({ length: perToken }, () => http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken }))),
      );
      expect(responses.map((response) => response.status)).toEqual(responses.map(() => 200));
    }

    it('reads each key once on a cold cache', async () => {
      queries.reset();

      await requestAll(10);

      expect({ sessions: queries.count(SESSION_STATE_SQL), users: queries.count(USER_STATE_SQL) }).toEqual({ sessions: 3, users: 2 });
    });

    it('reads nothing while entries are fresh', async () => {
      queries.reset();

      await requestAll(10);
      await requestAll(10);

      expect({ sessions: queries.count(SESSION_STATE_SQL), users: queries.count(USER_STATE_SQL) }).toEqual({ sessions: 0, users: 0 });
    });

    it('reads each key again after the TTL', async () => {
      const before = await scrapeMetrics(verso.baseUrl);
      await new Promise((resolve) => setTimeout(resolve, TTL_MS + 200));
      queries.reset();

      await requestAll(10);

      expect({ sessions: queries.count(SESSION_STATE_SQL), users: queries.count(USER_STATE_SQL) }).toEqual({ sessions: 3, users: 2 });
      const after = await scrapeMetrics(verso.baseUrl);
      // Expired entries are dropped when looked up, so all five go at once here.
      expect(sampleValue(after, 'verso_token_cache_evictions_total', { cause: 'ttl' }) - sampleValue(before, 'verso_token_cache_evictions_total', { cause: 'ttl' })).toBe(5);
    });
  });

  it('counts hits and misses', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const before = await scrapeMetrics(verso.baseUrl);

    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);

    const after = await scrapeMetrics(verso.baseUrl);
    const delta = (result: string) =>
      sampleValue(after, 'verso_token_cache_lookups_total', { result }) - sampleValue(before, 'verso_token_cache_lookups_total', { result });
    // Each check looks up a session and a user.
    expect({ miss: delta('miss'), hit: delta('hit'), bypass: delta('bypass') }).toEqual({ miss: 2, hit: 2, bypass: 0 });
  });
});
