import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from './ports';

const READY_TIMEOUT_MS = 5000;
// Debian installs nginx in /usr/sbin, which is not on every user's PATH.
const SEARCH_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`;

export interface Nginx {
  baseUrl: string;
  pid: number;
  /** nginx's error log, for a failing test's message. */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Why nginx cannot run here, or null when it can: it must be installed and
 * built with the auth_request module (Debian's package is).
 */
export function nginxUnavailableReason(): string | null {
  const result = spawnSync('nginx', ['-V'], { env: { PATH: SEARCH_PATH }, encoding: 'utf8' });
  if (result.error || result.status !== 0) return 'nginx is not installed (.ci/run installs it with apt-get install nginx)';
  if (!result.stderr.includes('http_auth_request_module')) return 'this nginx was built without the auth_request module';
  return null;
}

/**
 * Run nginx in the foreground as one process (`master_process off`, so no
 * worker outlives it), with a configuration written into a fresh temporary
 * prefix. `http` receives the listen port and the prefix and returns the body
 * of the `http {}` block.
 */
export async function startNginx(http: (port: number, prefix: string) => string): Promise<Nginx> {
  const prefix = await mkdtemp(join(tmpdir(), 'verso-nginx-'));
  const port = await freePort();
  const configuration = `
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
${http(port, prefix)}
}
`;
  await writeFile(join(prefix, 'nginx.conf'), configuration);

  const child = spawn('nginx', ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    env: { PATH: SEARCH_PATH },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const errorLog = async () => `${stderr}${await readFile(join(prefix, 'error.log'), 'utf8').catch(() => '')}`;

  try {
    await waitForPort(child, port);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${await errorLog()}`);
  }

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    errorLog,
    stop: async () => {
      await stopProcess(child);
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

async function waitForPort(child: ChildProcess, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not listen on port ${port} within ${READY_TIMEOUT_MS} ms`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // QUIT is nginx's graceful shutdown.
    child.kill('SIGQUIT');
  });
}
