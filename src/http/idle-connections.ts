import { FastifyInstance } from 'fastify';

// How often idle connections are closed during a shutdown.
const SWEEP_INTERVAL_MS = 100;

/**
 * Close keep-alive connections as they become idle while the server shuts
 * down. Node's server.close() closes only the connections that are idle at
 * that moment. A connection whose request was still running stayed open after
 * its response until the client closed it or Fastify's keep-alive timeout
 * (72 s) ran out, and the shutdown waited that long.
 */
export function closeIdleConnectionsOnShutdown(fastify: FastifyInstance): void {
  let sweep: NodeJS.Timeout | undefined;

  fastify.addHook('preClose', (done) => {
    sweep = setInterval(() => fastify.server.closeIdleConnections(), SWEEP_INTERVAL_MS);
    sweep.unref();
    done();
  });
  fastify.addHook('onClose', (_instance, done) => {
    clearInterval(sweep);
    done();
  });
}
