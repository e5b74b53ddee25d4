import { Client } from 'pg';

import { createGuardRole, createTestDatabase, DatabaseRole, TestDatabase } from '../support/database';
import { http } from '../support/http';
import { ServerProcess, startServerProcess } from '../support/server-process';
import { testEnvironment } from '../support/test-app';

// Generous: a notification reaches a listener on the same host in far less (an estimate).
const DELIVERY_WAIT_MS = 500;

/**
 * Messages on the invalidation channel that a role without any grant for it
 * can send. verso parses each message inside pg's socket handler, where an
 * uncaught exception ends the process, so it must ignore these and keep serving.
 */
describe('malformed invalidation message', () => {
  let database: TestDatabase;
  let guardRole: DatabaseRole;
  let verso: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The least privileged role that the guard module documents: SELECT on a few columns.
    guardRole = await createGuardRole(database);
  });

  afterAll(async () => {
    await database?.drop();
    await guardRole?.drop();
  });

  beforeEach(async () => {
    verso = await startServerProcess(testEnvironment(database.url, { LOG_LEVEL: 'error' }));
  });

  afterEach(async () => {
    await verso?.stop();
  });

  /** Send a payload on verso's channel, connected as the guard role. */
  async function notifyAsGuardRole(payload: string): Promise<void> {
    const client = new Client({ connectionString: guardRole.url });
    await client.connect();
    try {
      await client.query(`SELECT pg_notify('verso_token_state', $1)`, [payload]);
    } finally {
      await client.end();
    }
  }

  it.each([
    ['JSON null', 'null'],
    ['infinite send time', '{"i":"x","t":-1e400,"k":["s:x"]}'],
    ['not JSON', '{'],
    ['a JSON array', '[1]'],
    ['a JSON string', '"s:x"'],
    ['keys that are not strings', '{"i":"x","t":1,"k":[1,null,{}]}'],
    ['a probe nonce that is an object', '{"i":"x","t":1,"p":{}}'],
  ])('survives %s', async (_case, payload) => {
    await notifyAsGuardRole(payload);
    await new Promise((resolve) => setTimeout(resolve, DELIVERY_WAIT_MS));

    const live = await http(verso.baseUrl, 'GET', '/health/live').catch(() => null);
    // The process output carries the stack trace of a crash.
    if (live?.status !== 200) process.stderr.write(`verso output:\n${verso.output().slice(-1500)}\n`);
    expect(live?.status).toBe(200);
  });
});
