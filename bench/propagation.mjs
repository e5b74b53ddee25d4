#!/usr/bin/env node
// Revocation propagation benchmark: how long after a revoking request on one
// instance do the other instances reject the token?
//
//   node bench/propagation.mjs [--json] [--revocations N] [--database-url URL] [--instances URL,URL,URL]
//
// It starts three verso instances from dist/ (npm run build first) on one
// database: a fresh database on the server of --database-url (or
// DATABASE_URL), dropped at the end, or else an embedded PostgreSQL in a
// temporary directory. With --instances it uses three running instances
// instead, which must share their secrets, run on the database given, and
// have RATE_LIMIT_ENABLED=false.
//
// Each revocation: a user logs in on instance 1, the token is made live in the
// caches of instances 2 and 3 (GET /auth/me returns 200), a revoking request
// goes to instance 1, rotating through local logout, global logout, admin
// revoke-tokens and password change, and instances 2 and 3 are polled back to
// back until they answer 401. A sample is the time from the revoking response
// to that 401, per instance, so N revocations give 2N samples. The response
// comes after the commit, so a sample leaves out the commit-to-response time.
//
// Output: human text, or with --json one line {count, p50Ms, p99Ms, maxMs,
// revocations, timeouts} on stdout; progress goes to stderr. The whole run
// stops by itself within 90 s: revocations left when time runs short are
// skipped, and the count says how many were measured.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import pg from 'pg';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'dist', 'src', 'main.js');
const TARGET_P99_MS = 100;
const RUN_BUDGET_MS = 90_000;
// Time kept back at the end of the budget for stopping the instances and the database.
const STOP_RESERVE_MS = 12_000;
const READY_TIMEOUT_MS = 30_000;
// A revocation not seen within this long is counted as a timeout, not a sample.
const POLL_LIMIT_MS = 2000;
const USERS = 16;
const KINDS = ['logout-local', 'logout-global', 'admin-revoke-tokens', 'password-change'];

const startedAt = performance.now();
const log = (line) => process.stderr.write(`[propagation] ${line}\n`);

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    revocations: { type: 'string', default: '500' },
    'database-url': { type: 'string' },
    instances: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: node bench/propagation.mjs [--json] [--revocations N] [--database-url URL] [--instances URL,URL,URL]');
  process.exit(0);
}
const revocations = Number(args.revocations);
if (!Number.isInteger(revocations) || revocations < 1) fail('--revocations must be a positive integer');
const databaseUrl = args['database-url'] ?? process.env.DATABASE_URL;
const givenInstances = args.instances?.split(',').map((url) => url.trim().replace(/\/$/, ''));
if (givenInstances && givenInstances.length !== 3) fail('--instances takes three URLs');
if (givenInstances && !databaseUrl) fail('--instances needs --database-url (or DATABASE_URL) to make the benchmark admin');
if (!givenInstances && !existsSync(MAIN)) fail(`${MAIN} is missing: run "npm run build" first`);
for (const url of givenInstances ?? []) {
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(url)) fail(`${url} is not a loopback address`);
}

const cleanups = [];
// stdout carries the report alone: anything else written there (the embedded
// PostgreSQL's start-up lines come through Nest's logger) goes to stderr.
const writeReport = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);

async function run() {
  let urls = givenInstances;
  let adminDatabaseUrl = databaseUrl;
  if (!urls) {
    adminDatabaseUrl = await provideDatabase();
    urls = await startInstances(adminDatabaseUrl);
  }
  const [I1, I2, I3] = urls;

  log('creating users');
  const admin = await createAdmin(I1, adminDatabaseUrl);
  const users = [];
  for (let index = 0; index < USERS; index++) users.push(await register(I1));

  log(`measuring ${revocations} revocations`);
  const samples = [];
  const byKind = Object.fromEntries(KINDS.map((kind) => [kind, []]));
  let timeouts = 0;
  let done = 0;
  const loopDeadline = startedAt + RUN_BUDGET_MS - STOP_RESERVE_MS;
  for (; done < revocations; done++) {
    if (performance.now() > loopDeadline) {
      log(`time is short: stopping after ${done} of ${revocations} revocations`);
      break;
    }
    const kind = KINDS[done % KINDS.length];
    const user = users[done % users.length];
    const { accessToken } = await login(I1, user);
    for (const instance of [I2, I3]) await expectStatus(instance, 'GET', '/auth/me', { token: accessToken }, 200, 'warming the cache');

    await revoke(kind, I1, user, accessToken, admin);
    const revokedAt = performance.now();
    const seen = await Promise.all([I2, I3].map((instance) => firstRejection(instance, accessToken, revokedAt)));
    for (const elapsed of seen) {
      if (elapsed === null) {
        timeouts++;
        continue;
      }
      samples.push(elapsed);
      byKind[kind].push(elapsed);
    }
    if ((done + 1) % 100 === 0) log(`${done + 1} revocations`);
  }

  const serverDelays = await Promise.all([I2, I3].map((instance) => scrapeDelayHistogram(instance)));
  return { samples, byKind, timeouts, revocations: done, serverDelays };
}

