import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createTestDatabase, TestDatabase } from '../support/database';
import { adminQuery, withDatabase } from '../support/global-setup';
import { startServerProcess, ServerProcess } from '../support/server-process';
import { testEnvironment } from '../support/test-app';

describe('key directory entry that is not a key file', () => {
  let database: TestDatabase;
  let keysDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    keysDir = mkdtempSync(join(tmpdir(), 'verso-fifo-'));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(keysDir, '2026-01.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    server = await startServerProcess(testEnvironment(database.url, { JWT_ALGORITHM: 'ES256', JWT_KEYS_DIR: keysDir, LOG_LEVEL: 'info' }));
  });

  afterAll(async () => {
    // Open the pipe for writing and close it, so that a read blocked on it ends.
    try {
      closeSync(openSync(join(keysDir, '2026-02.pem'), constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader has the pipe open.
    }
    await server?.stop();
    await database?.drop();
    rmSync(keysDir, { recursive: true, force: true });
  });

  it('named pipe: server keeps answering', async () => {
    // The reload reads each file synchronously, so a named pipe used to block
    // every request, /health/live included. Measured on a 2-core machine, a
    // 300 MB file blocked requests for about 2 s and a 1.9 GB file for about 7 s.
    execFileSync('mkfifo', [join(keysDir, '2026-02.pem')]);
    process.kill(server.pid, 'SIGHUP');

    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('no answer within 3 s'), 3000).unref());
    const status = await Promise.race([fetch(`${server.baseUrl}/health/live`).then((response) => response.status), timeout]);

    expect(status).toBe(200);
  });
});

describe('MIGRATIONS_RUN=false on an empty database', () => {
  let databaseUrl: string;

  beforeAll(async () => {
    const serverUrl = process.env.VERSO_TEST_SERVER_URL!;
    const name = `verso_test_${process.env.VERSO_TEST_RUN_ID}_unmigrated`;
    await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
    databaseUrl = withDatabase(serverUrl, name);
  });

  afterAll(async () => {
    await adminQuery(process.env.VERSO_TEST_SERVER_URL!, `DROP DATABASE IF EXISTS ${new URL(databaseUrl).pathname.slice(1)} WITH (FORCE)`);
  });

  it('start fails naming the pending migrations', async () => {
    const start = startServerProcess(testEnvironment(databaseUrl, { MIGRATIONS_RUN: 'false', LOG_LEVEL: 'info' }));

    // It used to start, report ready and return 500 on every route that reads a table.
    await expect(start).rejects.toThrow('The database has pending migrations: apply them with npm run migration:run, or start with MIGRATIONS_RUN=true.');
  });
});
