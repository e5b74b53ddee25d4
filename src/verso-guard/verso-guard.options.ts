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
  /** ES256 or RS256: verso's `/.well-known/jwks.json`, fetched on first use and again when a token names an unknown kid. */
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
const ALGORITHMS: readonly SigningAlgorithm[] = ['HS256', 'ES256', 'RS256'];

/**
 * Return the value if it is a whole number within the bounds, the fallback if
 * it is undefined, and throw naming the option otherwise. Options often come
 * from environment variables: a string "5" as the clock tolerance made
 * jsonwebtoken compare `exp + "5"`, which accepted tokens expired for hours.
 */
function wholeNumber(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`VersoGuardModule: ${name} must be a whole number from ${min} to ${max}, given as a number`);
  }
  return value;
}

/** Return the value if it is a boolean, the fallback if it is undefined, and throw naming the option otherwise; the string "false" is truthy. */
function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new Error(`VersoGuardModule: ${name} must be true or false, given as a boolean`);
  return value;
}

/** Throw naming the option unless the value parses as an http(s) or postgres(ql) URL. */
function assertUrl(name: string, value: string, protocols: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`VersoGuardModule: ${name} must be a URL`);
  }
  if (!protocols.includes(url.protocol)) throw new Error(`VersoGuardModule: ${name} must be a ${protocols.join(' or ')} URL`);
}

/** Fill in defaults and reject contradictory options at start, with a message that names the option. */
export function resolveVersoGuardOptions(options: VersoGuardOptions): ResolvedVersoGuardOptions {
  if (!options.databaseUrl) throw new Error('VersoGuardModule: databaseUrl is required');
  assertUrl('databaseUrl', options.databaseUrl, ['postgres:', 'postgresql:']);
  if (!options.issuer || !options.audience) throw new Error('VersoGuardModule: issuer and audience are required');
  if (!ALGORITHMS.includes(options.algorithm)) {
    throw new Error(`VersoGuardModule: algorithm is required and must be one of ${ALGORITHMS.join(', ')}`);
  }
  if (options.jwksUrl !== undefined) assertUrl('jwksUrl', options.jwksUrl, ['https:', 'http:']);

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
      poolSize: wholeNumber('database.poolSize', options.database?.poolSize, 5, 1, 200),
      connectTimeoutMs: wholeNumber('database.connectTimeoutMs', options.database?.connectTimeoutMs, 1000, 100, 30_000),
      queryTimeoutMs: wholeNumber('database.queryTimeoutMs', options.database?.queryTimeoutMs, 1500, 100, 60_000),
    },
    issuer: options.issuer,
    audience: options.audience,
    algorithm: options.algorithm,
    // The bound of verso's own JWT_CLOCK_TOLERANCE_SECONDS.
    clockToleranceSeconds: wholeNumber('clockToleranceSeconds', options.clockToleranceSeconds, 5, 0, 60),
    secret,
    keys: options.keys,
    jwksUrl: options.jwksUrl,
    keySource: options.keySource,
    cache: {
      enabled: flag('cache.enabled', options.cache?.enabled, true),
      ttlMs: wholeNumber('cache.ttlMs', options.cache?.ttlMs, 30_000, 1, 300_000),
      maxEntries: wholeNumber('cache.maxEntries', options.cache?.maxEntries, 200_000, 1, 10_000_000),
    },
    invalidation: { probeIntervalMs: wholeNumber('invalidation.probeIntervalMs', options.invalidation?.probeIntervalMs, 1000, 100, 60_000) },
    dataSource: options.dataSource,
    onTokenAccepted: options.onTokenAccepted,
    testReadDelayMs: options.testReadDelayMs ?? 0,
  };
}
