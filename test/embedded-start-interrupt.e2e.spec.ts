import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runCli } from './support/cli';
import { pollUntil } from './support/polling';
import { freePort } from './support/ports';
import { testEnvironment } from './support/test-app';

const MAIN = join(__dirname, '..', 'dist', 'src', 'main.js');
// Long enough for PostgreSQL to react to a SIGINT that reached it (an estimate).
const SETTLE_MS = 2000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A Ctrl-C while `npm start` is still starting its embedded PostgreSQL. The
 * server runs in a process group of its own, so the Ctrl-C reaches only
 * verso, and verso must stop the server it started.
 */
describe('Ctrl-C during the embedded PostgreSQL start', () => {
  let root: string;
  let dataDir: string;
  let env: Record<string, string>;
  let postgresPid: number | null = null;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'verso-start-interrupt-'));
    dataDir = join(root, 'postgres');
    env = { NODE_ENV: 'test', EMBEDDED_POSTGRES_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()) };
    // Create the cluster, so the start below skips initdb and spawns PostgreSQL at once.
    expect((await runCli(['migrations:run'], env)).code).toBe(0);
  });

  afterAll(async () => {
    // The server left running by verso was started by this test, so the test stops it.
    if (postgresPid !== null && isAlive(postgresPid)) process.kill(postgresPid, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    await rm(root, { recursive: true, force: true });
  });

  it('stops PostgreSQL before exiting', async () => {
    const { DATABASE_URL: _unused, ...serverEnv } = testEnvironment('', { ...env, PORT: String(await freePort()) });
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...serverEnv }, stdio: 'ignore', detached: true });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

    const pidFile = join(dataDir, 'postmaster.pid');
    await pollUntil(async () => (existsSync(pidFile) ? true : undefined), { timeoutMs: 20_000, intervalMs: 5, what: 'postmaster.pid written' });
    postgresPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    // A terminal sends Ctrl-C as SIGINT to the whole foreground process group.
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

    expect(isAlive(postgresPid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    // NOTE: the window between the spawn and the ready message is short, so a fast start may exit cleanly and pass by luck.
  });
});
