import { IncomingMessage, ServerResponse } from 'node:http';

import { FastifyInstance } from 'fastify';
import helmet, { HelmetOptions } from 'helmet';

/**
 * Compute helmet's headers once, at start.
 *
 * Why not @fastify/helmet: it builds a new helmet middleware, and so parses
 * the whole Content-Security-Policy again, on every request, which cost about
 * 9 % of the CPU of a guarded request in the benchmark profile. verso's
 * options hold no per-request values (no CSP nonces), so helmet's output is
 * the same for every response and can be computed at start.
 */
export function computeSecurityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    // helmet removes X-Powered-By, which Fastify never sets.
    removeHeader() {},
  };

  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

/** Set the headers on every response. */
export function registerSecurityHeaders(fastify: FastifyInstance, headers: Record<string, string>): void {
  // onRequest runs for every route, the 404 handler included, so error
  // responses carry the headers too. Errors that the router raises before
  // any hook runs get them from framework-errors.ts.
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
