import type { KeyObject } from 'node:crypto';

import type { DataSource } from 'typeorm';

import type { SigningAlgorithm } from '../config/configuration';
import type { Principal } from '../token-state/token-state.types';
import type { VerificationKeySource } from './verification-keys';

export const VERSO_GUARD_OPTIONS = Symbol('VERSO_GUARD_OPTIONS');

/**
 * Settings of a service's check of verso's access tokens. They name verso's
 * PostgreSQL and the issuer, audience and algorithm to accept. Exactly one of
 * `secret`, `keys`, `jwksUrl` or `keySource` gives the verification keys, and
 * the rest tunes this service's own token state cache.
 */
export interface VersoGuardOptions {
  /** verso's PostgreSQL. The invalidation channel listens on it, and without `dataSource` the state reads use it too. */
  databaseUrl: string;
  database?: {
    /** Connections of the pool for state reads (default 5); unused with `dataSource`. */
    poolSize?: number;
    connectTimeoutMs?: number;
    queryTimeoutMs?: number;
  };

  issuer: string;
  audience: string;
  algorithm: SigningAlgorithm;
  /** Seconds of tolerance on `exp`, `nbf` and `iat` (default 5). */
  clockToleranceSeconds?: number;

  /** HS256 only: verso's JWT_SECRET, or several during a rotation. Anyone holding it can mint tokens. */
  secret?: string | string[];
  /** ES256 or RS256: public keys in PEM (or as KeyObjects), named by the `kid` that verso puts in the token header. */
  keys?: Array<{ kid: string; publicKey: string | KeyObject }>;
  /** ES256 or RS256: verso's `/.well-known/jwks.json`, fetched at start and again when a token names an unknown kid. */
  jwksUrl?: string;
  /** Any other source of verification keys; verso itself passes its SigningKeysService. */
  keySource?: VerificationKeySource;

  cache?: {
    /** Cache token state while the invalidation channel is up (default true). */
    enabled?: boolean;
    /** Age limit of a cached entry even if an invalidation message is lost (default 30000). */
    ttlMs?: number;
    maxEntries?: number;
  };
  invalidation?: {
    /** How often the channel proves that it still works with a message to itself (default 1000). */
    probeIntervalMs?: number;
  };

  /**
   * verso's own TypeORM DataSource. With it, state reads share verso's pool,
   * and `TokenStateService.revoke` can write; a service that only checks
   * tokens leaves it out.
   */
  dataSource?: DataSource;

  /** Register the guard for every route of the application (default true). With forRootAsync, set it beside useFactory. */
  globalGuard?: boolean;

  /**
   * Called after the guard accepts a token, on the request path, so it must
   * be cheap and must not throw. verso records session activity here.
   */
  onTokenAccepted?: (principal: Principal) => void;

  /**
   * Fault injection for tests: each state read keeps its result this long
   * after the database returned it, to force a read to race a revocation.
   * verso sets it only with NODE_ENV=test, so leave it out anywhere else.
   */
  testReadDelayMs?: number;
}

/** The options with every default filled in. */
export interface ResolvedVersoGuardOptions {
  databaseUrl: string;
  database: { poolSize: number; connectTimeoutMs: number; queryTimeoutMs: number };
  issuer: string;
  audience: string;
  algorithm: SigningAlgorithm;
  clockToleranceSeconds: number;
  secret?: string[];
  keys?: Array<{ kid: string; publicKey: string | KeyObject }>;
  jwksUrl?: string;
  keySource?: VerificationKeySource;
  cache: { enabled: boolean; ttlMs: number; maxEntries: number };
  invalidation: { probeIntervalMs: number };
  dataSource?: DataSource;
  onTokenAccepted?: (principal: Principal) => void;
  testReadDelayMs: number;
}

const MIN_SECRET_BYTES = 32;

/** Fill in defaults and reject contradictory options at start, with a message that names the option. */
export function resolveVersoGuardOptions(options: VersoGuardOptions): ResolvedVersoGuardOptions {
  if (!options.databaseUrl) throw new Error('VersoGuardModule: databaseUrl is required');
  if (!options.issuer || !options.audience) throw new Error('VersoGuardModule: issuer and audience are required');

  const secret = options.secret === undefined ? undefined : [options.secret].flat();
  const sources = [secret, options.keys, options.jwksUrl, options.keySource].filter((source) => source !== undefined);
  if (sources.length !== 1) throw new Error('VersoGuardModule: set exactly one of secret, keys, jwksUrl or keySource');

  if (secret) {
    if (options.algorithm !== 'HS256') throw new Error(`VersoGuardModule: secret needs algorithm HS256, not ${options.algorithm}`);
    if (secret.length === 0 || secret.some((value) => Buffer.byteLength(value) < MIN_SECRET_BYTES)) {
      throw new Error(`VersoGuardModule: each secret must be at least ${MIN_SECRET_BYTES} bytes long`);
    }
  }
  if ((options.keys || options.jwksUrl) && options.algorithm === 'HS256') {
    throw new Error('VersoGuardModule: keys and jwksUrl are for ES256 or RS256; HS256 needs secret');
  }

  return {
    databaseUrl: options.databaseUrl,
    database: {
      poolSize: options.database?.poolSize ?? 5,
      connectTimeoutMs: options.database?.connectTimeoutMs ?? 1000,
      queryTimeoutMs: options.database?.queryTimeoutMs ?? 1500,
    },
    issuer: options.issuer,
    audience: options.audience,
    algorithm: options.algorithm,
    clockToleranceSeconds: options.clockToleranceSeconds ?? 5,
    secret,
    keys: options.keys,
    jwksUrl: options.jwksUrl,
    keySource: options.keySource,
    cache: {
      enabled: options.cache?.enabled ?? true,
      ttlMs: options.cache?.ttlMs ?? 30_000,
      maxEntries: options.cache?.maxEntries ?? 200_000,
    },
    invalidation: { probeIntervalMs: options.invalidation?.probeIntervalMs ?? 1000 },
    dataSource: options.dataSource,
    onTokenAccepted: options.onTokenAccepted,
    testReadDelayMs: options.testReadDelayMs ?? 0,
  };
}
