import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { FastifyReply } from 'fastify';

import { TokenStateUnavailableError } from '../token-state/token-state.types';

const RETRY_AFTER_SECONDS = '2';

/**
 * Map an unreadable token state to 503 with Retry-After, as the guard does,
 * because no decision is possible. RFC 7009 section 2.2.1 expects a client
 * that gets 503 from revocation to retry later.
 */
@Catch(TokenStateUnavailableError)
export class TokenCheckUnavailableFilter implements ExceptionFilter {
  catch(_error: TokenStateUnavailableError, host: ArgumentsHost): void {
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(503)
      .header('Retry-After', RETRY_AFTER_SECONDS)
      .header('Cache-Control', 'no-store')
      .send({ statusCode: 503, message: 'The token could not be checked. Retry shortly.', error: 'Service Unavailable' });
  }
}
