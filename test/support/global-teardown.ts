import { rm } from 'node:fs/promises';

import { Client } from 'pg';

import { EmbeddedDatabase } from '../../src/database/embedded-postgres';

/** Drop the run's databases on a shared server, or stop the embedded one. */
export default async function globalTeardown(): Promise<void> {
  const { __embeddedPostgres: embedded, __embeddedPostgresRoot: root } = globalThis as { __embeddedPostgres?: EmbeddedDatabase; __embeddedPostgresRoot?: string };
  if (embedded) {
    await embedded.stop();
    // The server removes its data directory, but not the temporary folder around it.
    if (root) await rm(root, { recursive: true, force: true });
    return;
  }

  const serverUrl = process.env.VERSO_TEST_SERVER_URL;
  const runId = process.env.VERSO_TEST_RUN_ID;
  if (!serverUrl || !runId) return;

  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`verso_test_${runId}_%`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
