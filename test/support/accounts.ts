import { TestDatabase } from './database';
import { login, LoggedInUser, registerAndLogin } from './http';

/**
 * Make a user an admin directly in the database. No invalidation message is
 * sent, so call it before the user's first guarded request. Otherwise a
 * running server may keep the old role cached until the entry expires.
 */
export async function makeAdminInDatabase(database: TestDatabase, userId: string): Promise<void> {
  const rows = await database.query("UPDATE users SET role = 'admin' WHERE id = $1 RETURNING id", [userId]);
  if (rows.length !== 1) throw new Error(`no user ${userId} to make an admin`);
}

/** Register a user, make it an admin in the database, and log in again as that admin. */
export async function registerAdmin(database: TestDatabase, baseUrl: string): Promise<LoggedInUser> {
  const registered = await registerAndLogin(baseUrl);
  await makeAdminInDatabase(database, registered.userId);
  return { ...registered, ...(await login(baseUrl, registered.email, registered.password)) };
}

/** Read the columns of the user's row that the guard checks. */
export async function readUserState(database: TestDatabase, userId: string): Promise<{ role: string; token_version: number }> {
  const [row] = await database.query<{ role: string; token_version: number }>('SELECT role, token_version FROM users WHERE id = $1', [userId]);
  return row;
}

/** Read the session's revocation columns, or undefined when the row is gone. */
export async function readSession(
  database: TestDatabase,
  sessionId: string,
): Promise<{ revoked_at: Date | null; revoked_reason: string | null; refresh_generation: number } | undefined> {
  const [row] = await database.query<{ revoked_at: Date | null; revoked_reason: string | null; refresh_generation: number }>(
    'SELECT revoked_at, revoked_reason, refresh_generation FROM sessions WHERE id = $1',
    [sessionId],
  );
  return row;
}
