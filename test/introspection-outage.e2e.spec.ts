import { createTestDatabase, TestDatabase } from './support/database';
import { http, registerAndLogin } from './support/http';
import { introspect, testClients } from './support/oauth-clients';
import { startTcpProxy, TcpProxy } from './support/tcp-proxy';
import { startTestApp, TestApp } from './support/test-app';
import { pollUntilSatisfied } from './support/polling';

const clients = testClients();

describe('token introspection during a database outage', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let verso: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    verso = await startTestApp(proxy.proxiedUrl(database.url), { INTROSPECTION_CLIENTS: clients.environment });
  });

  afterAll(async () => {
    await verso?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('fails closed with 503, like the guard, and recovers', async () => {
    const live = await registerAndLogin(verso.baseUrl);
    const revoked = await registerAndLogin(verso.baseUrl);
    await http(verso.baseUrl, 'POST', '/auth/logout', { token: revoked.accessToken, body: { scope: 'local' } });
    // Both states are now cached, so a result served from the cache would show.
    expect((await introspect(verso.baseUrl, live.accessToken, clients.gateway)).body.active).toBe(true);
    expect((await introspect(verso.baseUrl, revoked.accessToken, clients.gateway)).body.active).toBe(false);

    proxy.cut();
    // The guard uses its cache until the invalidation channel detects the dropped connection.
    const guardDown = await pollUntilSatisfied(() => http(verso.baseUrl, 'GET', '/auth/me', { token: live.accessToken }), (response) => response.status !== 200, {
      timeoutMs: 5000,
    });
    expect(guardDown.value.status).toBe(503);

    const liveAnswer = await introspect(verso.baseUrl, live.accessToken, clients.gateway);
    const revokedAnswer = await introspect(verso.baseUrl, revoked.accessToken, clients.gateway);
    expect({ status: liveAnswer.status, retryAfter: liveAnswer.headers.get('retry-after'), body: liveAnswer.body }).toEqual({
      status: 503,
      retryAfter: '2',
      body: { statusCode: 503, message: 'The token could not be checked. Retry shortly.', error: 'Service Unavailable' },
    });
    expect(revokedAnswer.status).toBe(503);

    proxy.restore();
    const recovered = await pollUntilSatisfied(() => introspect(verso.baseUrl, live.accessToken, clients.gateway), (response) => response.status === 200, { timeoutMs: 10_000, intervalMs: 100 });
    expect(recovered.value.body.active).toBe(true);
  });
});
