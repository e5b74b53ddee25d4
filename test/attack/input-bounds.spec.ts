import { PasswordHasherService } from '../../src/auth/password-hasher.service';
import { createTestDatabase, TestDatabase } from '../support/database';
import { http, LoggedInUser, login, registerAndLogin } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';

const badRequest = (message: string | string[]) => ({ statusCode: 400, message, error: 'Bad Request' });
const MEGABYTE_PASSWORD = 'p'.repeat(1024 * 1024);

async function post(verso: TestApp, path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const response = await fetch(`${verso.baseUrl}${path}`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text.length > 0 ? (JSON.parse(text) as unknown) : undefined };
}

describe('input bounds', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let user: LoggedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    user = await registerAndLogin(verso.baseUrl);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  describe('body size', () => {
    it('body over BODY_LIMIT_BYTES gets 413', async () => {
      const response = await post(verso, '/auth/login', JSON.stringify({ email: user.email, password: 'x'.repeat(20_000) }));
      expect(response.status).toBe(413);
      expect(response.body).toEqual({ statusCode: 413, message: 'Request body is too large', error: 'Payload Too Large' });
    });

    it('1 MB password gets 413 under the default limit', async () => {
      const response = await post(verso, '/auth/register', JSON.stringify({ email: 'big@example.com', password: MEGABYTE_PASSWORD }));
      expect(response.status).toBe(413);
    });
  });

  describe('content', () => {
    it('malformed JSON gets 400', async () => {
      const response = await post(verso, '/auth/login', '{"email":');
      expect(response).toEqual({ status: 400, body: badRequest('The request body is not valid JSON.') });
    });

    it('__proto__ key gets 400', async () => {
      const response = await post(verso, '/auth/login', '{"email":"a@example.com","password":"x","__proto__":{"role":"admin"}}');
      expect(response).toEqual({ status: 400, body: badRequest('The request body is not valid JSON.') });
    });

    it('constructor.prototype key gets 400', async () => {
      const response = await post(verso, '/auth/login', '{"constructor":{"prototype":{"role":"admin"}}}');
      expect(response).toEqual({ status: 400, body: badRequest('The request body is not valid JSON.') });
    });

    it.each([['[]'], ['null'], ['"text"'], ['42'], ['true']])('JSON %s body gets 400', async (body) => {
      const response = await post(verso, '/auth/login', body);
      expect(response).toEqual({ status: 400, body: badRequest('The request body must be a JSON object.') });
    });

    it('null body on a route with only optional fields gets 400', async () => {
      const response = await post(verso, '/auth/logout', 'null', { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` });
      expect(response).toEqual({ status: 400, body: badRequest('The request body must be a JSON object.') });
    });

    it('empty body with a JSON content type gets 400', async () => {
      const response = await post(verso, '/auth/login', '');
      expect(response).toEqual({ status: 400, body: badRequest('The request body is empty; send a JSON object, or no Content-Type header.') });
    });

    it('form data outside /oauth/ gets 415', async () => {
      const response = await post(verso, '/auth/login', 'email=a@example.com&password=x', { 'content-type': 'application/x-www-form-urlencoded' });
      expect(response).toEqual({
        status: 415,
        body: { statusCode: 415, message: 'This route accepts only application/json bodies.', error: 'Unsupported Media Type' },
      });
    });

    it.each([['text/plain'], ['multipart/form-data; boundary=x'], ['application/xml']])(
      'content type %s gets 415',
      async (contentType) => {
        const response = await post(verso, '/auth/login', 'email=a@example.com&password=x', { 'content-type': contentType });
        expect(response).toEqual({ status: 415, body: { statusCode: 415, message: 'Unsupported Media Type', error: 'Unsupported Media Type' } });
      },
    );

    it('body without a content type gets 415', async () => {
      const response = await fetch(`${verso.baseUrl}/auth/login`, { method: 'POST', body: Buffer.from('{"email":"a@example.com"}') });
      expect(response.status).toBe(415);
    });

    it('JSON with a charset parameter is accepted', async () => {
      const response = await post(verso, '/auth/login', JSON.stringify({ email: user.email, password: user.password }), {
        'content-type': 'application/json; charset=utf-8',
      });
      expect(response.status).toBe(200);
    });

    it('logout without a body is accepted', async () => {
      const other = await login(verso.baseUrl, user.email, user.password);
      const response = await http(verso.baseUrl, 'POST', '/auth/logout', { token: other.accessToken });
      expect(response.status).toBe(204);
    });
  });

  describe('fields', () => {
    it('unknown field gets 400', async () => {
      const response = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password, role: 'admin' } });
      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest(['property role should not exist']));
    });

    it('email over 254 characters gets 400', async () => {
      const email = `${'a'.repeat(250)}@example.com`;
      const response = await http(verso.baseUrl, 'POST', '/auth/register', { body: { email, password: 'long enough password' } });
      expect(response.status).toBe(400);
      expect(response.body.message).toContain('email must be shorter than or equal to 254 characters');
    });

    it('password over 128 characters gets 400 at register', async () => {
      const response = await http(verso.baseUrl, 'POST', '/auth/register', { body: { email: 'long@example.com', password: 'p'.repeat(129) } });
      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest(['password must be shorter than or equal to 128 characters']));
    });

    it.each(['/auth/register', '/auth/login'])('email with a lone surrogate gets 400 on %s', async (path) => {
      const response = await post(verso, path, '{"email":"a\\ud800@example.com","password":"long enough password"}');
      expect(response).toEqual({ status: 400, body: badRequest(['email must be a valid email address']) });
    });

    it('email as an array gets 400', async () => {
      const response = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: [user.email], password: user.password } });
      expect(response.status).toBe(400);
    });

    it.each([
      ['a NUL character', 'a\u0000b'],
      ['a lone surrogate', 'a\ud800b'],
    ])('lock reason with %s gets 400', async (_name, reason) => {
      const admin = await registerAndLogin(verso.baseUrl);
      await database.query("UPDATE users SET role = 'admin' WHERE id = $1", [admin.userId]);
      const target = await registerAndLogin(verso.baseUrl);

      const response = await http(verso.baseUrl, 'POST', `/admin/users/${target.userId}/lock`, { token: admin.accessToken, body: { reason } });
      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest(['reason must be plain text without control characters']));
    });
  });

  describe('path', () => {
    it.each(['DELETE /sessions/:id', 'GET /admin/users/:id', 'POST /admin/users/:id/lock'])('parameter over 200 characters gets 414 on %s', async (route) => {
      const [method, template] = route.split(' ');
      const response = await http(verso.baseUrl, method, template.replace(':id', 'a'.repeat(201)), { token: user.accessToken });

      expect(response.status).toBe(414);
      expect(response.body).toEqual({ statusCode: 414, message: 'A path parameter is longer than 200 characters.', error: 'URI Too Long' });
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    });

    it('parameter of 200 characters reaches the route', async () => {
      const response = await http(verso.baseUrl, 'DELETE', `/sessions/${'a'.repeat(200)}`, { token: user.accessToken });

      expect(response.status).toBe(404);
      expect(response.body).toEqual({ statusCode: 404, message: 'Session not found.', error: 'Not Found' });
    });

    it('malformed percent-encoding gets 400', async () => {
      const response = await http(verso.baseUrl, 'DELETE', '/sessions/%zz', { token: user.accessToken });

      expect(response.status).toBe(400);
      expect(response.body).toEqual(badRequest('The request path is not a valid URL.'));
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    });
  });

  describe('fuzz', () => {
    it('random JSON shapes never get a 5xx', async () => {
      const admin = await registerAndLogin(verso.baseUrl);
      await database.query("UPDATE users SET role = 'admin' WHERE id = $1", [admin.userId]);
      const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
      const random = mulberry32(seed);
      const routes = fuzzRoutes(admin, user);

      const iterations = Number(process.env.FUZZ_ITERATIONS ?? 300);
      for (let i = 0; i < iterations; i++) {
        const route = routes[Math.floor(random() * routes.length)];
        const body = route.method === 'GET' ? undefined : randomBody(random, route.fields);
        const path = route.path(random);
        const response = await fetch(`${verso.baseUrl}${path}`, {
          method: route.method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(route.token ? { authorization: `Bearer ${route.token}` } : {}),
          },
          body,
        });
        await response.arrayBuffer();
        if (response.status >= 500) {
          throw new Error(`FUZZ_SEED=${seed}, request ${i}: ${route.method} ${path} ${body} got ${response.status}`);
        }
      }
    });
  });

  describe('with a 2 MiB body limit', () => {
    let large: TestApp;

    beforeAll(async () => {
      large = await startTestApp(database.url, { BODY_LIMIT_BYTES: String(2 * 1024 * 1024) });
    });

    afterAll(async () => {
      await large?.close();
    });

    it.each(['/auth/login', '/auth/register'])('1 MB password on %s gets 400 before hashing', async (path) => {
      const hasher = large.app.get(PasswordHasherService);
      const hash = jest.spyOn(hasher, 'hash');
      const verify = jest.spyOn(hasher, 'verifyOrBurn');

      const response = await http(large.baseUrl, 'POST', path, { body: { email: user.email, password: MEGABYTE_PASSWORD } });

      expect(response.status).toBe(400);
      expect(response.body.message).toContain('password must be shorter than or equal to 128 characters');
      expect(hash).not.toHaveBeenCalled();
      expect(verify).not.toHaveBeenCalled();
      hash.mockRestore();
      verify.mockRestore();
    });
  });
});

interface FuzzRoute {
  method: string;
  path: (random: () => number) => string;
  fields: string[];
  token?: string;
}

function fuzzRoutes(admin: LoggedInUser, user: LoggedInUser): FuzzRoute[] {
  const someId = (random: () => number) =>
    pick(random, [user.userId, user.sessionId, admin.userId, '00000000-0000-0000-0000-000000000000', 'not-a-uuid', '%00', 'x'.repeat(150), '..%2F..%2Fetc']);
  const query = (random: () => number) =>
    pick(random, ['', '?limit=1', '?limit=0', '?limit=-1', '?limit=abc', '?limit=1&limit=2', '?offset=1e309', '?offset=99999999999999999999', '?limit[]=1', '?x=1']);

  return [
    { method: 'POST', path: () => '/auth/register', fields: ['email', 'password'] },
    { method: 'POST', path: () => '/auth/login', fields: ['email', 'password'] },
    { method: 'POST', path: () => '/auth/refresh', fields: ['refreshToken'] },
    { method: 'POST', path: () => '/auth/logout', fields: ['scope'], token: admin.accessToken },
    { method: 'POST', path: () => '/auth/password', fields: ['currentPassword', 'newPassword'], token: user.accessToken },
    { method: 'DELETE', path: (random) => `/sessions/${someId(random)}`, fields: [], token: admin.accessToken },
    { method: 'GET', path: (random) => `/admin/users/${someId(random)}/events${query(random)}`, fields: [], token: admin.accessToken },
    { method: 'POST', path: (random) => `/admin/users/${someId(random)}/lock`, fields: ['reason', 'until'], token: admin.accessToken },
    { method: 'POST', path: (random) => `/admin/users/${someId(random)}/unlock`, fields: [], token: admin.accessToken },
  ];
}

/** Mostly objects with the route's own field names, so validation is reached, with odd values. */
function randomBody(random: () => number, fields: string[]): string {
  const roll = random();
  if (roll < 0.05) return pick(random, ['', '[', '{"a":', '"', '{}', '[]', 'null', '0', '{"a":1,"a":2}', '\u0000']);
  if (roll < 0.15) return JSON.stringify(randomValue(random, 3));

  const body: Record<string, unknown> = {};
  for (const field of fields) {
    if (random() < 0.85) body[field] = randomValue(random, 2);
  }
  if (random() < 0.1) body[pick(random, ['role', 'isAdmin', 'toString', 'valueOf', 'hasOwnProperty'])] = randomValue(random, 1);
  return JSON.stringify(body);
}

function randomValue(random: () => number, depth: number): unknown {
  const roll = random();
  if (roll < 0.35) return randomString(random);
  if (roll < 0.5) return pick(random, [0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 31]);
  if (roll < 0.6) return pick(random, [true, false, null]);
  if (depth <= 0) return '';
  if (roll < 0.8) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth - 1));
  const object: Record<string, unknown> = {};
  for (let i = 0; i < Math.floor(random() * 4); i++) object[randomString(random).slice(0, 12)] = randomValue(random, depth - 1);
  return object;
}

function randomString(random: () => number): string {
  return pick(random, [
    '',
    ' ',
    'a@example.com',
    ' A@Example.COM ',
    'local',
    'global',
    'others',
    '2099-01-01T00:00:00Z',
    '2000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '2024-02-30T00:00:00Z',
    'correct horse battery staple',
    'x'.repeat(129),
    'x'.repeat(4000),
    '\u0000',
    'a\u0000b@example.com',
    '\ud800',
    '💥'.repeat(64),
    "' OR 1=1 --",
    '${jndi:ldap://127.0.0.1/a}',
    '<script>alert(1)</script>',
    '../../etc/passwd',
    'eyJhbGciOiJub25lIn0.e30.',
    'A'.repeat(70),
  ]);
}

function pick<T>(random: () => number, values: T[]): T {
  return values[Math.floor(random() * values.length)];
}

/** Return a small seeded PRNG, so that a failing run can be replayed with FUZZ_SEED. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
