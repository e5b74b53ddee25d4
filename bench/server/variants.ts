import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import Redis from 'ioredis';

import { JwtStrategy } from '../../src/auth/jwt.strategy';
import { TokenStateService } from '../../src/token-state/token-state.service';
import { Principal, TokenClaims, TokenRejectedError } from '../../src/token-state/token-state.types';

export type StateCheckMode = 'real' | 'skip';

/**
 * Make the token state check of a running verso switchable. `skip` mode is
 * the signature-only baseline. The real guard and the real passport-jwt
 * strategy stay in place, with the same key object, header checks and claim
 * checks, and only the state check is replaced by one that trusts the
 * verified claims. So the gap between the two modes is the cost of the state
 * lookup and nothing else. The check is always an own property of the
 * service, so switching never changes the object's shape under V8.
 */
export function switchableStateCheck(app: INestApplication): (mode: StateCheckMode) => void {
  const tokenState = app.get(TokenStateService, { strict: false });
  const real = TokenStateService.prototype.check;
  const trustClaims = (claims: TokenClaims): Promise<Principal> => Promise.resolve({ userId: claims.sub, sessionId: claims.sid, role: 'user' });

  tokenState.check = real;
  return (mode) => {
    tokenState.check = mode === 'skip' ? trustClaims : real;
  };
}

/** A lookup that resolves to true when a token id is on the denylist. */
export type DenylistLookup = (jti: string) => Promise<boolean>;

/**
 * Turn a running verso into the per-token denylist design: the signature-only
 * baseline plus one lookup of the token's `jti` per request, after every
 * other check passed, as a denylist service would do it.
 */
export function checkDenylist(app: INestApplication, isDenied: DenylistLookup): void {
  switchableStateCheck(app)('skip');

  const strategy = app.get(JwtStrategy, { strict: false });
  const validate = strategy.validate.bind(strategy);
  strategy.validate = async (payload: Record<string, unknown>): Promise<Principal> => {
    const principal = await validate(payload);
    // validate() has already checked that jti is a non-empty string.
    if (await isDenied(payload.jti as string)) throw new TokenRejectedError('session_revoked');
    return principal;
  };
}

/** Build a denylist lookup in a PostgreSQL table, read through verso's own connection pool. */
export function postgresDenylist(app: INestApplication, table: string): DenylistLookup {
  const dataSource = app.get(DataSource, { strict: false });
  const sql = `SELECT 1 FROM ${table} WHERE jti = $1`;
  return async (jti) => {
    const rows: unknown[] = await dataSource.query(sql, [jti]);
    return rows.length > 0;
  };
}

/** Build a denylist lookup in Redis, which stores one key per denied token id with the token's expiry as its TTL. */
export function redisDenylist(url: string, keyPrefix: string): { lookup: DenylistLookup; close: () => Promise<void> } {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 1000, enableOfflineQueue: true });
  return {
    lookup: async (jti) => (await redis.exists(`${keyPrefix}${jti}`)) === 1,
    close: async () => {
      await redis.quit();
    },
  };
}
