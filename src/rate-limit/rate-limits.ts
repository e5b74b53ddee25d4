import { ExecutionContext } from '@nestjs/common';
import { ThrottlerModuleOptions, ThrottlerOptions, ThrottlerStorage } from '@nestjs/throttler';

import { AppConfig } from '../config/configuration';

export type RateLimitName = 'login-account' | 'login-address' | 'refresh-address' | 'register-address' | 'password-user';

export const RATE_LIMITS_METADATA = 'verso:rateLimits';

// IPv6 clients share a bucket per /56 network.
const IPV6_SUBNET_PREFIX = 56;

/**
 * Build the throttler options for the auth routes. Every attempt counts,
 * successful or not. An address is the client address Fastify resolved, which
 * follows X-Forwarded-For only from TRUSTED_PROXIES. An account is the email
 * folded by accountKey(), so a login limit can be escaped neither by changing
 * address nor by respelling the email.
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
    // ISPs often give one home customer a whole /56. Counted per /64,
    // @nestjs/throttler's default, that customer would get 256 times every
    // per-address limit.
    ipv6SubnetPrefix: IPV6_SUBNET_PREFIX,
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
      // A stolen access token must not become a way to guess the current
      // password, one Argon2 check per request; the login limit applies.
      limit('password-user', rateLimit.loginPerAccount, {
        getTracker: (request: { user?: { userId?: string } }) => request.user?.userId ?? '',
      }),
    ],
  };
}

function routeHasLimit(context: ExecutionContext, name: RateLimitName): boolean {
  const names = Reflect.getMetadata(RATE_LIMITS_METADATA, context.getHandler()) as RateLimitName[] | undefined;
  return names?.includes(name) ?? false;
}

function accountOf(context: ExecutionContext): string | null {
  const body = context.switchToHttp().getRequest<{ body?: { email?: unknown } }>().body;
  return typeof body?.email === 'string' ? accountKey(body.email) : null;
}

/**
 * Fold an email at least as far as PostgreSQL's lower() does when login
 * looks the account up, so that no spelling reaching one account gets a
 * bucket of its own. toLowerCase alone differs in two places: it turns İ
 * into i plus a combining dot (lower() gives i) and a word-final Σ into ς
 * (lower() gives σ). Dropping combining marks after NFKD also merges some
 * distinct addresses (josé, jose), which only makes their limit stricter.
 */
export function accountKey(email: string): string {
  return email.trim().normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/ς/g, 'σ');
}
