import { Client } from 'pg';

import { registerAdmin } from './support/accounts';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, HttpResult, LoggedInUser, registerAndLogin } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

/**
 * A local logout that passed the guard while another request ended the same
 * session. Each test locks the session row, queues the requests behind the
 * lock in a known order, then releases it.
 */
describe('local logout racing another end of its session', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let admin: LoggedInUser;
  const me = (token: string) => http(verso.baseUrl, 'GET', '/auth/me', { token });
  const logoutLocal = (token: string) => http(verso.baseUrl, 'POST', '/auth/logout', { token, body: { scope: 'local' } });
  const eventTypes = async (sessionId: string) =>
    (await database.query<{ type: string }>("SELECT type FROM audit_events WHERE session_id = $1 AND type <> 'login' ORDER BY created_at", [sessionId])).map(
      (row) => row.type,
    );

  /** Wait until at least `count` connections to the test database wait for a lock. */
  async function waitForLockWaiters(count: number): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const [row] = await database.query<{ waiting: string }>(
        "SELECT count(*) AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      if (Number(row.waiting) >= count) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} lock waiters, found ${row.waiting}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Lock the session row, send each request once the previous one waits for the lock, then release the lock. */
  async function queueBehindSessionLock(sessionId: string, requests: Array<() => Promise<HttpResult>>): Promise<HttpResult[]> {
    const locker = new Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT id FROM sessions WHERE id = $1 FOR UPDATE', [sessionId]);

      const responses: Array<Promise<HttpResult>> = [];
      for (const [index, send] of requests.entries()) {
        responses.push(send());
        await waitForLockWaiters(index + 1);
      }

      await locker.query('COMMIT');
      return await Promise.all(responses);
    } finally {
      await locker.end();
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    admin = await registerAdmin(database, verso.baseUrl);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('records one event for two logouts', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    expect((await me(user.accessToken)).status).toBe(200);

    const responses = await queueBehindSessionLock(user.sessionId, [() => logoutLocal(user.accessToken), () => logoutLocal(user.accessToken)]);

    expect(responses.map((response) => response.status)).toEqual([204, 204]);
    // The second logout found the session ended, so it records nothing.
    expect(await eventTypes(user.sessionId)).toEqual(['logout_local']);
  });

  it('records no logout after an admin revoke', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    expect((await me(user.accessToken)).status).toBe(200);

    const responses = await queueBehindSessionLock(user.sessionId, [
      () => http(verso.baseUrl, 'DELETE', `/admin/sessions/${user.sessionId}`, { token: admin.accessToken }),
      () => logoutLocal(user.accessToken),
    ]);

    expect(responses.map((response) => response.status)).toEqual([204, 204]);
    // The admin ended the session, so the user's logout records nothing.
    expect(await eventTypes(user.sessionId)).toEqual(['admin_session_revoked']);
  });
});
