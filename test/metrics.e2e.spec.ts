import { randomBytes } from 'node:crypto';

import { Logger } from '@nestjs/common';

import { createTestDatabase, TestDatabase } from './support/database';
import { http, registerAndLogin } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

const METRICS_TOKEN = randomBytes(32).toString('base64url');
const METRICS_TOKEN_REQUIRED = { statusCode: 401, message: 'A metrics token is required.', error: 'Unauthorized' };
const INVALID_METRICS_TOKEN = { statusCode: 401, message: 'The metrics token is invalid.', error: 'Unauthorized' };
const OPEN_METRICS_WARNING =
  'METRICS_TOKEN is not set, so GET /metrics is open to anyone who can reach the port. Set METRICS_TOKEN to require a bearer token.';

describe('GET /metrics', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  describe('with METRICS_TOKEN', () => {
    let verso: TestApp;

    beforeAll(async () => {
      verso = await startTestApp(database.url, { METRICS_TOKEN });
    });

    afterAll(async () => {
      await verso?.close();
    });

    it('returns 401 and a bare challenge without a token', async () => {
      const response = await http(verso.baseUrl, 'GET', '/metrics');

      expect(response.status).toBe(401);
      expect(response.body).toEqual(METRICS_TOKEN_REQUIRED);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('returns 401 for a wrong token', async () => {
      const response = await http(verso.baseUrl, 'GET', '/metrics', { token: randomBytes(32).toString('base64url') });

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_METRICS_TOKEN);
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    });

    it('returns 401 for the token plus a character', async () => {
      const response = await http(verso.baseUrl, 'GET', '/metrics', { token: `${METRICS_TOKEN}x` });

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_METRICS_TOKEN);
    });

    it('returns 401 for the token as Basic credentials', async () => {
      const response = await http(verso.baseUrl, 'GET', '/metrics', { headers: { authorization: `Basic ${METRICS_TOKEN}` } });

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_METRICS_TOKEN);
    });

    it('returns 401 for a user access token', async () => {
      // The token is live for the global guard, so only MetricsTokenGuard can reject it.
      const user = await registerAndLogin(verso.baseUrl);
      expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: user.accessToken })).status).toBe(200);

      const response = await http(verso.baseUrl, 'GET', '/metrics', { token: user.accessToken });

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_METRICS_TOKEN);
    });

    it('returns the metrics for the right token', async () => {
      const response = await http<string>(verso.baseUrl, 'GET', '/metrics', { token: METRICS_TOKEN });

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(response.body).toContain('# TYPE verso_guard_decisions_total counter');
    });

    it('accepts a lowercase bearer scheme', async () => {
      const response = await http(verso.baseUrl, 'GET', '/metrics', { headers: { authorization: `bearer ${METRICS_TOKEN}` } });

      expect(response.status).toBe(200);
    });
  });

  describe('without METRICS_TOKEN', () => {
    let verso: TestApp;

    beforeAll(async () => {
      verso = await startTestApp(database.url);
    });

    afterAll(async () => {
      await verso?.close();
    });

    it('returns the metrics to anyone', async () => {
      const response = await http<string>(verso.baseUrl, 'GET', '/metrics');

      expect(response.status).toBe(200);
      expect(response.body).toContain('# TYPE verso_guard_decisions_total counter');
    });
  });

  describe('in production', () => {
    let verso: TestApp | undefined;
    let logged: jest.SpyInstance[];

    beforeEach(() => {
      logged = (['log', 'warn', 'error', 'debug', 'verbose'] as const).map((level) => jest.spyOn(Logger.prototype, level));
    });

    afterEach(async () => {
      await verso?.close();
      verso = undefined;
      jest.restoreAllMocks();
    });

    const warnings = () => (logged[1].mock.calls as unknown[][]).map(([message]) => message);

    it('logs one warning at start when METRICS_TOKEN is not set', async () => {
      verso = await startTestApp(database.url, { NODE_ENV: 'production' });

      expect(warnings().filter((message) => message === OPEN_METRICS_WARNING)).toHaveLength(1);
    });

    it('logs no warning, and never the token, when METRICS_TOKEN is set', async () => {
      verso = await startTestApp(database.url, { NODE_ENV: 'production', METRICS_TOKEN });
      expect((await http(verso.baseUrl, 'GET', '/metrics', { token: METRICS_TOKEN })).status).toBe(200);
      expect((await http(verso.baseUrl, 'GET', '/metrics', { token: `${METRICS_TOKEN}x` })).status).toBe(401);

      expect(warnings()).not.toContain(OPEN_METRICS_WARNING);
      const lines = logged.flatMap((spy) => (spy.mock.calls as unknown[][]).map((call) => JSON.stringify(call)));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).not.toContain(METRICS_TOKEN);
    });
  });
});
