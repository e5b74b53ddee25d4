import { createTestDatabase, TestDatabase } from '../support/database';
import { http, LoggedInUser, login, registerAndLogin } from '../support/http';
import { startServerProcess, ServerProcess } from '../support/server-process';
import { startTestApp, testEnvironment, TestApp } from '../support/test-app';

interface EventPage {
  events: Array<{ type: string; createdAt: string; actorId: string | null; sessionId: string | null; ip: string | null; details: Record<string, unknown> }>;
  total: number;
  limit: number;
  offset: number;
}

async function makeAdmin(database: TestDatabase, baseUrl: string): Promise<LoggedInUser> {
  const admin = await registerAndLogin(baseUrl);
  await database.query("UPDATE users SET role = 'admin' WHERE id = $1", [admin.userId]);
  return admin;
}

describe('audit trail', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let admin: LoggedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    admin = await makeAdmin(database, verso.baseUrl);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  const events = (userId: string, query = '') => http<EventPage>(verso.baseUrl, 'GET', `/admin/users/${userId}/events${query}`, { token: admin.accessToken });

  it('lists events newest first, a page at a time', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    for (let i = 0; i < 2; i++) await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: 'wrong password' } });
    await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken });

    const all = await events(user.userId);
    expect(all.status).toBe(200);
    expect(all.body.events.map((event) => event.type)).toEqual(['logout_local', 'login_failed', 'login_failed', 'login', 'register']);
    expect(all.body).toMatchObject({ total: 5, limit: 50, offset: 0 });
    const times = all.body.events.map((event) => Date.parse(event.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const first = await events(user.userId, '?limit=2');
    const second = await events(user.userId, '?limit=2&offset=2');
    const third = await events(user.userId, '?limit=2&offset=4');
    expect(first.body).toMatchObject({ total: 5, limit: 2, offset: 0 });
    expect(third.body.events).toHaveLength(1);
    expect([...first.body.events, ...second.body.events, ...third.body.events]).toEqual(all.body.events);
  });

  it('page past the end is empty', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const page = await events(user.userId, '?offset=100');
    expect(page.body).toEqual({ events: [], total: 2, limit: 50, offset: 100 });
  });

  it('limit over 200 gets 400', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const page = await events(user.userId, '?limit=201');
    expect(page.status).toBe(400);
    expect(page.body).toEqual({ statusCode: 400, message: ['limit must not be greater than 200'], error: 'Bad Request' });
  });

  it('events of an unknown user get 404', async () => {
    const page = await events('00000000-0000-4000-8000-000000000000');
    expect(page.status).toBe(404);
    expect(page.body).toEqual({ statusCode: 404, message: 'User not found.', error: 'Not Found' });
  });

  it('failed login records the reason and the address', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    await http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: 'wrong password' } });

    const [latest] = (await events(user.userId, '?limit=1')).body.events;
    expect(latest).toMatchObject({ type: 'login_failed', details: { reason: 'wrong_password' }, ip: '127.0.0.1' });
  });

  it('refresh reuse is recorded with the session', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const rotated = await http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    await http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } });
    await http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });

    const [latest] = (await events(user.userId, '?limit=1')).body.events;
    expect(latest).toMatchObject({ type: 'refresh_reuse_detected', sessionId: user.sessionId, details: { presentedGeneration: 0, currentGeneration: 2 } });
  });

  it('denied admin request is recorded once a minute per user', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    for (let i = 0; i < 3; i++) {
      const denied = await http(verso.baseUrl, 'GET', `/admin/users/${admin.userId}`, { token: user.accessToken });
      expect(denied.status).toBe(403);
    }

    // The write is not awaited by the request, so give it a moment.
    let denials: EventPage['events'] = [];
    for (let attempt = 0; attempt < 20 && denials.length === 0; attempt++) {
      denials = (await events(user.userId)).body.events.filter((event) => event.type === 'admin_denied');
      if (denials.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(denials).toHaveLength(1);
    expect(denials[0]).toMatchObject({ actorId: user.userId, sessionId: user.sessionId, details: { route: 'GET /admin/users/:id', requiredRole: 'admin' } });
  });
});

describe('security log lines', () => {
  let database: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess(testEnvironment(database.url, { LOG_LEVEL: 'info' }));
  });

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('name ids at warn and never a secret', async () => {
    const password = 'a password that must never be logged';
    const user = await registerAndLogin(server.baseUrl, { password });
    await http(server.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: 'another secret guess' } });
    await http(server.baseUrl, 'POST', '/auth/login', { body: { email: 'nobody@example.com', password: 'a third secret guess' } });
    const rotated = await http(server.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    await http(server.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } });
    await http(server.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    const fresh = await login(server.baseUrl, user.email, password);
    await http(server.baseUrl, 'GET', `/admin/users/${user.userId}`, { token: fresh.accessToken });
    await new Promise((resolve) => setTimeout(resolve, 200));

    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);

    expect(warnings).toContain(`Failed login for user ${user.userId} from 127.0.0.1`);
    expect(warnings).toContain('Failed login for an unknown email from 127.0.0.1');
    expect(warnings).toContain(`Refresh token reuse on session ${user.sessionId} of user ${user.userId} from 127.0.0.1: session ended`);
    expect(warnings).toContain(`Denied GET /admin/users/:id to user ${user.userId}: role admin required`);

    const output = server.output();
    for (const secret of [password, 'another secret guess', 'a third secret guess', user.refreshToken, rotated.body.refreshToken, user.accessToken, fresh.accessToken]) {
      expect(output).not.toContain(secret);
    }
    expect(output).not.toContain('nobody@example.com');
  });
});