/** Create a database for this run: a fresh one on the given server, or an embedded server of its own. */
async function provideDatabase() {
  if (databaseUrl) {
    const name = `verso_bench_${randomBytes(4).toString('hex')}`;
    await adminQuery(databaseUrl, `CREATE DATABASE ${name}`);
    cleanups.push(() => adminQuery(databaseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    const url = new URL(databaseUrl);
    url.pathname = `/${name}`;
    log(`using database ${name} on ${url.host}`);
    return url.toString();
  }

  const { startEmbeddedPostgres } = await import(join(ROOT, 'dist', 'src', 'database', 'embedded-postgres.js'));
  const workDir = await mkdtemp(join(tmpdir(), 'verso-bench-'));
  cleanups.push(() => rm(workDir, { recursive: true, force: true }));
  log('starting an embedded PostgreSQL');
  const embedded = await startEmbeddedPostgres({ dataDir: join(workDir, 'data'), port: await freePort(), database: 'verso', persistent: false });
  cleanups.push(() => embedded.stop());
  return embedded.url;
}

/** Three instances with shared secrets; the first runs the migrations before the others start. */
async function startInstances(url) {
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    DATABASE_URL: url,
    DATABASE_POOL_SIZE: '5',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_ENABLED: 'false',
    // Logins and password changes are part of every round; their hashing cost is not what is measured.
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
  };
  log('starting three instances');
  const urls = [await startInstance({ ...env, MIGRATIONS_RUN: 'true' })];
  urls.push(...(await Promise.all([startInstance({ ...env, MIGRATIONS_RUN: 'false' }), startInstance({ ...env, MIGRATIONS_RUN: 'false' })])));
  return urls;
}

async function startInstance(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], { env: { ...env, HOST: '127.0.0.1', PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  cleanups.push(() => stopChild(child));

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`an instance exited with code ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${baseUrl}/health/ready`)).status === 200) return baseUrl;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`an instance was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`);
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function cleanup() {
  while (cleanups.length > 0) {
    const step = cleanups.pop();
    await step().catch((error) => log(`cleanup step failed: ${error.message}`));
  }
}

async function createAdmin(baseUrl, url) {
  const admin = await register(baseUrl);
  await withClient(url, (client) => client.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.id]));
  return { ...admin, ...(await login(baseUrl, admin)) };
}

let userCounter = 0;
async function register(baseUrl) {
  const user = { email: `bench-${process.pid}-${Date.now()}-${++userCounter}@example.com`, password: randomBytes(12).toString('base64url') };
  const response = await expectStatus(baseUrl, 'POST', '/auth/register', { body: user }, 201, 'registering');
  return { ...user, id: response.body.id };
}

async function login(baseUrl, user) {
  const response = await expectStatus(baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password } }, 200, 'logging in');
  return { accessToken: response.body.accessToken };
}

async function revoke(kind, baseUrl, user, accessToken, admin) {
  switch (kind) {
    case 'logout-local':
      return expectStatus(baseUrl, 'POST', '/auth/logout', { token: accessToken, body: { scope: 'local' } }, 204, kind);
    case 'logout-global':
      return expectStatus(baseUrl, 'POST', '/auth/logout', { token: accessToken, body: { scope: 'global' } }, 204, kind);
    case 'admin-revoke-tokens':
      return expectStatus(baseUrl, 'POST', `/admin/users/${user.id}/revoke-tokens`, { token: admin.accessToken }, 204, kind);
    case 'password-change': {
      const newPassword = randomBytes(12).toString('base64url');
      await expectStatus(baseUrl, 'POST', '/auth/password', { token: accessToken, body: { currentPassword: user.password, newPassword } }, 200, kind);
      // The session that changed the password lives on with a new pair; the
      // token measured is its old access token, which the version bump killed.
      user.password = newPassword;
      return undefined;
    }
  }
}

