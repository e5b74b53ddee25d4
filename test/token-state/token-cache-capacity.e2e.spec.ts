import { createTestDatabase, TestDatabase } from '../support/database';
import { http, registerAndLogin } from '../support/http';
import { sampleValue, scrapeMetrics } from '../support/metrics';
import { startTestApp, TestApp } from '../support/test-app';

// In a file of its own: prom-client's registry is global to the module
// registry, so each file starts one in-process app.
describe('token state cache at its size limit', () => {
  let database: TestDatabase;
  let verso: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url, { TOKEN_CACHE_MAX_ENTRIES: '2' });
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('evicts least recently used entries at the limit', async () => {
    const users = [await registerAndLogin(verso.baseUrl), await registerAndLogin(verso.baseUrl), await registerAndLogin(verso.baseUrl)];
    const before = await scrapeMetrics(verso.baseUrl);

    for (const user of users) expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);

    const after = await scrapeMetrics(verso.baseUrl);
    // Two entries per cache (sessions, users); the third user pushes one out of each.
    expect(
      sampleValue(after, 'verso_token_cache_evictions_total', { cause: 'capacity' }) - sampleValue(before, 'verso_token_cache_evictions_total', { cause: 'capacity' }),
    ).toBe(2);
  });
});
