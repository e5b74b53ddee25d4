import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { ROOT } from './paths.mjs';

const SCRIPT = join(ROOT, 'bench', 'propagation.mjs');
const REVOCATIONS = 500;
const TIMEOUT_MS = 240_000;

/**
 * Table 2: revocation propagation across three instances, measured by
 * bench/propagation.mjs on a database of its own. That script prints one JSON
 * object `{count, p50Ms, p99Ms, maxMs}` on stdout. Without the script the
 * table shows "not run".
 */
export async function benchPropagation({ postgres, progress }) {
  if (!existsSync(SCRIPT)) return { status: 'not run', reason: 'bench/propagation.mjs is not in this checkout' };

  const databaseUrl = await postgres.createDatabase('propagation');
  progress(`propagation: ${REVOCATIONS} revocations across three instances`);
  const { code, stdout, stderr } = await runBounded(process.execPath, [SCRIPT, '--json', '--revocations', String(REVOCATIONS), '--database-url', databaseUrl]);
  if (code !== 0) return { status: 'failed', reason: `exit ${code}: ${lastLines(stderr || stdout)}` };

  const result = lastJsonLine(stdout);
  if (!result) return { status: 'failed', reason: `no JSON on stdout: ${lastLines(stdout)}` };
  return { status: 'ok', revocations: REVOCATIONS, ...result };
}

function runBounded(command, args) {
  return new Promise((resolve) => {
    // Its own process group, so that a timeout also stops the servers it started.
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    let killTimer;
    const timer = setTimeout(() => {
      stderr += `\nstopped after ${TIMEOUT_MS} ms`;
      process.kill(-child.pid, 'SIGTERM');
      killTimer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 5000);
    }, TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({ code: code ?? signal, stdout, stderr });
    });
  });
}

function lastJsonLine(text) {
  for (const line of text.trim().split('\n').reverse()) {
    try {
      const value = JSON.parse(line);
      if (value && typeof value === 'object') return value;
    } catch {
      // Not the result line.
    }
  }
  return null;
}

function lastLines(text, count = 5) {
  return text.trim().split('\n').slice(-count).join(' | ');
}
