import { PasswordHasherService } from '../src/auth/password-hasher.service';
import { makeAdminInDatabase } from './support/accounts';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, HttpResult, login, LoggedInUser, registerAndLogin } from './support/http';
import { ACCOUNT_LOCKED, INVALID_CREDENTIALS } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

/**
 * A login checks the password and the lock on a row read before its
 * transaction. These tests hold a login in that window, which Argon2id opens
 * on every login, while a password change or a lock commits.
 */
describe('login racing a password change or a lock', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let admin: LoggedInUser;
  const me = (token: string) => http(verso.baseUrl, 'GET', '/auth/me', { token });

  /** Start a login and hold its password check result until `release` is called. `checked` resolves when the check is done. */
  function heldLogin(email: string, password: string): { checked: Promise<void>; release: () => void; response: Promise<HttpResult> } {
    const hasher = verso.app.get(PasswordHasherService);
    const original = hasher.verifyOrBurn.bind(hasher);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let markChecked!: () => void;
    const checked = new Promise<void>((resolve) => (markChecked = resolve));

    const spy = jest.spyOn(hasher, 'verifyOrBurn').mockImplementationOnce(async (storedHash, presented) => {
      const matches = await original(storedHash, presented);
      spy.mockRestore();
      markChecked();
      await released;
      return matches;
    });
    const response = http(verso.baseUrl, 'POST', '/auth/login', { body: { email, password } });
    return { checked, release, response };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
    const registered = await registerAndLogin(verso.baseUrl);
    await makeAdminInDatabase(database, registered.userId);
    admin = { ...registered, ...(await login(verso.baseUrl, registered.email, registered.password)) };
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('rejects old password after change', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const attacker = heldLogin(user.email, user.password);
    await attacker.checked;

    const changed = await http(verso.baseUrl, 'POST', '/auth/password', {
      token: user.accessToken,
      body: { currentPassword: user.password, newPassword: 'a brand new passphrase' },
    });
    expect(changed.status).toBe(200);
    attacker.release();

    // Observed: 200, and its session is live after the change.
    const response = await attacker.response;
    expect(response.body).toEqual(INVALID_CREDENTIALS);
  });

  it('rejects login after lock commits', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const pending = heldLogin(user.email, user.password);
    await pending.checked;

    const locked = await http(verso.baseUrl, 'POST', `/admin/users/${user.userId}/lock`, { token: admin.accessToken, body: { reason: 'compromised' } });
    expect(locked.status).toBe(204);
    pending.release();

    // Observed: 200, with a session the lock did not end.
    const response = await pending.response;
    expect(response.body).toEqual(ACCOUNT_LOCKED);
  });

  it('keeps raced login dead after unlock', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const pending = heldLogin(user.email, user.password);
    await pending.checked;

    const locked = await http(verso.baseUrl, 'POST', `/admin/users/${user.userId}/lock`, { token: admin.accessToken, body: { reason: 'compromised' } });
    expect(locked.status).toBe(204);
    pending.release();
    const response = await pending.response;
    const unlocked = await http(verso.baseUrl, 'POST', `/admin/users/${user.userId}/unlock`, { token: admin.accessToken });
    expect(unlocked.status).toBe(204);

    // A 403 issues no token. A 200 must not give a session that outlives the lock.
    const accessToken: string | undefined = response.body.accessToken;
    const status = accessToken ? (await me(accessToken)).status : 401;
    expect(status).toBe(401);
  });
});
