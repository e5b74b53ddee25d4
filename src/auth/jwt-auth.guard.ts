import {
  ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
  Optional,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { Counter } from 'prom-client';

import { AuditRepository } from '../audit/audit.repository';
import { clientAddress } from '../http/client-address';
import { GUARD_DECISIONS, hotPathCounts } from '../metrics/metrics';
import { Principal, TokenRejectedError, TokenStateUnavailableError } from '../token-state/token-state.types';
import { UserRole } from '../users/user.entity';
import { IS_PUBLIC, REQUIRED_ROLE } from './auth.decorators';
import { InvalidAccessTokenError } from './access-token.verifier';
import { ACCESS_TOKEN_STRATEGY } from './jwt.strategy';

const RETRY_AFTER_SECONDS = '2';
// One admin_denied audit event per user and minute at most, so a client
// hammering admin routes cannot turn each request into a database write.
const DENIED_AUDIT_INTERVAL_MS = 60_000;

// 'allowed', the outcome of nearly every request, is counted in hotPathCounts.
type Rejection = 'invalid_token' | 'revoked' | 'forbidden' | 'unavailable';

/**
 * The global guard: every route requires a live access token unless it is
 * marked @Public(). It fails closed: any error while checking a token ends the
 * request with 401 or 503, never lets it through.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard(ACCESS_TOKEN_STRATEGY) {
  private readonly logger = new Logger(JwtAuthGuard.name);
  private readonly decisions: Record<Rejection, Counter>;
  private readonly recentlyAuditedDenials = new LRUCache<string, true>({ max: 10_000, ttl: DENIED_AUDIT_INTERVAL_MS });

  constructor(
    private readonly reflector: Reflector,
    @InjectMetric(GUARD_DECISIONS) decisions: Counter<'outcome'>,
    // Absent in other services that import VersoGuardModule: they keep no audit trail.
    @Optional() private readonly audit?: AuditRepository,
  ) {
    super();
    const rejections: Rejection[] = ['invalid_token', 'revoked', 'forbidden', 'unavailable'];
    this.decisions = Object.fromEntries(rejections.map((outcome) => [outcome, decisions.labels(outcome)])) as Record<Rejection, Counter>;
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets)) return true;

    await super.canActivate(context);

    const requiredRole = this.reflector.getAllAndOverride<UserRole | undefined>(REQUIRED_ROLE, targets);
    if (requiredRole) {
      const request = context.switchToHttp().getRequest<FastifyRequest & { user: Principal }>();
      if (request.user.role !== requiredRole) {
        this.decisions.forbidden.inc();
        // routeOptions is Fastify's; services on Express that import VersoGuardModule have only the URL.
        const route = `${request.method} ${request.routeOptions?.url ?? request.url}`;
        this.logger.warn(`Denied ${route} to user ${request.user.userId}: role ${requiredRole} required`);
        this.auditDenial(request, route, requiredRole);
        throw new ForbiddenException(`This route requires the ${requiredRole} role.`);
      }
    }

    hotPathCounts.allowed++;
    return true;
  }

  /** Record the denial without awaiting it: the 403 does not wait for the write, and a failed write is only logged. */
  private auditDenial(request: FastifyRequest & { user: Principal }, route: string, requiredRole: UserRole): void {
    const { userId, sessionId } = request.user;
    if (!this.audit || this.recentlyAuditedDenials.has(userId)) return;
    this.recentlyAuditedDenials.set(userId, true);

    const userAgent = request.headers['user-agent'];
    this.audit
      .record(null, {
        type: 'admin_denied',
        userId,
        actorId: userId,
        sessionId,
        ip: clientAddress(request),
        userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
        details: { route, requiredRole },
      })
      .catch((error: Error) => this.logger.warn(`Recording the denial for user ${userId} failed: ${error.message}`));
  }

  override handleRequest<T>(reportedError: unknown, principal: T, info: unknown, context: ExecutionContext): T {
    if (!reportedError && principal) return principal;

    // passport-jwt reports a failed key lookup through fail(), so an
    // unreachable JWKS arrives as info. It must get 503, like any other check
    // that cannot be decided.
    const error = reportedError ?? (info instanceof TokenStateUnavailableError ? info : null);

    const reply = context.switchToHttp().getResponse<FastifyReply>();
    if (error instanceof TokenStateUnavailableError || (error && !(error instanceof TokenRejectedError) && !(error instanceof InvalidAccessTokenError))) {
      // A database failure, or anything unexpected: no decision is possible, so refuse and ask to retry.
      this.decisions.unavailable.inc();
      if (!(error instanceof TokenStateUnavailableError)) this.logger.error(`Token check failed: ${(error as Error).message}`);
      reply.header('Retry-After', RETRY_AFTER_SECONDS);
      throw new HttpException(
        { statusCode: 503, message: 'The token could not be checked. Retry shortly.', error: 'Service Unavailable' },
        HttpStatus.SERVICE_UNAVAILABLE,
      );
    }

    this.decisions[error instanceof TokenRejectedError ? 'revoked' : 'invalid_token'].inc();
    // RFC 6750 section 3: a missing token gets a bare challenge, a bad one names the error.
    const hasToken = typeof context.switchToHttp().getRequest<FastifyRequest>().headers.authorization === 'string';
    reply.header('WWW-Authenticate', hasToken ? 'Bearer error="invalid_token"' : 'Bearer');
    throw new UnauthorizedException(hasToken ? 'The access token is invalid, expired or revoked.' : 'An access token is required.');
  }
}
