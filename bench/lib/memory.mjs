import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { residentBytes } from './machine.mjs';
import { startServer } from './processes.mjs';
import { insertUsersWithSessions } from './seed.mjs';

// Longer than the fill takes, so that no entry expires before it is counted.
const CACHE_TTL_MS = 300_000;
const WARMUP_SECONDS = 2;

/**
 * Table 4: resident memory of one verso process before and after its cache
 * contains `options.memorySessions` sessions. Each token belongs to its own user
 * and session, so each request adds two entries (session and user state).
 * "Before" is measured after a short warm-up on the request-path pool, so
 * that the difference is the cache and not the first requests' code paths.
 */
export async function benchMemory(context) {
  const { options, database, signer, tokenPool, benchServerScript, serverEnv, load, workDir, progress, track } = context;
  const count = options.memorySessions;

  progress(`memory: seeding ${count} users and sessions`);
  const sessions = await insertUsersWithSessions(database, { label: 'memory', count, passwordHash: 'not-a-hash' });
  const tokenFile = join(workDir, 'memory-tokens.json');
  await writeFile(tokenFile, JSON.stringify(sessions.map(signer)));

  const env = { ...serverEnv, BENCH_VARIANT: 'verso', TOKEN_CACHE_TTL_MS: String(CACHE_TTL_MS) };
  const server = track(await startServer({ name: 'memory', script: benchServerScript, env, nodeArgs: ['--expose-gc'], logDir: workDir }));
  try {
    const warmup = await tokenPool();
    await load.run({ kind: 'bearer', url: server.url, path: '/bench/principal', tokenFile: warmup.tokenFile, connections: 10, durationSeconds: WARMUP_SECONDS, maxSeconds: 30 });
    const before = await measure(server);

    progress(`memory: touching ${count} sessions once each`);
    const fill = await load.run({ kind: 'bearer', url: server.url, path: '/bench/principal', tokenFile, connections: 20, amount: count, maxSeconds: 180 });
    const after = await measure(server);

    return {
      sessions: count,
      cacheTtlMs: CACHE_TTL_MS,
      fill: { requests: fill.requests, failed: fill.non2xx + fill.errors + fill.timeouts, seconds: fill.durationSeconds },
      before,
      after,
      bytesPerSession: { rss: (after.rssBytes - before.rssBytes) / count, heap: (after.heapUsedBytes - before.heapUsedBytes) / count },
    };
  } finally {
    await server.stop();
  }
}

async function measure(server) {
  const gc = await (await fetch(`${server.url}/bench/gc`, { method: 'POST' })).json();
  if (!gc.collected) throw new Error('the memory server runs without --expose-gc');
  const { entries } = await (await fetch(`${server.url}/bench/cache`)).json();
  return { cacheEntries: entries, heapUsedBytes: gc.heapUsedBytes, rssBytes: residentBytes(server.pid) };
}
