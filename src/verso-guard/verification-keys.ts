import { createHash, createPublicKey, createSecretKey, JsonWebKey } from 'node:crypto';

import { Logger } from '@nestjs/common';

import type { VerificationKey } from '../auth/keys/signing-keys.service';
import type { SigningAlgorithm } from '../config/configuration';
import { TokenStateUnavailableError } from '../token-state/token-state.types';
import type { ResolvedVersoGuardOptions } from './verso-guard.options';

/** A source of verification keys, looked up by a token's `kid`. verso's SigningKeysService is one. */
export interface VerificationKeySource {
  readonly algorithm: SigningAlgorithm;
  /** The key for `kid`, or undefined when no such key exists. Throws VerificationKeysUnavailableError when it cannot tell. */
  findVerificationKey(kid: string): VerificationKey | undefined | Promise<VerificationKey | undefined>;
}

/** The keys could not be loaded, so no token can be checked: a 503, like a database outage. */
export class VerificationKeysUnavailableError extends TokenStateUnavailableError {
  constructor(cause: unknown) {
    super(cause);
    this.message = 'Verification keys are unavailable';
  }
}

/**
 * Derive the `kid` of an HS256 secret from 64 bits of its SHA-256 digest, so
 * it changes when the secret does and reveals nothing usable about a 32-byte
 * secret. verso signs with this kid, and other services derive the same one.
 */
export function secretKeyId(secret: string): string {
  return createHash('sha256').update(secret).digest().subarray(0, 8).toString('base64url');
}

/** Build the key source that the options name: a static set from `secret` or `keys`, or a JWKS URL. */
export function createKeySource(options: ResolvedVersoGuardOptions): VerificationKeySource {
  const { algorithm } = options;
  if (options.keySource) return options.keySource;
  if (options.jwksUrl) return new JwksKeySource(options.jwksUrl, algorithm);

  const keys: VerificationKey[] = options.secret
    ? options.secret.map((secret) => ({ kid: secretKeyId(secret), algorithm, key: createSecretKey(Buffer.from(secret, 'utf8')) }))
    : (options.keys ?? []).map(({ kid, publicKey }) => ({
        kid,
        algorithm,
        key: typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey,
      }));
  return new StaticKeySource(algorithm, keys);
}

/** A fixed key set, given at start. */
export class StaticKeySource implements VerificationKeySource {
  private readonly keys: Map<string, VerificationKey>;

  constructor(
    readonly algorithm: SigningAlgorithm,
    keys: VerificationKey[],
  ) {
    this.keys = new Map(keys.map((key) => [key.kid, key]));
  }

  findVerificationKey(kid: string): VerificationKey | undefined {
    return this.keys.get(kid);
  }
}

// verso serves its JWKS with max-age=300, so a copy older than that is refreshed.
const JWKS_MAX_AGE_MS = 300_000;
// At most one fetch per interval, so tokens with made-up kids cannot turn into a flood of requests to verso.
const JWKS_MIN_REFETCH_INTERVAL_MS = 10_000;
const JWKS_FETCH_TIMEOUT_MS = 2000;

/**
 * Keys fetched from verso's `/.well-known/jwks.json`. The first check loads
 * them. A token naming an unknown kid causes a refetch, because verso may have
 * started signing with a new key. A copy older than the max age is refreshed
 * in the background while it stays in use. While no key set was ever loaded,
 * or a refetch for an unknown kid failed, a check throws
 * VerificationKeysUnavailableError instead of calling the token invalid.
 */
export class JwksKeySource implements VerificationKeySource {
  private readonly logger = new Logger(JwksKeySource.name);
  private keys: Map<string, VerificationKey> | null = null;
  private loadedAt = 0;
  private lastAttemptAt = 0;
  private lastError: Error | null = null;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly url: string,
    readonly algorithm: SigningAlgorithm,
  ) {}

  async findVerificationKey(kid: string): Promise<VerificationKey | undefined> {
    if (!this.keys) {
      await this.refresh();
      if (!this.keys) throw new VerificationKeysUnavailableError(this.lastError);
    }

    const known = this.keys.get(kid);
    if (known) {
      if (Date.now() - this.loadedAt > JWKS_MAX_AGE_MS) void this.refresh();
      return known;
    }

    await this.refresh();
    const key = this.keys.get(kid);
    if (!key && this.lastError) throw new VerificationKeysUnavailableError(this.lastError);
    return key;
  }

  /** Fetch the key set once per interval at most; concurrent callers share one fetch. */
  private refresh(): Promise<void> {
    if (this.pending) return this.pending;
    if (Date.now() - this.lastAttemptAt < JWKS_MIN_REFETCH_INTERVAL_MS) return Promise.resolve();

    this.lastAttemptAt = Date.now();
    this.pending = this.fetchKeys()
      .then(
        (keys) => {
          this.keys = keys;
          this.loadedAt = Date.now();
          this.lastError = null;
        },
        (error: Error) => {
          this.lastError = error;
          this.logger.warn(`JWKS fetch from ${this.url} failed: ${error.message}`);
        },
      )
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }

  private async fetchKeys(): Promise<Map<string, VerificationKey>> {
    const response = await fetch(this.url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS) });
    if (response.status !== 200) throw new Error(`status ${response.status}`);

    const body = (await response.json()) as { keys?: unknown };
    if (!Array.isArray(body.keys)) throw new Error('the response has no keys array');

    const keys = new Map<string, VerificationKey>();
    for (const jwk of body.keys as Array<JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown }>) {
      // Keys for another algorithm or for encryption are not ours to use.
      if (typeof jwk.kid !== 'string' || (jwk.alg !== undefined && jwk.alg !== this.algorithm) || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      try {
        keys.set(jwk.kid, { kid: jwk.kid, algorithm: this.algorithm, key: createPublicKey({ key: jwk, format: 'jwk' }) });
      } catch (error) {
        this.logger.warn(`Skipped JWKS key ${jwk.kid}: ${(error as Error).message}`);
      }
    }
    return keys;
  }
}
