import { createServer } from 'node:net';

/** Ask the kernel for a free loopback port. Another process could take it before use; that is unlikely here and fails loudly. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
