import { createTestDatabase, TestDatabase } from '../support/database';
import { http, HttpResult, registerAndLogin } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';

const APP_ORIGIN = 'https://app.example.com';

function expectSecurityHeaders(response: HttpResult): void {
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
  expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
}

function preflight(baseUrl: string, origin: string): Promise<Response> {
  return fetch(`${baseUrl}/auth/login`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
}

describe('response headers', () => {
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

  describe('security headers', () => {
    it('on a 200', async () => {
      const response = await http(verso.baseUrl, 'GET', '/health/live');
      expect(response.status).toBe(200);
      expectSecurityHeaders(response);
    });

    it('on a 401', async () => {
      const response = await http(verso.baseUrl, 'GET', '/auth/me');
      expect(response.status).toBe(401);
      expectSecurityHeaders(response);
    });

    it('on a 404', async () => {
      const response = await http(verso.baseUrl, 'GET', '/no-such-route');
      expect(response.status).toBe(404);
      expectSecurityHeaders(response);
    });

    it('on a 400 from the body parser', async () => {
      const response = await http(verso.baseUrl, 'POST', '/auth/login', { body: '[' });
      expect(response.status).toBe(400);
      expectSecurityHeaders(response);
    });

    it('without X-Powered-By', async () => {
      const response = await http(verso.baseUrl, 'GET', '/health/live');
      expect(response.headers.has('x-powered-by')).toBe(false);
    });
  });

  describe('Cache-Control on token responses', () => {
    it('login is no-store', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const response = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
    });

    it('refresh is no-store', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const response = await http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
    });

    it('password change is no-store', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const response = await http(verso.baseUrl, 'POST', '/auth/password', {
        token: user.accessToken,
        body: { currentPassword: user.password, newPassword: 'a brand new password' },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
    });
  });

  describe('CORS off by default', () => {
    it('preflight gets no CORS headers', async () => {
      const response = await preflight(verso.baseUrl, APP_ORIGIN);
      expect(response.headers.has('access-control-allow-origin')).toBe(false);
      expect(response.headers.has('access-control-allow-methods')).toBe(false);
    });

    it('request with an Origin gets no CORS headers', async () => {
      const response = await http(verso.baseUrl, 'GET', '/health/live', { headers: { origin: APP_ORIGIN } });
      expect(response.headers.has('access-control-allow-origin')).toBe(false);
    });
  });

  describe('CORS with CORS_ORIGINS', () => {
    let withCors: TestApp;

    beforeAll(async () => {
      withCors = await startTestApp(database.url, { CORS_ORIGINS: `${APP_ORIGIN}, https://admin.example.com` });
    });

    afterAll(async () => {
      await withCors?.close();
    });

    it('preflight from a listed origin is allowed', async () => {
      const response = await preflight(withCors.baseUrl, APP_ORIGIN);
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
      expect(response.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type');
      expect(response.headers.get('access-control-max-age')).toBe('600');
      expect(response.headers.has('access-control-allow-credentials')).toBe(false);
    });

    it('preflight from another origin gets no allow-origin', async () => {
      const response = await preflight(withCors.baseUrl, 'https://evil.example.net');
      expect(response.headers.has('access-control-allow-origin')).toBe(false);
    });

    it('response to a listed origin exposes Retry-After and WWW-Authenticate', async () => {
      const response = await http(withCors.baseUrl, 'GET', '/auth/me', { headers: { origin: 'https://admin.example.com' } });
      expect(response.status).toBe(401);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
      expect(response.headers.get('access-control-expose-headers')).toBe('Retry-After, WWW-Authenticate');
    });
  });
});
