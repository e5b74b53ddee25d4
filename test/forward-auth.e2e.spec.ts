import { createServer, IncomingHttpHeaders, Server } from 'node:http';

import { createTestDatabase, TestDatabase } from './support/database';
import { http, registerAndLogin } from './support/http';
import { Nginx, nginxUnavailableReason, startNginx } from './support/nginx';
import { startTestApp, TestApp } from './support/test-app';
import { pollUntilSatisfied } from './support/polling';

describe('forward authentication', () => {
  let database: TestDatabase;
  let verso: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('names the owner of a live token in headers, with an empty body', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await http(verso.baseUrl, 'GET', '/auth/verify', { token: user.accessToken });

    expect({
      status: response.status,
      userId: response.headers.get('x-user-id'),
      sessionId: response.headers.get('x-session-id'),
      role: response.headers.get('x-user-role'),
      cacheControl: response.headers.get('cache-control'),
      body: response.body,
    }).toEqual({ status: 200, userId: user.userId, sessionId: user.sessionId, role: 'user', cacheControl: 'no-store', body: undefined });
  });

  it('rejects a request without a token', async () => {
    const response = await http(verso.baseUrl, 'GET', '/auth/verify');

    expect([response.status, response.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
  });

  it('rejects a revoked token', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });

    const response = await http(verso.baseUrl, 'GET', '/auth/verify', { token: user.accessToken });

    expect([response.status, response.headers.get('www-authenticate'), response.headers.get('x-user-id')]).toEqual([401, 'Bearer error="invalid_token"', null]);
  });

  const unavailable = nginxUnavailableReason();
  if (unavailable) console.warn(`Skipping the nginx auth_request tests: ${unavailable}.`);

  (unavailable ? describe.skip : describe)('behind nginx auth_request', () => {
    let upstream: Server;
    let upstreamPort: number;
    let nginx: Nginx;
    const seen: Array<{ method: string; headers: IncomingHttpHeaders }> = [];

    beforeAll(async () => {
      upstream = createServer((request, response) => {
        seen.push({ method: request.method ?? '', headers: request.headers });
        request.resume();
        request.on('end', () => response.writeHead(200, { 'content-type': 'text/plain' }).end('upstream ok'));
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      upstreamPort = (upstream.address() as { port: number }).port;

      const versoPort = new URL(verso.baseUrl).port;
      // The snippet of docs/integration.md, with the ports of this test.
      nginx = await startNginx(
        (port) => `
  upstream verso { server 127.0.0.1:${versoPort}; keepalive 8; }
  server {
    listen 127.0.0.1:${port};

    location = /_verso_verify {
      internal;
      proxy_pass http://verso/auth/verify;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }

    location / {
      auth_request /_verso_verify;
      auth_request_set $verso_user_id $upstream_http_x_user_id;
      auth_request_set $verso_session_id $upstream_http_x_session_id;
      auth_request_set $verso_user_role $upstream_http_x_user_role;
      proxy_set_header X-User-Id $verso_user_id;
      proxy_set_header X-Session-Id $verso_session_id;
      proxy_set_header X-User-Role $verso_user_role;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
  }`,
      );
    });

    afterAll(async () => {
      await nginx?.stop();
      await new Promise((resolve) => upstream?.close(resolve));
    });

    beforeEach(() => {
      seen.length = 0;
    });

    it('passes a live token to the upstream with the user headers', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      const response = await http(nginx.baseUrl, 'GET', '/orders', { token: user.accessToken });

      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: 'upstream ok' });
      expect(seen.map(({ headers }) => [headers['x-user-id'], headers['x-session-id'], headers['x-user-role']])).toEqual([[user.userId, user.sessionId, 'user']]);
    });

    it('replaces user headers that the client sent', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      await http(nginx.baseUrl, 'GET', '/orders', { token: user.accessToken, headers: { 'x-user-id': 'someone-else', 'x-user-role': 'admin' } });

      expect(seen.map(({ headers }) => [headers['x-user-id'], headers['x-user-role']])).toEqual([[user.userId, 'user']]);
    });

    it('passes a POST with its body', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      const response = await http(nginx.baseUrl, 'POST', '/orders', { token: user.accessToken, body: { item: 'book' } });

      expect([response.status, seen.map(({ method }) => method)]).toEqual([200, ['POST']]);
    });

    it('refuses a request without a token', async () => {
      const response = await http(nginx.baseUrl, 'GET', '/orders');

      expect([response.status, seen.length]).toEqual([401, 0]);
    });

    it('refuses a token within 1 s of its revocation on verso', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      expect((await http(nginx.baseUrl, 'GET', '/orders', { token: user.accessToken })).status).toBe(200);

      await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'global' } });
      const rejected = await pollUntilSatisfied(() => http(nginx.baseUrl, 'GET', '/orders', { token: user.accessToken }), (response) => response.status === 401, {
        timeoutMs: 1000,
      });

      expect({ status: rejected.value.status, withinBound: rejected.elapsedMs <= 1000 }).toEqual({ status: 401, withinBound: true });
    });
  });
});
