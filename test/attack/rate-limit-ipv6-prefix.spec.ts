import { createTestDatabase, TestDatabase } from '../support/database';
import { http, HttpResult } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';

// IPv6 clients count per /56, because a customer whose ISP delegates a /56
// can send from any of its 256 /64 networks.
describe('rate limits for IPv6 clients behind a trusted proxy', () => {
  let database: TestDatabase;
  let verso: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url, {
      RATE_LIMIT_ENABLED: 'true',
      TRUSTED_PROXIES: '127.0.0.1',
      RATE_LIMIT_LOGIN_PER_ACCOUNT: '1000',
      RATE_LIMIT_LOGIN_PER_ADDRESS: '2',
    });
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  const attemptLoginFrom = (address: string): Promise<HttpResult> =>
    http(verso.baseUrl, 'POST', '/auth/login', {
      body: { email: 'nobody@example.com', password: 'wrong password' },
      headers: { 'x-forwarded-for': address },
    });

  it('another /64 inside the same /56 shares the login limit', async () => {
    // 2001:db8:0:1::/64 and 2001:db8:0:2::/64 both lie in 2001:db8::/56.
    for (let i = 1; i <= 2; i++) expect((await attemptLoginFrom(`2001:db8:0:1::${i}`)).status).toBe(401);
    expect((await attemptLoginFrom('2001:db8:0:1::3')).status).toBe(429);

    expect((await attemptLoginFrom('2001:db8:0:2::1')).status).toBe(429);
    expect((await attemptLoginFrom('2001:db8:0:ff::1')).status).toBe(429);
  });

  it('another /56 keeps a bucket of its own', async () => {
    for (let i = 1; i <= 2; i++) expect((await attemptLoginFrom(`2001:db8:0:100::${i}`)).status).toBe(401);
  });
});
