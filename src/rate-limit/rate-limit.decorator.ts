import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';

import { RateLimitGuard } from './rate-limit.guard';
import { RATE_LIMITS_METADATA, RateLimitName } from './rate-limits';

/**
 * Count requests to this route against the named limits, and reject with 429
 * and Retry-After once one is exceeded. Only routes that carry it are limited, so
 * the token guard on every other route does no rate-limit work.
 */
export const RateLimit = (...names: RateLimitName[]) => applyDecorators(SetMetadata(RATE_LIMITS_METADATA, names), UseGuards(RateLimitGuard));
