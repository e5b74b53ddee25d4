import { PasswordHasherService } from '../src/auth/password-hasher.service';
import { registerAdmin } from './support/accounts';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, HttpResult, LoggedInUser, registerAndLogin } from './support/http';
import { ACCOUNT_LOCKED, INVALID_CREDENTIALS, WRONG_CURRENT_PASSWORD } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

/**
 * A login or a password change checks the password on a row read before its
 * transaction, and Argon2id keeps that window open for tens of milliseconds.
 * These tests hold a request in that window while a password change or a
 * lock commits.
 */
describe('password check racing a password change or a lock', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let admin: LoggedInUser;
  const me = (token: string) => http(verso.baseUrl, 'GET', '/auth/me', { token });
  const attemptLogin = (email: string, password: string) => http(verso.baseUrl, 'POST', '/auth/login', { body: { email, password } });
  const changePassword = (user: LoggedInUser, newPassword: string) =>
    http(verso.baseUrl, 'POST', '/auth/password', { token: user.accessToken, body: { currentPassword: user.password, newPassword } });

  /** Hold the result of the next password check until `release` is called. `checked` resolves when that check is done. */
  function holdNextPasswordCheck(): { checked: Promise<void>; release: () => void } {
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
    return { checked, release };
  }

  /** Start a login whose password check is held. */
  function heldLogin(email: string, password: string): { checked: Promise<void>; release: () => void; response: Promise<HttpResult> } {
    const passwordCheck = holdNextPasswordCheck();
    return { ...passwordCheck, response: attemptLogin(email, password) };
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

    const response = await attacker.response;
    expect(response.status).toBe(401);
    expect(response.body).toEqual(INVALID_CREDENTIALS);
  });

  /** Log in as the user while an admin lock commits during the password check; return the login's response. */
  async function loginRacingLock(user: LoggedInUser): Promise<HttpResult> {
    const pending = heldLogin(user.email, user.password);
    await pending.checked;

    const locked = await http(verso.baseUrl, 'POST', `/admin/users/${user.userId}/lock`, { token: admin.accessToken, body: { reason: 'compromised' } });
    expect(locked.status).toBe(204);
    pending.release();
    return pending.response;
  }

  it('rejects login after lock commits', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await loginRacingLock(user);

    expect(response.status).toBe(403);
    expect(response.body).toEqual(ACCOUNT_LOCKED);
  });

  it('keeps raced login dead after unlock', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const response = await loginRacingLock(user);

    const unlocked = await http(verso.baseUrl, 'POST', `/admin/users/${user.userId}/unlock`, { token: admin.accessToken });
    expect(unlocked.status).toBe(204);

    // A 403 issues no token. A 200 must not give a session that outlives the lock.
    const accessToken: string | undefined = response.body.accessToken;
    const status = accessToken ? (await me(accessToken)).status : 401;
    expect(status).toBe(401);
  });

  it('rejects a password change with a stale password', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const passwordCheck = holdNextPasswordCheck();
    const first = changePassword(user, 'first new passphrase');
    await passwordCheck.checked;

    // The same session changes the password first, with the same current password.
    const second = await changePassword(user, 'second new passphrase');
    expect(second.status).toBe(200);
    passwordCheck.release();

    const response = await first;
    expect(response.status).toBe(403);
    expect(response.body).toEqual(WRONG_CURRENT_PASSWORD);
    expect((await attemptLogin(user.email, 'second new passphrase')).status).toBe(200);
    expect((await attemptLogin(user.email, 'first new passphrase')).status).toBe(401);
  });
});
