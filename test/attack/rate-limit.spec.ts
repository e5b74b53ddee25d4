import { createTestDatabase, TestDatabase } from '../support/database';
import { http, HttpResult, LoggedInUser, registerAndLogin } from '../support/http';
import { freePort } from '../support/ports';
import { startTestApp, TestApp } from '../support/test-app';

const TOO_MANY_REQUESTS = {
  statusCode: 429,
  message: 'Too many requests. Retry after the number of seconds in the Retry-After header.',
  error: 'Too Many Requests',
};

const forwardedFor = (address: string) => ({ 'x-forwarded-for': address });

function attemptLogin(baseUrl: string, email: string, password: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return http(baseUrl, 'POST', '/auth/login', { body: { email, password }, headers });
}

function expectTooManyRequests(response: HttpResult): void {
  expect(response.status).toBe(429);
  expect(response.body).toEqual(TOO_MANY_REQUESTS);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('rate limits', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  describe('per account, from an untrusted peer', () => {
    let verso: TestApp;

    beforeAll(async () => {
      verso = await startTestApp(database.url, {
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_LOGIN_PER_ACCOUNT: '3',
        RATE_LIMIT_LOGIN_PER_ADDRESS: '1000',
        RATE_LIMIT_REGISTER_PER_ADDRESS: '1000',
        RATE_LIMIT_REFRESH_PER_ADDRESS: '3',
      });
    });

    afterAll(async () => {
      await verso?.close();
    });

    it('fourth login for one account gets 429', async () => {
      // registerAndLogin makes the first login.
      const victim = await registerAndLogin(verso.baseUrl);
      for (let i = 0; i < 2; i++) expect((await attemptLogin(verso.baseUrl, victim.email, 'wrong password')).status).toBe(401);

      expectTooManyRequests(await attemptLogin(verso.baseUrl, victim.email, victim.password));
    });

    it('changing X-Forwarded-For does not escape the account limit', async () => {
      const victim = await registerAndLogin(verso.baseUrl);
      for (let i = 0; i < 2; i++) {
        expect((await attemptLogin(verso.baseUrl, victim.email, 'wrong password', forwardedFor(`198.51.100.${i}`))).status).toBe(401);
      }

      expectTooManyRequests(await attemptLogin(verso.baseUrl, victim.email, 'wrong password', forwardedFor('198.51.100.99')));
    });

    it('case and spaces of the email count as one account', async () => {
      const victim = await registerAndLogin(verso.baseUrl);
      const variants = [victim.email.toUpperCase(), ` ${victim.email} `];
      for (const email of variants) expect((await attemptLogin(verso.baseUrl, email, 'wrong password')).status).toBe(401);

      expectTooManyRequests(await attemptLogin(verso.baseUrl, victim.email, victim.password));
    });

    it('dotted capital I counts for the same account as i', async () => {
      // PostgreSQL's lower() maps İ to i, so İvan finds ivan's account, while
      // JavaScript's toLowerCase maps it to i plus a combining dot.
      const victim = await registerAndLogin(verso.baseUrl, { email: `ivan-${Date.now()}@example.com` });
      for (const email of [victim.email.replace('ivan', 'İvan'), victim.email.replace('ivan', 'İVAN')]) {
        expect((await attemptLogin(verso.baseUrl, email, 'wrong password')).status).toBe(401);
      }

      expectTooManyRequests(await attemptLogin(verso.baseUrl, victim.email, victim.password));
    });

    it('limit on one account leaves another alone', async () => {
      const victim = await registerAndLogin(verso.baseUrl);
      const bystander = await registerAndLogin(verso.baseUrl);
      for (let i = 0; i < 3; i++) await attemptLogin(verso.baseUrl, victim.email, 'wrong password');

      expect((await attemptLogin(verso.baseUrl, bystander.email, bystander.password)).status).toBe(200);
    });

    it('refresh per address gets 429 despite X-Forwarded-For', async () => {
      for (let i = 0; i < 3; i++) {
        const response = await http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: 'A'.repeat(70) }, headers: forwardedFor(`198.51.100.${i}`) });
        expect(response.status).toBe(401);
      }

      expectTooManyRequests(await http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: 'A'.repeat(70) }, headers: forwardedFor('203.0.113.7') }));
    });

    it('fourth password change attempt for one user gets 429', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      for (let i = 0; i < 3; i++) {
        const response = await http(verso.baseUrl, 'POST', '/auth/password', {
          token: user.accessToken,
          body: { currentPassword: `guess ${i}`, newPassword: 'a brand new password' },
          headers: forwardedFor(`198.51.100.${i}`),
        });
        expect(response.status).toBe(403);
      }

      const fourth = await http(verso.baseUrl, 'POST', '/auth/password', {
        token: user.accessToken,
        body: { currentPassword: user.password, newPassword: 'a brand new password' },
      });
      expectTooManyRequests(fourth);
    });

    it('guarded routes are not limited', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const statuses = new Set<number>();
      let limitHeaders = 0;
      for (let i = 0; i < 40; i++) {
        const response = await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken });
        statuses.add(response.status);
        if (response.headers.has('retry-after') || [...response.headers.keys()].some((name) => name.startsWith('x-ratelimit'))) limitHeaders++;
      }

      expect([...statuses]).toEqual([200]);
      expect(limitHeaders).toBe(0);
    });

    it('session records the peer, not X-Forwarded-For', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      await attemptLogin(verso.baseUrl, user.email, user.password, forwardedFor('203.0.113.50'));

      const sessions = await http(verso.baseUrl, 'GET', '/sessions', { token: user.accessToken });
      expect(sessions.body.map((session: { ip: string }) => session.ip)).toEqual(['127.0.0.1', '127.0.0.1']);
    });
  });

  describe('per address, from an untrusted peer', () => {
    let verso: TestApp;

    beforeAll(async () => {
      verso = await startTestApp(database.url, {
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_LOGIN_PER_ACCOUNT: '1000',
        RATE_LIMIT_LOGIN_PER_ADDRESS: '3',
        RATE_LIMIT_REGISTER_PER_ADDRESS: '2',
      });
    });

    afterAll(async () => {
      await verso?.close();
    });

    it('fourth login from one address gets 429', async () => {
      for (let i = 0; i < 3; i++) {
        const response = await attemptLogin(verso.baseUrl, `nobody-${i}@example.com`, 'wrong password', forwardedFor(`198.51.100.${i}`));
        expect(response.status).toBe(401);
      }

      expectTooManyRequests(await attemptLogin(verso.baseUrl, 'nobody-9@example.com', 'wrong password', forwardedFor('198.51.100.9')));
    });

    it('third registration from one address gets 429', async () => {
      for (let i = 0; i < 2; i++) {
        const response = await http(verso.baseUrl, 'POST', '/auth/register', { body: { email: `new-${i}-${Date.now()}@example.com`, password: 'long enough password' } });
        expect(response.status).toBe(201);
      }

      const third = await http(verso.baseUrl, 'POST', '/auth/register', { body: { email: `new-3-${Date.now()}@example.com`, password: 'long enough password' } });
      expectTooManyRequests(third);
    });
  });

  describe('behind a trusted proxy', () => {
    let verso: TestApp;

    beforeAll(async () => {
      verso = await startTestApp(database.url, {
        RATE_LIMIT_ENABLED: 'true',
        TRUSTED_PROXIES: '127.0.0.1',
        RATE_LIMIT_LOGIN_PER_ACCOUNT: '1000',
        RATE_LIMIT_LOGIN_PER_ADDRESS: '2',
      });
    });

    afterAll(async () => {
      await verso?.close();
    });

    it('each forwarded client address has its own bucket', async () => {
      for (let i = 0; i < 2; i++) expect((await attemptLogin(verso.baseUrl, 'nobody@example.com', 'wrong', forwardedFor('203.0.113.1'))).status).toBe(401);
      expectTooManyRequests(await attemptLogin(verso.baseUrl, 'nobody@example.com', 'wrong', forwardedFor('203.0.113.1')));

      expect((await attemptLogin(verso.baseUrl, 'nobody@example.com', 'wrong', forwardedFor('203.0.113.2'))).status).toBe(401);
    });

    it('prepended forwarded address is ignored', async () => {
      const spoofed = (fake: string) => forwardedFor(`${fake}, 203.0.113.30`);
      for (let i = 0; i < 2; i++) expect((await attemptLogin(verso.baseUrl, 'nobody@example.com', 'wrong', spoofed(`10.0.0.${i}`))).status).toBe(401);

      expectTooManyRequests(await attemptLogin(verso.baseUrl, 'nobody@example.com', 'wrong', spoofed('10.0.0.99')));
    });

    it('session records the forwarded client address', async () => {
      const other = await startTestApp(database.url, { TRUSTED_PROXIES: '127.0.0.1' });
      try {
        const user = await registerAndLogin(other.baseUrl);
        const response = await attemptLogin(other.baseUrl, user.email, user.password, forwardedFor('203.0.113.77'));
        const sessions = await http(other.baseUrl, 'GET', '/sessions', { token: response.body.accessToken });
        expect(sessions.body.map((session: { ip: string }) => session.ip).sort()).toEqual(['127.0.0.1', '203.0.113.77']);
      } finally {
        await other.close();
      }
    });
  });

  // A trusted proxy may pass on a forwarded address that is not an address.
  // The columns are inet, so such a value once gave 500 and left an account
  // without its audit event.
  describe('malformed forwarded addresses', () => {
    let other: TestApp;

    beforeAll(async () => {
      other = await startTestApp(database.url, { TRUSTED_PROXIES: '127.0.0.1' });
    });

    afterAll(async () => {
      await other?.close();
    });

    const register = (forwarded: string) =>
      http(other.baseUrl, 'POST', '/auth/register', {
        body: { email: `forwarded-${Math.random().toString(36).slice(2)}@example.com`, password: 'correct horse battery' },
        headers: forwardedFor(forwarded),
      });

    const registerEvent = (userId: string) => database.query<{ ip: string | null }>(`SELECT host(ip) AS ip FROM audit_events WHERE type = 'register' AND user_id = $1`, [userId]);

    it.each([
      ['garbage', '127.0.0.1'],
      ['1.2.3.4:5678', '1.2.3.4'],
      ['[2001:db8::1]:80', '2001:db8::1'],
      ['fe80::1%eth0', 'fe80::1'],
      ['x'.repeat(5000), '127.0.0.1'],
    ])('register from %s records %s', async (forwarded, recorded) => {
      const response = await register(forwarded);

      expect(response.status).toBe(201);
      expect(await registerEvent(response.body.id)).toEqual([{ ip: recorded }]);
    });

    it('failed login from garbage gets 401', async () => {
      const response = await attemptLogin(other.baseUrl, 'nobody@example.com', 'wrong', forwardedFor('not an address'));
      expect(response.status).toBe(401);
    });
  });

  describe('without Redis', () => {
    it('two instances count separately', async () => {
      const overrides = { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN_PER_ACCOUNT: '2' };
      const first = await startTestApp(database.url, overrides);
      const second = await startTestApp(database.url, overrides);
      try {
        const email = `split-${Date.now()}@example.com`;
        for (let i = 0; i < 2; i++) expect((await attemptLogin(first.baseUrl, email, 'wrong')).status).toBe(401);
        expect((await attemptLogin(first.baseUrl, email, 'wrong')).status).toBe(429);

        expect((await attemptLogin(second.baseUrl, email, 'wrong')).status).toBe(401);
      } finally {
        await first.close();
        await second.close();
      }
    });

    it('unreachable REDIS_URL falls back to per-instance limits', async () => {
      const port = await freePort();
      const verso = await startTestApp(database.url, { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN_PER_ACCOUNT: '2', REDIS_URL: `redis://127.0.0.1:${port}` });
      try {
        const user: LoggedInUser = await registerAndLogin(verso.baseUrl);
        expect((await attemptLogin(verso.baseUrl, user.email, 'wrong')).status).toBe(401);
        expectTooManyRequests(await attemptLogin(verso.baseUrl, user.email, user.password));
      } finally {
        await verso.close();
      }
    });
  });
});
