import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { freePort } from './ports';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');
const READY_TIMEOUT_MS = 20_000;

export interface ServerProcess {
  baseUrl: string;
  pid: number;
  /** Everything the process wrote, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
  /**
   * Send SIGINT to the whole process group, as a terminal does on Ctrl-C, and
   * return the exit code. Only for a process started with ownProcessGroup.
   */
  interruptGroup(): Promise<number | null>;
  /** Resolve with the exit code once the process has exited; null when a signal ended it. */
  waitForExit(): Promise<number | null>;
}

export interface ServerProcessOptions {
  /** Start verso as the leader of a new process group, as a shell starts a command. */
  ownProcessGroup?: boolean;
}

/**
 * Start verso as a separate process from the build output, as production
 * runs it, and wait until it is ready. Several of these on one database are
 * the instances of the cross-instance tests.
 */
export async function startServerProcess(env: Record<string, string>, options: ServerProcessOptions = {}): Promise<ServerProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);

  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownProcessGroup ?? false,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const baseUrl = `http://127.0.0.1:${port}`;
  await waitUntilReady(child, baseUrl, () => output);

  return {
    baseUrl,
    pid: child.pid!,
    output: () => output,
    stop: () => stopProcess(child),
    interruptGroup: async () => {
      const exited = waitForExit(child);
      process.kill(-child.pid!, 'SIGINT');
      const code = await exited;
      await stopProcess(child);
      return code;
    },
    waitForExit: () => waitForExit(child),
  };
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function waitUntilReady(child: ChildProcess, baseUrl: string, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`verso exited with code ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(`${baseUrl}/health/ready`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`verso was not ready within ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

/**
 * Stop the process and wait until its output pipes have closed too, so that
 * output() then contains every line it wrote: 'exit' can come before the last
 * chunk is read. The wait for the pipes is bounded, in case a child of verso
 * keeps them open.
 */
function stopProcess(child: ChildProcess): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    if (child.stdout?.closed !== false && child.stderr?.closed !== false) resolve();
    child.once('close', () => resolve());
  });
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        });
  return exited.then(() => Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]));
}
