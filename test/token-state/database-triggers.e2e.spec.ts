import { createTestDatabase, TestDatabase } from '../support/database';
import { http, LoggedInUser, registerAndLogin } from '../support/http';
import { pollUntil } from '../support/polling';
import { INVALID_ACCESS_TOKEN } from '../support/responses';
import { startTestApp, TestApp } from '../support/test-app';

// Far longer than the bound, so only an invalidation message can explain a rejection.
const CACHE_TTL_MS = 300_000;
const BOUND_MS = 1000;

/**
 * Changes made with plain SQL, outside verso, reach the cache through the
 * database's own triggers.
 */
describe('changes made outside verso', () => {
  let database: TestDatabase;
  let verso: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url, { TOKEN_CACHE_TTL_MS: String(CACHE_TTL_MS) });
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  /** Log in and serve the token twice, so that its session and user are cached. */
  async function warmUser(): Promise<LoggedInUser> {
    const user = await registerAndLogin(verso.baseUrl);
    for (let i = 0; i < 2; i++) {
      const response = await http(verso.baseUrl, 'GET', '/sessions', { token: user.accessToken });
      expect(response.status).toBe(200);
    }
    return user;
  }

  async function expectStatusWithinBound(token: string, path: string, status: number): Promise<unknown> {
    const { value } = await pollUntil(
      async () => {
        const response = await http(verso.baseUrl, 'GET', path, { token });
        return response.status === status ? response.body : undefined;
      },
      { timeoutMs: BOUND_MS, intervalMs: 10, what: `${path} answering ${status}` },
    );
    return value;
  }

  it('rejects a user deleted with SQL', async () => {
    const user = await warmUser();

    await database.query('DELETE FROM users WHERE id = $1', [user.userId]);

    expect(await expectStatusWithinBound(user.accessToken, '/sessions', 401)).toEqual(INVALID_ACCESS_TOKEN);
  });

  it('rejects a session revoked with SQL', async () => {
    const user = await warmUser();

    await database.query("UPDATE sessions SET revoked_at = now(), revoked_reason = 'admin' WHERE id = $1", [user.sessionId]);

    expect(await expectStatusWithinBound(user.accessToken, '/sessions', 401)).toEqual(INVALID_ACCESS_TOKEN);
  });

  it('rejects a session deleted with SQL', async () => {
    const user = await warmUser();

    await database.query('DELETE FROM sessions WHERE id = $1', [user.sessionId]);

    expect(await expectStatusWithinBound(user.accessToken, '/sessions', 401)).toEqual(INVALID_ACCESS_TOKEN);
  });

  it('rejects a token version bumped with SQL', async () => {
    const user = await warmUser();

    await database.query('UPDATE users SET token_version = token_version + 1 WHERE id = $1', [user.userId]);

    expect(await expectStatusWithinBound(user.accessToken, '/sessions', 401)).toEqual(INVALID_ACCESS_TOKEN);
  });

  it('applies a role granted with SQL', async () => {
    const user = await warmUser();
    const denied = await http(verso.baseUrl, 'GET', `/admin/users/${user.userId}`, { token: user.accessToken });
    expect(denied.status).toBe(403);

    await database.query("UPDATE users SET role = 'admin' WHERE id = $1", [user.userId]);

    const body = await expectStatusWithinBound(user.accessToken, `/admin/users/${user.userId}`, 200);
    expect(body).toMatchObject({ id: user.userId, role: 'admin' });
  });
});
