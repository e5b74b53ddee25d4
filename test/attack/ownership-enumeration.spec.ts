import { createTestDatabase, TestDatabase } from '../support/database';
import { http, HttpResult, LoggedInUser, registerAndLogin } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';

const SESSION_NOT_FOUND = { statusCode: 404, message: 'Session not found.', error: 'Not Found' };
const ADMIN_REQUIRED = { statusCode: 403, message: 'This route requires the admin role.', error: 'Forbidden' };
const INVALID_CREDENTIALS = { statusCode: 401, message: 'Invalid email or password.', error: 'Unauthorized' };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function timedLogin(baseUrl: string, email: string, password: string): Promise<{ ms: number; response: HttpResult }> {
  const started = process.hrtime.bigint();
  const response = await http(baseUrl, 'POST', '/auth/login', { body: { email, password } });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, response };
}

describe('ownership', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let attacker: LoggedInUser;
  let victim: LoggedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    attacker = await registerAndLogin(verso.baseUrl);
    victim = await registerAndLogin(verso.baseUrl);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it("deleting another user's session gets the same 404 as a random id", async () => {
    const foreign = await http(verso.baseUrl, 'DELETE', `/sessions/${victim.sessionId}`, { token: attacker.accessToken });
    const random = await http(verso.baseUrl, 'DELETE', '/sessions/6f1c2a9e-0000-4000-8000-000000000000', { token: attacker.accessToken });
    const malformed = await http(verso.baseUrl, 'DELETE', '/sessions/not-a-uuid', { token: attacker.accessToken });

    for (const response of [foreign, random, malformed]) {
      expect(response.status).toBe(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
    }
  });

  it("other user's session stays alive after the attempt", async () => {
    await http(verso.baseUrl, 'DELETE', `/sessions/${victim.sessionId}`, { token: attacker.accessToken });

    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: victim.accessToken })).status).toBe(200);
    const rotated = await http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: victim.refreshToken } });
    expect(rotated.status).toBe(200);
    victim = { ...victim, accessToken: rotated.body.accessToken, refreshToken: rotated.body.refreshToken };
  });

  it("session list shows only one's own sessions", async () => {
    const response = await http(verso.baseUrl, 'GET', '/sessions', { token: attacker.accessToken });
    expect(response.body.map((session: { id: string }) => session.id)).toEqual([attacker.sessionId]);
  });

  it.each([
    ['GET', '/admin/users/:victim'],
    ['GET', '/admin/users/:victim/sessions'],
    ['GET', '/admin/users/:victim/events'],
    ['POST', '/admin/users/:victim/lock'],
    ['POST', '/admin/users/:victim/unlock'],
    ['POST', '/admin/users/:victim/revoke-tokens'],
    ['DELETE', '/admin/sessions/:session'],
  ])('%s %s as a user gets 403', async (method, template) => {
    const path = template.replace(':victim', victim.userId).replace(':session', victim.sessionId);
    const body = method === 'POST' && path.endsWith('/lock') ? { reason: 'takeover' } : undefined;

    const response = await http(verso.baseUrl, method, path, { token: attacker.accessToken, body });
    expect(response.status).toBe(403);
    expect(response.body).toEqual(ADMIN_REQUIRED);
  });

  it('victim is untouched by the denied admin calls', async () => {
    const state = await database.query<{ token_version: number; locked_at: Date | null }>('SELECT token_version, locked_at FROM users WHERE id = $1', [victim.userId]);
    expect(state).toEqual([{ token_version: 0, locked_at: null }]);
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: victim.accessToken })).status).toBe(200);
  });
});

describe('login enumeration', () => {
  const SAMPLES = 40;
  let database: TestDatabase;
  let verso: TestApp;
  let user: LoggedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The production Argon2 parameters: the comparison is about their cost.
    verso = await startTestApp(database.url, { ARGON2_MEMORY_KIB: '19456', ARGON2_TIME_COST: '2', ARGON2_PARALLELISM: '1' });
    user = await registerAndLogin(verso.baseUrl);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('unknown email and wrong password get the same status and body', async () => {
    const unknown = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: 'nobody-here@example.com', password: 'some guess' } });
    const wrong = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: 'some guess' } });

    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(INVALID_CREDENTIALS);
    expect(wrong.body).toEqual(INVALID_CREDENTIALS);
  });

  it('unknown email and wrong password get the same headers', async () => {
    const unknown = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: 'nobody-here@example.com', password: 'some guess' } });
    const wrong = await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: 'some guess' } });

    const names = (response: HttpResult) => [...response.headers.keys()].filter((name) => name !== 'date').sort();
    expect(names(unknown)).toEqual(names(wrong));
    expect(unknown.headers.get('content-length')).toBe(wrong.headers.get('content-length'));
  });

  it('unknown email and wrong password take about the same time', async () => {
    // Warm up both paths, then interleave so that load from other processes hits both alike.
    for (let i = 0; i < 3; i++) {
      await timedLogin(verso.baseUrl, `warmup-${i}@example.com`, 'some guess');
      await timedLogin(verso.baseUrl, user.email, 'some guess');
    }

    // Each sample is one pair measured back to back, alternating which path
    // goes first, so that load drifting over the run and order effects cancel.
    const unknown: number[] = [];
    const wrong: number[] = [];
    const pairRatios: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const measureUnknown = async () => (await timedLogin(verso.baseUrl, `nobody-${i}@example.com`, `guess ${i}`)).ms;
      const measureWrong = async () => (await timedLogin(verso.baseUrl, user.email, `guess ${i}`)).ms;
      let unknownMs: number;
      let wrongMs: number;
      if (i % 2 === 0) {
        unknownMs = await measureUnknown();
        wrongMs = await measureWrong();
      } else {
        wrongMs = await measureWrong();
        unknownMs = await measureUnknown();
      }
      unknown.push(unknownMs);
      wrong.push(wrongMs);
      pairRatios.push(unknownMs / wrongMs);
    }

    // The median pair ratio must be within 20 % of 1; a failure also shows both medians.
    const ratio = median(pairRatios);
    const comparison = { withinTwentyPercent: ratio > 0.8 && ratio < 1.2, ratio, unknownMedianMs: median(unknown), wrongMedianMs: median(wrong) };
    expect(comparison).toMatchObject({ withinTwentyPercent: true });
  });
});
