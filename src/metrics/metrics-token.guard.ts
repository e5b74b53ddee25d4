import { createHash, timingSafeEqual } from 'node:crypto';

import { CanActivate, ExecutionContext, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Require `Authorization: Bearer <METRICS_TOKEN>` on the metrics route when
 * METRICS_TOKEN is set. The token is a shared secret, not a JWT, so the route
 * stays @Public() for the global guard and this guard checks it instead.
 * Without METRICS_TOKEN every request passes, as before the variable existed.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly logger = new Logger(MetricsTokenGuard.name);
  // Only the digest is kept: comparing digests gives timingSafeEqual two buffers
  // of one length, so the response time shows neither the token nor its length.
  private readonly tokenDigest: Buffer | null;

  constructor(@InjectConfig() config: AppConfig) {
    this.tokenDigest = config.metrics.token === undefined ? null : digest(config.metrics.token);

    // Nest builds this guard once, at start, so the warning is logged once.
    if (this.tokenDigest === null && config.env === 'production') {
      this.logger.warn('METRICS_TOKEN is not set, so GET /metrics is open to anyone who can reach the port. Set METRICS_TOKEN to require a bearer token.');
    }
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.tokenDigest === null) return true;

    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization;
    const presented = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (presented !== undefined && timingSafeEqual(digest(presented), this.tokenDigest)) return true;

    // RFC 6750 section 3: a missing token gets a bare challenge, a wrong one names the error.
    const hasToken = typeof header === 'string';
    context.switchToHttp().getResponse<FastifyReply>().header('WWW-Authenticate', hasToken ? 'Bearer error="invalid_token"' : 'Bearer');
    throw new UnauthorizedException(hasToken ? 'The metrics token is invalid.' : 'A metrics token is required.');
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
