import { ExecutionContext, HttpException, HttpStatus, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage, ThrottlerGuard, ThrottlerLimitDetail, ThrottlerModuleOptions, ThrottlerRequest, ThrottlerStorage } from '@nestjs/throttler';
import { FastifyReply, FastifyRequest } from 'fastify';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { clientAddress } from '../http/client-address';

// One warning per limit name at most this often, with the count of rejections in between.
const REJECTION_LOG_INTERVAL_MS = 10_000;

/**
 * @nestjs/throttler's guard with verso's response: 429 in Nest's error shape
 * with a plain Retry-After header, and a warning that names the limit and the
 * client address, never the account.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly rejectionLog = new Logger(RateLimitGuard.name);
  private readonly rejections = new Map<string, { loggedAt: number; unlogged: number }>();

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    super(options, storage, reflector);
  }

  protected override shouldSkip(): Promise<boolean> {
    return Promise.resolve(!this.config.rateLimit.enabled);
  }

  /** Key the address limits on a valid address, never on a string a forwarding header made up. */
  protected override getTracker(request: FastifyRequest): Promise<string> {
    return super.getTracker({ ip: clientAddress(request) ?? 'unknown' });
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(request);
    } catch (error) {
      if (error instanceof HttpException && error.getStatus() === HttpStatus.TOO_MANY_REQUESTS) {
        this.logRejection(request.throttler.name ?? 'default', request.context);
      }
      throw error;
    }
  }

  protected override throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    void reply.header('Retry-After', String(Math.max(1, detail.timeToBlockExpire)));
    throw new HttpException(
      { statusCode: 429, message: 'Too many requests. Retry after the number of seconds in the Retry-After header.', error: 'Too Many Requests' },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }

  private logRejection(name: string, context: ExecutionContext): void {
    const now = Date.now();
    const entry = this.rejections.get(name) ?? { loggedAt: 0, unlogged: 0 };
    this.rejections.set(name, entry);
    if (now - entry.loggedAt < REJECTION_LOG_INTERVAL_MS) {
      entry.unlogged++;
      return;
    }

    const ip = clientAddress(context.switchToHttp().getRequest<FastifyRequest>()) ?? 'an unknown address';
    const earlier = entry.unlogged > 0 ? `; ${entry.unlogged} more rejection(s) since the last report` : '';
    this.rejectionLog.warn(`Rate limit ${name} exceeded from ${ip}, rejected with 429${earlier}`);
    entry.loggedAt = now;
    entry.unlogged = 0;
  }
}
