import { ExecutionContext } from '@nestjs/common';
import { ThrottlerModuleOptions, ThrottlerOptions, ThrottlerStorage } from '@nestjs/throttler';

import { AppConfig } from '../config/configuration';

export type RateLimitName = 'login-account' | 'login-address' | 'refresh-address' | 'register-address';

export const RATE_LIMITS_METADATA = 'verso:rateLimits';

/**
 * The limits of the public auth routes. Every attempt counts, successful or
 * not. An address is the client address Fastify resolved, which follows
 * X-Forwarded-For only from TRUSTED_PROXIES; IPv6 addresses count per /56,
 * @nestjs/throttler's default. An account is the email as sent, trimmed and
 * lower-cased, so a login limit cannot be escaped by changing address.
 */
export function buildThrottlerOptions(config: AppConfig, storage: ThrottlerStorage): ThrottlerModuleOptions {
  const { rateLimit } = config;
  const windowMs = rateLimit.windowSeconds * 1000;

  const limit = (name: RateLimitName, perWindow: number, extra: Partial<ThrottlerOptions> = {}): ThrottlerOptions => ({
    name,
    limit: perWindow,
    ttl: windowMs,
    skipIf: (context) => !routeHasLimit(context, name),
    ...extra,
  });

  return {
    storage,
    // Retry-After is set by RateLimitGuard; throttler's own headers carry the limit name in their names.
    setHeaders: false,
    throttlers: [
      limit('login-address', rateLimit.loginPerAddress),
      limit('login-account', rateLimit.loginPerAccount, {
        // Without a string email the request fails validation with 400 and never reaches the password check.
        skipIf: (context) => !routeHasLimit(context, 'login-account') || accountOf(context) === null,
        getTracker: (_request, context) => accountOf(context) ?? '',
      }),
      limit('refresh-address', rateLimit.refreshPerAddress),
      limit('register-address', rateLimit.registerPerAddress),
    ],
  };
}

function routeHasLimit(context: ExecutionContext, name: RateLimitName): boolean {
  const names = Reflect.getMetadata(RATE_LIMITS_METADATA, context.getHandler()) as RateLimitName[] | undefined;
  return names?.includes(name) ?? false;
}

function accountOf(context: ExecutionContext): string | null {
  const body = context.switchToHttp().getRequest<{ body?: { email?: unknown } }>().body;
  return typeof body?.email === 'string' ? body.email.trim().toLowerCase() : null;
}
