import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import { cpuSeconds } from './machine.mjs';
import { requireDist } from './paths.mjs';
import { startServer } from './processes.mjs';
import { spread } from './stats.mjs';

const DENYLIST_TABLE = 'bench_denied_tokens';
const DENIED_TOKENS = 10_000;
// Longer than a whole run, so denylist keys outlive it but never linger on a shared Redis.
const REDIS_KEY_TTL_SECONDS = 900;
// The first warm-up of a server also compiles its hot path and fills its cache, so it runs longer.
const FIRST_WARMUP_SECONDS = 3;

/**
 * The server processes of the request path, by name: BENCH_VARIANT of the
 * bench server and extra environment.
 */
const PROCESSES = {
  verso: { variant: 'verso' },
  'verso-no-cache': { variant: 'verso', env: { TOKEN_CACHE_ENABLED: 'false' } },
  'denylist-postgres': { variant: 'denylist-postgres', env: { BENCH_DENYLIST_TABLE: DENYLIST_TABLE } },
  'denylist-redis': { variant: 'denylist-redis', needsRedis: true },
  'bare-express': { variant: 'bare-express' },
  'bare-fastify': { variant: 'bare-fastify' },
};

/**
 * The variants of the request path. Every variant receives the same request,
 * a GET with a bearer token from the pool, so request size never differs.
 * The public and bare routes ignore the header. (a), (b) and (c) share one
 * process, switched between (b) and (c) before each run, so that differences
 * between processes (JIT decisions, heap layout) stay out of their ratios.
 */
export const VARIANTS = [
  { key: 'a', label: '(a) no authentication', process: 'verso', path: '/bench/public' },
  { key: 'b', label: '(b) signature check only', process: 'verso', stateCheck: 'skip', path: '/bench/principal' },
  { key: 'c', label: '(c) verso, warm cache', process: 'verso', stateCheck: 'real', path: '/bench/principal', scrapeCache: true, reloadCache: true },
  { key: 'd', label: '(d) verso, cache disabled', process: 'verso-no-cache', path: '/bench/principal', scrapeCache: true },
  { key: 'e-postgres', label: '(e) jti denylist in PostgreSQL', process: 'denylist-postgres', path: '/bench/principal' },
  { key: 'e-redis', label: '(e) jti denylist in Redis', process: 'denylist-redis', path: '/bench/principal' },
  { key: 'express', label: 'bare NestJS, Express', process: 'bare-express', path: '/bench/public' },
  { key: 'fastify', label: 'bare NestJS, Fastify', process: 'bare-fastify', path: '/bench/public' },
];

/**
 * Table 1: the same small route served by every variant, measured in rounds
 * that change the order, so that drift in the machine's load spreads over all
 * variants instead of favouring one.
 */
