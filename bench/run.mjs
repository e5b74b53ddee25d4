/**
 * verso's benchmark: `npm run bench` builds the service, then this script
 * starts a PostgreSQL (the embedded one, or a fresh database on the server of
 * DATABASE_URL), real server processes and a load generator process, runs the
 * four tables and writes docs/benchmarks.md. Everything listens on and sends
 * to 127.0.0.1, every load run is bounded in time, and the whole run is
 * stopped by a watchdog if it overruns.
 *
 * Options (defaults in brackets): --rounds [3] --seconds [5] per measured run,
 * --warmup [1] seconds before each measured run, --connections [50],
 * --auth-seconds [5], --pool [1000] tokens, --memory-sessions [100000],
 * --sections [request,propagation,auth,memory], --variants [all: a,b,c,d,
 * e-postgres,e-redis,express,fastify], --profile (write a CPU profile of
 * each request-path server to the work directory, which is then kept),
 * --output [docs/benchmarks.md].
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { benchAuthFlows } from './lib/auth-flows.mjs';
import { buildBenchServer } from './lib/build-server.mjs';
import { describeMachine } from './lib/machine.mjs';
import { benchMemory } from './lib/memory.mjs';
import { ROOT, requireDist, requireFromRoot } from './lib/paths.mjs';
import { connect, startPostgres } from './lib/postgres.mjs';
import { startLoadGenerator } from './lib/processes.mjs';
import { benchPropagation } from './lib/propagation.mjs';
import { renderReport } from './lib/report.mjs';
import { benchRequestPath, VARIANTS } from './lib/request-path.mjs';
import { createSigner, lazyTokenPool } from './lib/seed.mjs';

const SECTIONS = ['request', 'propagation', 'auth', 'memory'];
const WATCHDOG_MS = 15 * 60_000;
const REDIS_URL = 'redis://127.0.0.1:6379';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '50' },
    'auth-seconds': { type: 'string', default: '5' },
    pool: { type: 'string', default: '1000' },
    'memory-sessions': { type: 'string', default: '100000' },
    sections: { type: 'string', default: SECTIONS.join(',') },
    variants: { type: 'string', default: VARIANTS.map((variant) => variant.key).join(',') },
    profile: { type: 'boolean', default: false },
    output: { type: 'string', default: join('docs', 'benchmarks.md') },
  },
});

const options = {
  rounds: positiveInteger('rounds'),
  seconds: positiveInteger('seconds'),
  warmupSeconds: positiveInteger('warmup'),
  connections: positiveInteger('connections'),
  authSeconds: positiveInteger('auth-seconds'),
  poolSize: positiveInteger('pool'),
  memorySessions: positiveInteger('memory-sessions'),
  sections: args.sections.split(',').map((name) => name.trim()),
  variants: args.variants.split(',').map((key) => key.trim()),
  profile: args.profile,
};
for (const name of options.sections) {
  if (!SECTIONS.includes(name)) fail(`--sections: unknown section "${name}"; expected some of ${SECTIONS.join(', ')}`);
}
for (const key of options.variants) {
  if (!VARIANTS.some((variant) => variant.key === key)) fail(`--variants: unknown variant "${key}"; expected some of ${VARIANTS.map((variant) => variant.key).join(', ')}`);
}

const startedAt = Date.now();
const progress = (message) => process.stderr.write(`[bench ${((Date.now() - startedAt) / 1000).toFixed(1)}s] ${message}\n`);
const running = new Set();
const track = (server) => {
  running.add(server);
  const stop = server.stop;
  server.stop = async () => {
    running.delete(server);
    await stop();
  };
  return server;
};

let cleanup = async () => undefined;
const watchdog = setTimeout(() => abort(`the run took longer than ${WATCHDOG_MS / 60_000} minutes`), WATCHDOG_MS);
process.once('SIGINT', () => abort('interrupted'));
process.once('SIGTERM', () => abort('terminated'));

try {
  await main();
} catch (error) {
  await cleanup();
  fail(error.stack ?? String(error));
}
clearTimeout(watchdog);

async function main() {
  const machine = describeMachine();
  progress(`compiling the bench server; ${machine.logicalCores} cores, load average ${machine.loadAverageAtStart.toFixed(2)}`);
  const benchServerScript = await buildBenchServer();

  const workDir = await mkdtemp(join(tmpdir(), 'verso-bench-'));
  const postgres = await startPostgres(process.env.DATABASE_URL);
  const load = startLoadGenerator();
  const redis = await connectRedis();
  let database = null;

  cleanup = async () => {
    await Promise.allSettled([...running].map((server) => server.stop()));
    await load.stop();
    await redis.client?.quit().catch(() => undefined);
    await database?.end().catch(() => undefined);
    await postgres.close().catch((error) => progress(`PostgreSQL cleanup failed: ${error.message}`));
    if (!options.profile) await rm(workDir, { recursive: true, force: true });
  };

  progress(`PostgreSQL ${postgres.version} (${postgres.embedded ? 'embedded' : 'from DATABASE_URL'}); Redis: ${redis.client ? redis.version : `skipped, ${redis.reason}`}`);
  const databaseUrl = await postgres.createDatabase('main');
  database = await connect(databaseUrl);

  // Production mode, as verso would run, with secrets made for this run only.
  const serverEnv = {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    MIGRATIONS_RUN: 'false',
  };
  const { loadConfig } = requireDist('src/config/configuration.js');
  const config = loadConfig(serverEnv);
  const signer = createSigner(config);
  const tokenPool = lazyTokenPool({ database, signer, count: options.poolSize, workDir, progress });
  const context = { options, postgres, database, config, signer, tokenPool, benchServerScript, serverEnv, load, redis, workDir, progress, track };

  const results = {};
  if (options.sections.includes('request')) results.request = await benchRequestPath(context);
  if (options.sections.includes('propagation')) results.propagation = await benchPropagation(context);
  if (options.sections.includes('auth')) results.auth = await benchAuthFlows(context);
  // Last, because it adds 100,000 sessions to the database the other tables use.
  if (options.sections.includes('memory')) results.memory = await benchMemory(context);

  await cleanup();
  cleanup = async () => undefined;
  if (options.profile) progress(`CPU profiles of the request-path servers are in ${workDir}`);

  const elapsedSeconds = (Date.now() - startedAt) / 1000;
  const method = await readFile(join(ROOT, 'bench', 'method.md'), 'utf8');
  const report = renderReport({ method, machine, postgres: { version: postgres.version, embedded: postgres.embedded }, redis: redis.client ? redis.version : null, options, results, elapsedSeconds });
  await writeFile(resolve(ROOT, args.output), report);
  progress(`wrote ${args.output} in ${elapsedSeconds.toFixed(0)} s`);
}

/** Connect to the local Redis for the denylist variant, or return the reason that row is skipped. */
async function connectRedis() {
  const Redis = requireFromRoot('ioredis');
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown version';
    return { client, url: REDIS_URL, version, prefix: `verso-bench:${randomBytes(4).toString('hex')}:denied:` };
  } catch (error) {
    client.disconnect();
    return { client: null, reason: `no Redis at 127.0.0.1:6379 (${error.message})` };
  }
}

async function abort(reason) {
  progress(`stopping: ${reason}`);
  await cleanup();
  process.exit(1);
}

function positiveInteger(name) {
  const value = Number(args[name]);
  if (!Number.isSafeInteger(value) || value < 1) fail(`--${name} must be a positive integer, got "${args[name]}"`);
  return value;
}

function fail(message) {
  process.stderr.write(`bench failed: ${message}\n`);
  process.exit(1);
}
