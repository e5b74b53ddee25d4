/**
 * The load generator: a separate process that bench/run.mjs forks once and
 * sends jobs over IPC, so that generating load never shares an event loop
 * with a server or with the orchestrator. Each job is one autocannon run
 * against 127.0.0.1, bounded by its duration or request count and by a hard
 * time limit. The reply is a summary of the run.
 *
 * Job kinds:
 * - bearer: GET with `Authorization: Bearer <token>`, taking the tokens of a
 *   pool in turn, so a pool of N tokens spreads requests over N sessions;
 * - login: POST /auth/login with the credentials of a pool in turn;
 * - refresh: POST /auth/refresh, each request presenting a session's current
 *   refresh token and putting the rotated one back into the pool.
 */
import { readFile } from 'node:fs/promises';

import autocannon from 'autocannon';

const tokenFiles = new Map();

process.on('message', (job) => {
  runJob(job).then(
    (result) => process.send({ id: job.id, result }),
    (error) => process.send({ id: job.id, error: error?.stack ?? String(error) }),
  );
});

async function runJob(job) {
  if (new URL(job.url).hostname !== '127.0.0.1') throw new Error(`Load goes to 127.0.0.1 only, not to ${job.url}`);

  const request = await buildRequest(job);
  const instance = autocannon({
    url: job.url,
    connections: job.connections,
    // A run is bounded either by time or by request count.
    ...(job.amount === undefined ? { duration: job.durationSeconds } : { amount: job.amount }),
    timeout: 10,
    requests: [request],
  });
  // A run by request count ends when every response has arrived, so this timer bounds it in time too.
  const limit = setTimeout(() => instance.stop(), job.maxSeconds * 1000);
  const result = await instance;
  clearTimeout(limit);
  return summarize(result);
}

async function buildRequest(job) {
  if (job.kind === 'bearer') {
    const tokens = await loadTokens(job.tokenFile);
    let next = 0;
    return {
      method: 'GET',
      path: job.path,
      setupRequest: (request) => {
        request.headers = { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` };
        return request;
      },
    };
  }

  if (job.kind === 'login') {
    let next = 0;
    return {
      method: 'POST',
      path: '/auth/login',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => {
        request.body = JSON.stringify(job.credentials[next++ % job.credentials.length]);
        return request;
      },
    };
  }

  if (job.kind === 'refresh') {
    // More sessions than connections, so a failed rotation never starves a connection.
    const ready = [...job.refreshTokens];
    return {
      method: 'POST',
      path: '/auth/refresh',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => {
        const refreshToken = ready.shift();
        if (refreshToken === undefined) throw new Error('refresh pool is empty: every session failed to rotate');
        request.body = JSON.stringify({ refreshToken });
        return request;
      },
      onResponse: (status, body) => {
        if (status === 200) ready.push(JSON.parse(body).refreshToken);
      },
    };
  }

  throw new Error(`unknown job kind ${job.kind}`);
}

async function loadTokens(file) {
  if (!tokenFiles.has(file)) tokenFiles.set(file, JSON.parse(await readFile(file, 'utf8')));
  return tokenFiles.get(file);
}

function summarize(result) {
  const answered = result.requests.total;
  return {
    requests: answered,
    durationSeconds: result.duration,
    requestsPerSecond: answered / result.duration,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, mean: result.latency.average, max: result.latency.max },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count])),
  };
}
