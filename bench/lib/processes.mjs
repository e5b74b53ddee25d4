import { fork } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { freePort } from './ports.mjs';
import { ROOT } from './paths.mjs';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;
const REPLY_TIMEOUT_MS = 5_000;

/**
 * Start a server as a child process and wait until it is ready. Its output
 * goes to a log file in `logDir`, quoted in the error if it fails to start.
 *
 * - `script` is the bench server (dist/bench/server/main.js), which reports
 *   its kernel-chosen port over IPC, or verso's own dist/src/main.js, which
 *   gets a free port in PORT and is ready when /health/ready returns 200.
 */
export async function startServer({ name, script, env, nodeArgs = [], logDir }) {
  const logFile = join(logDir, `${name}.log`);
  const logFd = openSync(logFile, 'a');
  const reportsPort = script.endsWith(join('bench', 'server', 'main.js'));
  const port = reportsPort ? 0 : await freePort();

  const child = fork(script, [], {
    cwd: ROOT,
    execArgv: nodeArgs,
    env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  closeSync(logFd);

  const server = {
    name,
    pid: child.pid,
    port,
    url: '',
    stop: () => stopChild(child),
    log: () => readFile(logFile, 'utf8'),
    /** Send an IPC message and wait for the server's reply. */
    request: (message) => requestReply(child, message),
  };

  try {
    server.port = reportsPort ? await waitForPortMessage(child) : await waitForReady(child, port);
  } catch (error) {
    await stopChild(child);
    throw new Error(`${name} did not start: ${error.message}\n${tail(logFile)}`);
  }
  server.url = `http://127.0.0.1:${server.port}`;
  return server;
}

/**
 * Fork the load generator (bench/load.mjs) and return a function that runs
 * one job in it. Jobs run one at a time; each is bounded by its own limit.
 */
export function startLoadGenerator() {
  const child = fork(join(ROOT, 'bench', 'load.mjs'), [], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map();
  let nextId = 1;

  child.on('message', ({ id, result, error }) => {
    const job = waiting.get(id);
    waiting.delete(id);
    if (error) job?.reject(new Error(`load generator: ${error}`));
    else job?.resolve(result);
  });
  child.on('exit', (code, signal) => {
    for (const job of waiting.values()) job.reject(new Error(`load generator exited (${code ?? signal})`));
    waiting.clear();
  });

  return {
    run(job) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.send({ ...job, id });
      });
    },
    stop: () => stopChild(child),
  };
}

function requestReply(child, message) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${JSON.stringify(message)} within ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
    child.once('message', (reply) => {
      clearTimeout(timer);
      resolve(reply);
    });
    child.send(message);
  });
}

function waitForPortMessage(child) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready message within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.once('message', (message) => {
      clearTimeout(timer);
      if (message?.ready) resolve(message.port);
      else reject(new Error(`unexpected message ${JSON.stringify(message)}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with code ${code}`));
    });
  });
}

async function waitForReady(child, port) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (response.status === 200) return port;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not ready within ${READY_TIMEOUT_MS} ms`);
}

/** Stop a child with SIGTERM, and with SIGKILL if it has not exited after a few seconds. */
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function tail(file, lines = 30) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}