/** Poll back to back until a 401; returns milliseconds from `since`, or null after the limit. */
async function firstRejection(baseUrl, accessToken, since) {
  for (;;) {
    const { status } = await request(baseUrl, 'GET', '/auth/me', { token: accessToken });
    const elapsed = performance.now() - since;
    if (status === 401) return elapsed;
    if (status !== 200) throw new Error(`GET /auth/me returned ${status} while polling, expected 200 or 401`);
    if (elapsed > POLL_LIMIT_MS) return null;
  }
}

async function scrapeDelayHistogram(baseUrl) {
  const { body } = await request(baseUrl, 'GET', '/metrics');
  const buckets = [];
  for (const match of String(body).matchAll(/^verso_invalidation_delay_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) buckets.push([match[1], Number(match[2])]);
  return buckets;
}

async function expectStatus(baseUrl, method, path, options, status, what) {
  const response = await request(baseUrl, method, path, options);
  if (response.status !== status) throw new Error(`${what}: ${method} ${path} returned ${response.status}, expected ${status}: ${JSON.stringify(response.body)}`);
  return response;
}

async function request(baseUrl, method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, body: parsed };
}

async function withClient(url, work) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function adminQuery(url, sql) {
  return withClient(url, (client) => client.query(sql));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (value) => (value === null ? null : Math.round(value * 100) / 100);
  return { count: sorted.length, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted.at(-1) ?? null) };
}

function report({ samples, byKind, timeouts, revocations: measured, serverDelays }) {
  const summary = summarize(samples);
  if (args.json) {
    writeReport(`${JSON.stringify({ ...summary, revocations: measured, timeouts })}\n`);
    return;
  }

  const lines = [
    `Revocation propagation: ${measured} revocations on instance 1, ${summary.count} rejections timed on instances 2 and 3`,
    `  from the revoking response to the first 401: p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms, max ${summary.maxMs} ms` +
      ` (target p99 <= ${TARGET_P99_MS} ms: ${summary.p99Ms !== null && summary.p99Ms <= TARGET_P99_MS ? 'met' : 'NOT met'})`,
    `  not rejected within ${POLL_LIMIT_MS} ms: ${timeouts}`,
  ];
  for (const [kind, values] of Object.entries(byKind)) {
    const part = summarize(values);
    lines.push(`  ${kind.padEnd(20)} p50 ${part.p50Ms} ms, p99 ${part.p99Ms} ms, max ${part.maxMs} ms (${part.count})`);
  }
  serverDelays.forEach((buckets, index) => {
    const total = buckets.find(([le]) => le === '+Inf')?.[1] ?? 0;
    const within = (le) => buckets.find(([bound]) => bound === le)?.[1] ?? 0;
    if (total > 0) {
      lines.push(
        `  instance ${index + 2}, send-to-eviction as it measures itself: ${total} messages, ` +
          `${Math.round((100 * within('0.005')) / total)} % within 5 ms, ${Math.round((100 * within('0.1')) / total)} % within 100 ms`,
      );
    }
  });
  lines.push(`  run time ${Math.round((performance.now() - startedAt) / 100) / 10} s`);
  writeReport(`${lines.join('\n')}\n`);
}

function fail(message) {
  process.stderr.write(`propagation: ${message}\n`);
  process.exit(2);
}

// A hard stop in case anything hangs: the run never outlives its budget.
const hardStop = setTimeout(() => {
  log(`still running after ${RUN_BUDGET_MS} ms; stopping`);
  void cleanup().finally(() => process.exit(1));
}, RUN_BUDGET_MS - 1000);
hardStop.unref();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void cleanup().finally(() => process.exit(130)));

try {
  const result = await run();
  await cleanup();
  clearTimeout(hardStop);
  report(result);
  process.exit(result.timeouts > 0 ? 1 : 0);
} catch (error) {
  log(`failed: ${error?.stack ?? error}`);
  await cleanup();
  process.exit(1);
}
