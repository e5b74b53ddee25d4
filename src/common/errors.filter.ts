import { STATUS_CODES } from 'node:http';

import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { FastifyReply } from 'fastify';
import { QueryFailedError } from 'typeorm';

import { TokenStateUnavailableError } from '../token-state/token-state.types';

import { heldBackSuffix, LogThrottle } from './log-throttle';

const RETRY_AFTER_SECONDS = '2';

// Codes of pg and Node errors that mean "the database is unreachable,
// overloaded or lost a race worth retrying", not "this request is wrong":
// connection failures, admin shutdown, too many connections, statement
// timeout, deadlock and serialization failure.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '08000',
  '08003',
  '08006',
  '40001',
  '40P01',
  '53300',
  '55P03',
  '57014',
  '57P01',
  '57P02',
  '57P03',
]);
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connect ECONNREFUSED/i;

/**
 * Map errors that are not HttpExceptions:
 * - Fastify's own client errors (malformed JSON, body too large, wrong
 *   content type) keep their 4xx status, in Nest's error shape;
 * - database outages become 503 with Retry-After;
 * - anything else is a bug: logged, and given Nest's generic 500,
 *   which never carries the database's own error text.
 */
@Catch()
export class ErrorsFilter extends BaseExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(ErrorsFilter.name);
  // During an outage every request lands here, so one line per interval reports it.
  private readonly outageLogThrottle = new LogThrottle(10_000);

  override catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof HttpException) {
      // Nest turns Fastify's own 4xx errors (body too large, unsupported media
      // type) into an HttpException with a bare message and no `error` field.
      const status = exception.getStatus();
      const response = exception.getResponse();
      if (typeof response === 'string') {
        void reply.status(status).send({ statusCode: status, message: response, error: STATUS_CODES[status] });
        return;
      }
      super.catch(exception, host);
      return;
    }

    const clientStatus = fastifyClientStatus(exception);
    if (clientStatus !== null) {
      void reply.status(clientStatus).send({ statusCode: clientStatus, message: (exception as Error).message, error: STATUS_CODES[clientStatus] });
      return;
    }

    if (isDatabaseUnavailable(exception)) {
      const heldBack = this.outageLogThrottle.take('database');
      if (heldBack !== null) this.logger.warn(`Database unavailable: ${(exception as Error).message}${heldBackSuffix(heldBack)}`);
      void reply
        .status(503)
        .header('Retry-After', RETRY_AFTER_SECONDS)
        .send({ statusCode: 503, message: 'The service is temporarily unavailable. Retry shortly.', error: 'Service Unavailable' });
      return;
    }

    this.logger.error(`Unhandled error: ${(exception as Error)?.stack ?? String(exception)}`);
    super.catch(exception, host);
  }
}

/** Fastify marks its request errors with a 4xx statusCode and an FST_ code. */
function fastifyClientStatus(error: unknown): number | null {
  if (!(error instanceof Error)) return null;
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_')) return null;
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode > 499) return null;
  return statusCode;
}

function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // Raised by a token state read outside the guard, for example by introspection.
  if (error instanceof TokenStateUnavailableError) return true;
  const code = (error as { code?: unknown }).code ?? (error instanceof QueryFailedError ? (error.driverError as { code?: unknown }).code : undefined);
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return UNAVAILABLE_MESSAGES.test(error.message);
}
