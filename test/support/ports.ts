import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

// Below Linux's default ephemeral range (32768 to 60999), so that no outgoing
// connection uses one of these ports as its local end.
const FIRST_PORT = 20_000;
const PORTS_PER_WORKER = 1_500;
const WORKER_RANGES = 8;

// Each Jest worker hands out ports from a range of its own. With port 0, the
// kernel can give two workers the same just-released port. The server process
// that loses the bind then passes its readiness check on the other worker's
// server, and its test fails with ECONNREFUSED once that server stops.
// The global setup (no worker id) uses range 0.
const worker = Number(process.env.JEST_WORKER_ID ?? 0) % WORKER_RANGES;
const rangeStart = FIRST_PORT + worker * PORTS_PER_WORKER;

// A random start, because each test file loads this module afresh, and
// servers of the previous file may still hold the ports it began with.
let next = randomInt(PORTS_PER_WORKER);

/** Return a loopback port that is free now and that no other Jest worker hands out. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < PORTS_PER_WORKER; attempt++) {
    const port = rangeStart + next;
    next = (next + 1) % PORTS_PER_WORKER;
    if (await isFree(port)) return port;
  }
  throw new Error(`No free loopback port between ${rangeStart} and ${rangeStart + PORTS_PER_WORKER - 1}: stop leftover test servers and retry`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
