import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { findRunningEmbeddedPostgres } from '../src/database/embedded-postgres';

/**
 * postmaster.pid left by a server that did not stop cleanly. After a reboot or
 * in a new container, its pid can belong to a live process that is not
 * PostgreSQL, which must not count as a running server.
 */
describe('postmaster.pid of a server that is gone', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'verso-pidfile-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Write the first lines of a postmaster.pid: pid, data directory, start time, port. */
  const writePidFile = (pid: number) => writeFile(join(dataDir, 'postmaster.pid'), `${pid}\n${dataDir}\n1764900000\n54329\n`);

  it.each([
    ['this process', process.pid],
    ['its parent', process.ppid],
  ])('pid of %s: no running server', async (_case, pid) => {
    await writePidFile(pid);

    expect(await findRunningEmbeddedPostgres({ dataDir })).toBeNull();
  });

  it('pid of a process that exited: no running server', async () => {
    // Pids wrap well below this on Linux (pid_max is at most 4194304).
    await writePidFile(4_194_303);

    expect(await findRunningEmbeddedPostgres({ dataDir })).toBeNull();
  });
});
