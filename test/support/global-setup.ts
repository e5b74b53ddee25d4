import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

import { Client } from 'pg';
import { DataSource } from 'typeorm';

import { loadConfig } from '../../src/config/configuration';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { freePort } from './ports';

/**
 * Provide one PostgreSQL for the whole run and a template database with the
 * real migrations applied. Each test file clones the template, so files are
 * isolated and may run in parallel.
 *
 * With DATABASE_URL the server behind it is used, and the run's databases are
 * created beside the given one and dropped at the end. Without it an embedded
 * server starts in a temporary directory.
 */
export default async function globalSetup(): Promise<void> {
  const runId = randomBytes(4).toString('hex');
  let serverUrl = process.env.DATABASE_URL;

  if (!serverUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'verso-test-pg-'));
    const embedded = await startEmbeddedPostgres({ dataDir: join(dataDir, 'data'), port: await freePort(), database: 'postgres', persistent: false });
    (globalThis as { __embeddedPostgres?: typeof embedded }).__embeddedPostgres = embedded;
    (globalThis as { __embeddedPostgresRoot?: string }).__embeddedPostgresRoot = dataDir;
    serverUrl = embedded.url;
  }

  const template = `verso_test_${runId}_template`;
  await adminQuery(serverUrl, `CREATE DATABASE ${template}`);
  const templateUrl = withDatabase(serverUrl, template);

  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: templateUrl, JWT_SECRET: 'x'.repeat(32), REFRESH_TOKEN_SECRET: 'y'.repeat(32) });
  const dataSource = new DataSource(buildDataSourceOptions(config, templateUrl));
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();

  process.env.VERSO_TEST_SERVER_URL = serverUrl;
  process.env.VERSO_TEST_TEMPLATE = template;
  process.env.VERSO_TEST_RUN_ID = runId;
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
