import { readSession, readUserState } from './support/accounts';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, login, LoggedInUser, registerAndLogin } from './support/http';
import { readClaims } from './support/jwt-claims';
import { badRequest, INVALID_ACCESS_TOKEN, INVALID_REFRESH_TOKEN, TOKEN_REQUIRED } from './support/responses';
import { startTestApp, TestApp } from './support/test-app';

describe('POST /auth/logout', () => {
  let database: TestDatabase;
  let verso: TestApp;
  const logout = (token: string, body: unknown = {}) => http(verso.baseUrl, 'POST', '/auth/logout', { token, body });
  const me = (token: string) => http(verso.baseUrl, 'GET', '/auth/me', { token });
  const refresh = (refreshToken: string) => http(verso.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken } });

  /** Log one user in on two devices, A and B, and use both access tokens once so they are cached. */
  async function twoDevices(): Promise<{ a: LoggedInUser; b: LoggedInUser }> {
    const a = await registerAndLogin(verso.baseUrl);
    const b = { ...a, ...(await login(verso.baseUrl, a.email, a.password)) };
    expect((await me(a.accessToken)).status).toBe(200);
    expect((await me(b.accessToken)).status).toBe(200);
    return { a, b };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('returns 204 with no body', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await logout(user.accessToken, { scope: 'local' });

    expect(response.status).toBe(204);
    expect(response.body).toBeUndefined();
  });

  it('returns 401 without a token', async () => {
    const response = await http(verso.baseUrl, 'POST', '/auth/logout', { body: { scope: 'global' } });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.body).toEqual(TOKEN_REQUIRED);
  });

  it('returns 400 for an unknown scope', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await logout(user.accessToken, { scope: 'everywhere' });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('scope must be one of local, others, global'));
  });

  it('returns 400 for an unknown field', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await logout(user.accessToken, { scope: 'local', everywhere: true });

    expect(response.status).toBe(400);
    expect(response.body).toEqual(badRequest('property everywhere should not exist'));
  });

  describe('scope local', () => {
    it('kills the access token', async () => {
      const { a } = await twoDevices();

      await logout(a.accessToken, { scope: 'local' });
      const response = await me(a.accessToken);

      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(response.body).toEqual(INVALID_ACCESS_TOKEN);
    });

    it('kills the refresh token', async () => {
      const { a } = await twoDevices();

      await logout(a.accessToken, { scope: 'local' });
      const response = await refresh(a.refreshToken);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
    });

    it('is the default scope', async () => {
      const { a } = await twoDevices();

      expect((await logout(a.accessToken)).status).toBe(204);

      expect((await me(a.accessToken)).status).toBe(401);
      expect((await readSession(database, a.sessionId))?.revoked_reason).toBe('logout');
    });

    it('keeps the other device working', async () => {
      const { a, b } = await twoDevices();

      await logout(a.accessToken, { scope: 'local' });

      expect((await me(b.accessToken)).status).toBe(200);
    });

    it("keeps the other device's refresh token rotating", async () => {
      const { a, b } = await twoDevices();

      await logout(a.accessToken, { scope: 'local' });
      const response = await refresh(b.refreshToken);

      expect(response.status).toBe(200);
      expect(response.body.sessionId).toBe(b.sessionId);
    });

    it('leaves the token version unchanged', async () => {
      const { a } = await twoDevices();

      await logout(a.accessToken, { scope: 'local' });

      expect((await readUserState(database, a.userId)).token_version).toBe(0);
    });
  });

  describe('scope others', () => {
    it('keeps the current access token working', async () => {
      const { a } = await twoDevices();

      await logout(a.accessToken, { scope: 'others' });

      expect((await me(a.accessToken)).status).toBe(200);
    });

    it('keeps the current refresh token rotating', async () => {
      const { a } = await twoDevices();

      await logout(a.accessToken, { scope: 'others' });

      expect((await refresh(a.refreshToken)).status).toBe(200);
    });

    it("kills the other device's access token", async () => {
      const { a, b } = await twoDevices();

      await logout(a.accessToken, { scope: 'others' });
      const response = await me(b.accessToken);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_ACCESS_TOKEN);
    });

    it("kills the other device's refresh token", async () => {
      const { a, b } = await twoDevices();

      await logout(a.accessToken, { scope: 'others' });
      const response = await refresh(b.refreshToken);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_REFRESH_TOKEN);
    });

    it('leaves the token version unchanged', async () => {
      const { a } = await twoDevices();

      await logout(a.accessToken, { scope: 'others' });

      expect((await readUserState(database, a.userId)).token_version).toBe(0);
    });
  });

  describe('scope global', () => {
    it('kills the current access token', async () => {
      const { a } = await twoDevices();

      await logout(a.accessToken, { scope: 'global' });
      const response = await me(a.accessToken);

      expect(response.status).toBe(401);
      expect(response.body).toEqual(INVALID_ACCESS_TOKEN);
    });

    it("kills the other device's access token", async () => {
      const { a, b } = await twoDevices();

      await logout(a.accessToken, { scope: 'global' });

      expect((await me(b.accessToken)).status).toBe(401);
    });

    it('kills every refresh token', async () => {
      const { a, b } = await twoDevices();

      await logout(a.accessToken, { scope: 'global' });

      expect((await refresh(a.refreshToken)).status).toBe(401);
      expect((await refresh(b.refreshToken)).status).toBe(401);
    });

    it('bumps the token version', async () => {
      const { a } = await twoDevices();

      await logout(a.accessToken, { scope: 'global' });

      expect((await readUserState(database, a.userId)).token_version).toBe(1);
    });

    it('ends every session with reason logout_all', async () => {
      const { a, b } = await twoDevices();

      await logout(a.accessToken, { scope: 'global' });

      expect((await readSession(database, a.sessionId))?.revoked_reason).toBe('logout_all');
      expect((await readSession(database, b.sessionId))?.revoked_reason).toBe('logout_all');
    });

    it('lets the user log in again', async () => {
      const { a } = await twoDevices();
      await logout(a.accessToken, { scope: 'global' });

      const again = await login(verso.baseUrl, a.email, a.password);

      expect((await me(again.accessToken)).status).toBe(200);
      expect(readClaims(again.accessToken).ver).toBe(1);
    });
  });

  describe('a login in the same second as a global logout', () => {
    /** Wait for the start of a wall-clock second, so the next few requests share it. */
    async function startOfNextSecond(): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
    }

    it('is told apart by version, not by time', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      // Up to three attempts to fit the three requests into one second on a busy machine.
      let before: Awaited<ReturnType<typeof login>> | undefined;
      let after: Awaited<ReturnType<typeof login>> | undefined;
      for (let attempt = 0; attempt < 3; attempt++) {
        await startOfNextSecond();
        before = await login(verso.baseUrl, user.email, user.password);
        expect((await logout(before.accessToken, { scope: 'global' })).status).toBe(204);
        after = await login(verso.baseUrl, user.email, user.password);
        if (readClaims(before.accessToken).iat === readClaims(after.accessToken).iat) break;
      }

      expect(readClaims(after!.accessToken).iat).toBe(readClaims(before!.accessToken).iat);
      expect((await me(before!.accessToken)).status).toBe(401);
      expect((await me(after!.accessToken)).status).toBe(200);
    });

    it('never leaves a live session with the old version', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      const trigger = await login(verso.baseUrl, user.email, user.password);

      // Logins racing the version bump: the share lock orders each one
      // before the bump (and it is revoked) or after it (and it has the new version).
      const [logins] = await Promise.all([
        Promise.all(Array.from({ length: 8 }, () => http(verso.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password } }))),
        logout(trigger.accessToken, { scope: 'global' }),
      ]);

      const version = (await readUserState(database, user.userId)).token_version;
      expect(version).toBe(1);
      for (const response of logins) {
        expect(response.status).toBe(200);
        const isCurrent = readClaims(response.body.accessToken).ver === version;
        expect((await me(response.body.accessToken)).status).toBe(isCurrent ? 200 : 401);
        expect((await readSession(database, response.body.sessionId))?.revoked_reason).toBe(isCurrent ? null : 'logout_all');
      }
    });
  });
});
