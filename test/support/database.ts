import { randomBytes } from 'node:crypto';

import { Client } from 'pg';

import { adminQuery, withDatabase } from './global-setup';

export interface TestDatabase {
  url: string;
  name: string;
  /** Run SQL directly, for arranging state and asserting on rows. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, parameters?: unknown[]): Promise<Row[]>;
  drop(): Promise<void>;
}

/** Create a fresh database for one test file, cloned from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = required('VERSO_TEST_SERVER_URL');
  const name = `verso_test_${required('VERSO_TEST_RUN_ID')}_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `CREATE DATABASE ${name} TEMPLATE ${required('VERSO_TEST_TEMPLATE')}`);

  const url = withDatabase(serverUrl, name);
  const client = new Client({ connectionString: url });
  await client.connect();

  return {
    url,
    name,
    query: async <Row extends Record<string, unknown>>(sql: string, parameters: unknown[] = []) => (await client.query<Row>(sql, parameters)).rows,
    drop: async () => {
      await client.end();
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through Jest's global setup (npm test)`);
  return value;
}

export interface DatabaseRole {
  /** The database URL with this role's credentials. */
  url: string;
  drop(): Promise<void>;
}

/**
 * Create a login role with only what VersoGuardModule needs in verso's
 * database: SELECT on the columns that the token state reads (and LISTEN,
 * which needs no grant). Drop it after the database.
 */
export async function createGuardRole(database: TestDatabase): Promise<DatabaseRole> {
  const name = `verso_guard_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(16).toString('hex');
  await database.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
  await database.query(`GRANT SELECT (id, user_id, expires_at, revoked_at) ON sessions TO ${name}`);
  await database.query(`GRANT SELECT (id, token_version, role, locked_at, locked_until) ON users TO ${name}`);

  const url = new URL(database.url);
  url.username = name;
  url.password = password;
  return {
    url: url.toString(),
    drop: () => adminQuery(required('VERSO_TEST_SERVER_URL'), `DROP ROLE IF EXISTS ${name}`),
  };
}
