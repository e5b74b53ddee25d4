import { STATUS_CODES } from 'node:http';

import { Logger } from '@nestjs/common';
import { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

const logger = new Logger('FrameworkErrors');

/**
 * Build Fastify's `frameworkErrors` handler. Fastify calls it for the errors
 * that its router raises before any hook runs, so before the hook that sets
 * the security headers and outside Nest's exception filters. It replaces the
 * handler that Nest's FastifyAdapter passes. That one runs only Nest's built-in
 * security hook (not enabled in verso) and sends Fastify's error object, with
 * an extra `code`, a message that echoes the whole path and no security
 * headers. This one sends verso's error shape, with the headers.
 *
 * NOTE: it sets no CORS headers, so with CORS_ORIGINS a browser script on
 * another origin cannot read these responses and gets a network error.
 */
export function createFrameworkErrorHandler(securityHeaders: Record<string, string>, maxParamLength: number) {
  const messages: Record<string, string> = {
    // A malformed percent-encoding in the path, such as `%zz`.
    FST_ERR_BAD_URL: 'The request path is not a valid URL.',
    // 414 URI Too Long (RFC 9110 section 15.5.15) means that the target URI is
    // longer than the server is willing to interpret, which is the cause here.
    // A 404 would tell the client that the route does not exist.
    FST_ERR_MAX_PARAM_LENGTH: `A path parameter is longer than ${maxParamLength} characters.`,
  };

  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const statusCode = error.statusCode ?? 500;
    const message = messages[error.code];

    // Fastify passes no other error here today: FST_ERR_ASYNC_CONSTRAINT (500)
    // needs an async route constraint, which verso does not declare.
    if (message === undefined) {
      logger.error(`Router error ${error.code} on ${request.method} request: ${error.message}`);
    }

    void reply
      .code(statusCode)
      .headers(securityHeaders)
      .send({ statusCode, message: message ?? STATUS_CODES[statusCode], error: STATUS_CODES[statusCode] });
  };
}
