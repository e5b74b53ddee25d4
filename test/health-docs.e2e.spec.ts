import { createTestDatabase, TestDatabase } from './support/database';
import { http } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

describe('health and docs', () => {
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

  it('GET /health/live returns 200', async () => {
    const response = await http(verso.baseUrl, 'GET', '/health/live');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
  });

  it('GET /health/ready reports the database and the invalidation channel', async () => {
    const response = await http(verso.baseUrl, 'GET', '/health/ready');

    expect(response.status).toBe(200);
    const info = { database: { status: 'up', responseTime: expect.any(Number) }, invalidationChannel: { status: 'up', state: 'up' } };
    expect(response.body).toEqual({ status: 'ok', info, error: {}, details: info });
  });

  it('GET /docs returns the explorer page', async () => {
    const response = await http(verso.baseUrl, 'GET', '/docs');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.body).toContain('<title>Swagger UI</title>');
  });

  it('GET /docs/openapi.json lists every route of the API', async () => {
    const response = await http(verso.baseUrl, 'GET', '/docs/openapi.json');

    expect(response.status).toBe(200);
    const operations = Object.entries(response.body.paths as Record<string, object>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'POST /auth/register',
        'POST /auth/login',
        'POST /auth/refresh',
        'POST /auth/logout',
        'POST /auth/password',
        'GET /auth/me',
        'GET /auth/verify',
        'POST /oauth/introspect',
        'POST /oauth/revoke',
        'GET /sessions',
        'DELETE /sessions/{id}',
        'GET /admin/users',
        'GET /admin/users/{id}',
        'GET /admin/users/{id}/sessions',
        'GET /admin/users/{id}/events',
        'POST /admin/users/{id}/lock',
        'POST /admin/users/{id}/unlock',
        'POST /admin/users/{id}/revoke-tokens',
        'DELETE /admin/sessions/{id}',
        'GET /health/live',
        'GET /health/ready',
        'GET /.well-known/jwks.json',
      ].sort(),
    );
  });

  it('GET /docs/openapi.yaml serves the same description', async () => {
    const response = await http<string>(verso.baseUrl, 'GET', '/docs/openapi.yaml');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/yaml/);
    expect(response.body).toMatch(/^openapi: 3\.0\.0$/m);
    expect(response.body).toContain('  /admin/users/{id}/events:\n');
  });

  it('GET /docs/openapi.json marks guarded routes with bearer security', async () => {
    const response = await http(verso.baseUrl, 'GET', '/docs/openapi.json');

    const me = response.body.paths['/auth/me'].get;
    const login = response.body.paths['/auth/login'].post;
    expect(me.security).toEqual([{ bearer: [] }]);
    expect(login.security).toBeUndefined();
  });
});