export async function benchRequestPath(context) {
  const { options, database, tokenPool, benchServerScript, serverEnv, load, redis, workDir, progress, track } = context;
  const firstWarmupSeconds = Math.max(FIRST_WARMUP_SECONDS, options.warmupSeconds);

  const { sessions: pool, tokens, tokenFile } = await tokenPool();

  const deniedIds = Array.from({ length: DENIED_TOKENS }, () => randomUUID());
  await database.query(`CREATE TABLE ${DENYLIST_TABLE} (jti text PRIMARY KEY, expires_at timestamptz NOT NULL)`);
  await database.query(`INSERT INTO ${DENYLIST_TABLE} (jti, expires_at) SELECT unnest($1::text[]), now() + interval '15 minutes'`, [deniedIds]);
  if (redis.client) await fillRedisDenylist(redis, deniedIds);

  const chosen = VARIANTS.filter((variant) => options.variants.includes(variant.key));
  const variants = chosen.filter((variant) => !PROCESSES[variant.process].needsRedis || redis.client);
  const skipped = chosen.filter((variant) => !variants.includes(variant)).map((variant) => ({ ...variant, skipped: redis.reason }));
  const processNames = [...new Set(variants.map((variant) => variant.process))];

  progress(`request path: starting ${processNames.length} servers`);
  const servers = new Map();
  try {
    await Promise.all(
      processNames.map(async (name) => {
        const { variant, env: extraEnv, needsRedis } = PROCESSES[name];
        const env = { ...serverEnv, ...extraEnv, BENCH_VARIANT: variant };
        if (needsRedis) Object.assign(env, { BENCH_REDIS_URL: redis.url, BENCH_REDIS_PREFIX: redis.prefix });
        const nodeArgs = options.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(workDir, `profile-${name}`)}`] : [];
        const server = await startServer({ name: `request-${name}`, script: benchServerScript, env, nodeArgs, logDir: workDir });
        servers.set(name, track(server));
      }),
    );

    for (const variant of variants) {
      const server = servers.get(variant.process);
      if (variant.stateCheck) await server.request({ stateCheck: variant.stateCheck });
      await checkVariant(variant, server.url, tokens[0], pool[0]);
    }

    const runs = new Map(variants.map((variant) => [variant.key, []]));
    for (let round = 0; round < options.rounds; round++) {
      for (const variant of orderForRound(variants, round, options.rounds)) {
        const server = servers.get(variant.process);
        const job = { kind: 'bearer', url: server.url, path: variant.path, tokenFile, connections: options.connections, maxSeconds: options.seconds + 30 };

        if (variant.stateCheck) await server.request({ stateCheck: variant.stateCheck });
        if (variant.reloadCache) await evictPool(database, pool, server.url);
        await load.run({ ...job, durationSeconds: round === 0 ? firstWarmupSeconds : options.warmupSeconds });
        const before = variant.scrapeCache ? await scrapeCacheCounters(server.url) : null;
        const cpuBefore = cpuSeconds(server.pid);
        const result = await load.run({ ...job, durationSeconds: options.seconds });
        result.cpuMicrosecondsPerRequest = ((cpuSeconds(server.pid) - cpuBefore) * 1e6) / result.requests;
        if (before) result.cache = subtract(await scrapeCacheCounters(server.url), before);

        runs.get(variant.key).push(result);
        const cacheNote = result.cache ? `, cache ${JSON.stringify(result.cache)}` : '';
        progress(`request path: round ${round + 1}/${options.rounds}, ${variant.label}: ${Math.round(result.requestsPerSecond)} req/s, ${Math.round(result.cpuMicrosecondsPerRequest)} µs CPU/request${cacheNote}`);
      }
    }

    return {
      poolSize: options.poolSize,
      rounds: options.rounds,
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      firstWarmupSeconds,
      connections: options.connections,
      rows: [...variants.map((variant) => summarize(variant, runs.get(variant.key))), ...skipped],
      pairedStateCheck: pairStateCheck(runs.get('b'), runs.get('c')),
    };
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
    if (redis.client) await clearRedisDenylist(redis, deniedIds);
  }
}

/** Send one request and require the expected response, so a variant that rejects every token cannot pass for a fast one. */
async function checkVariant(variant, url, token, owner) {
  const response = await fetch(`${url}${variant.path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = await response.json().catch(() => null);
  if (response.status !== 200) throw new Error(`${variant.label}: expected 200 from ${variant.path}, got ${response.status} ${JSON.stringify(body)}`);
  if (variant.path === '/bench/principal' && (body?.userId !== owner.userId || body?.sessionId !== owner.sessionId)) {
    throw new Error(`${variant.label}: the principal does not match the token: ${JSON.stringify(body)}`);
  }
}

/**
 * Rotate the variants by round, and reverse every other round. (c) always
 * runs right next to (b), first in one round and second in the next. Their
 * ratio is then taken from two runs a few seconds apart, because a shared
 * machine's speed drifts over a round by more than the difference measured.
 */
function orderForRound(variants, round, rounds) {
  const others = variants.filter((variant) => variant.key !== 'c');
  const shift = Math.floor((round * others.length) / rounds);
  const rotated = [...others.slice(shift), ...others.slice(0, shift)];
  const order = round % 2 === 1 ? rotated.reverse() : rotated;

  const cached = variants.find((variant) => variant.key === 'c');
  const baseline = order.findIndex((variant) => variant.key === 'b');
  if (!cached) return order;
  if (baseline === -1) return [...order, cached];
  order.splice(round % 2 === 0 ? baseline + 1 : baseline, 0, cached);
  return order;
}

/** Ratios of (c) to (b) within each round, from their adjacent runs: null unless both ran. */
function pairStateCheck(baselineRuns, cachedRuns) {
  if (!baselineRuns?.length || !cachedRuns?.length) return null;
  const rounds = baselineRuns.map((baseline, round) => ({ baseline, cached: cachedRuns[round] }));
  return {
    throughput: spread(rounds.map(({ baseline, cached }) => cached.requestsPerSecond / baseline.requestsPerSecond)),
    cpu: spread(rounds.map(({ baseline, cached }) => baseline.cpuMicrosecondsPerRequest / cached.cpuMicrosecondsPerRequest)),
  };
}

function summarize(variant, runs) {
  const failed = runs.reduce((sum, run) => sum + run.non2xx + run.errors + run.timeouts, 0);
  const cache = runs.filter((run) => run.cache).map((run) => run.cache);
  return {
    key: variant.key,
    label: variant.label,
    requestsPerSecond: spread(runs.map((run) => run.requestsPerSecond)),
    p50Ms: spread(runs.map((run) => run.latencyMs.p50)),
    p99Ms: spread(runs.map((run) => run.latencyMs.p99)),
    cpuMicrosecondsPerRequest: spread(runs.map((run) => run.cpuMicrosecondsPerRequest)),
    failed,
    cache: cache.length > 0 ? addCounts(cache) : null,
  };
}

/**
 * Evict the pool's entries through verso's own invalidation channel, so that
 * the warm-up reloads them and none reaches its TTL inside the measured run.
 * Without this, entries loaded together in one warm-up expire together
 * (30 s later by default) and a measured run that happens to span that moment
 * pays for every reload at once, which steady traffic spreads over the TTL.
 */
async function evictPool(database, pool, serverUrl) {
  const { INVALIDATION_CHANNEL } = requireDist('src/token-state/invalidation-channel.service.js');
  const { sessionKey, userKey } = requireDist('src/token-state/token-state.types.js');
  const keys = pool.flatMap(({ sessionId, userId }) => [sessionKey(sessionId), userKey(userId)]);
  const received = await invalidationsReceived(serverUrl);

  // The channel's own message format; 150 keys keep a payload under PostgreSQL's 8000-byte limit.
  let sent = 0;
  for (let start = 0; start < keys.length; start += 150) {
    const message = { i: 'bench', t: Date.now(), k: keys.slice(start, start + 150) };
    await database.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify(message)]);
    sent++;
  }

  // The server applies a message in the same step as it counts it, so once
  // the counter has moved by every message sent, the pool is evicted. A
  // message applied after the warm-up had begun would evict entries inside
  // the measured run instead.
  const deadline = Date.now() + 10_000;
  while ((await invalidationsReceived(serverUrl)) < received + sent) {
    if (Date.now() > deadline) throw new Error(`the server applied fewer than ${sent} invalidation messages within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function invalidationsReceived(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^verso_invalidation_messages_total\{kind="invalidate"\} (\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}

/** Read the cache lookups, and for the progress lines the evictions by cause and the invalidation messages, from /metrics. */
async function scrapeCacheCounters(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts = { hit: 0, miss: 0, bypass: 0 };
  for (const match of text.matchAll(/^verso_token_cache_lookups_total\{result="(\w+)"\} (\d+)/gm)) counts[match[1]] = Number(match[2]);
  for (const match of text.matchAll(/^verso_token_cache_evictions_total\{cause="(\w+)"\} (\d+)/gm)) counts[`evicted_${match[1]}`] = Number(match[2]);
  for (const match of text.matchAll(/^verso_invalidation_messages_total\{kind="(\w+)"\} (\d+)/gm)) counts[`messages_${match[1]}`] = Number(match[2]);
  return counts;
}

function subtract(after, before) {
  return Object.fromEntries(Object.keys(after).map((key) => [key, after[key] - (before[key] ?? 0)]));
}

function addCounts(list) {
  const total = {};
  for (const counts of list) for (const [key, value] of Object.entries(counts)) total[key] = (total[key] ?? 0) + value;
  return total;
}

async function fillRedisDenylist({ client, prefix }, jtis) {
  const pipeline = client.pipeline();
  for (const jti of jtis) pipeline.set(`${prefix}${jti}`, '1', 'EX', REDIS_KEY_TTL_SECONDS);
  await pipeline.exec();
}

async function clearRedisDenylist({ client, prefix }, jtis) {
  for (let start = 0; start < jtis.length; start += 1000) {
    await client.del(...jtis.slice(start, start + 1000).map((jti) => `${prefix}${jti}`));
  }
}
