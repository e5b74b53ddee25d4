import { KeyObject } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import { JsonWebTokenError, verify, VerifyOptions } from 'jsonwebtoken';

import { TokenStateService } from '../token-state/token-state.service';
import { Principal, TokenRejectedError } from '../token-state/token-state.types';
import { createKeySource, VerificationKeySource } from '../verso-guard/verification-keys';
import { VERSO_GUARD_OPTIONS } from '../verso-guard/verso-guard.options';
import type { ResolvedVersoGuardOptions } from '../verso-guard/verso-guard.options';
import type { SigningAlgorithm } from '../config/configuration';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A JWT check failed; the message is for logs, the client sees one generic 401. */
export class InvalidAccessTokenError extends Error {}

/** The claims of an access token whose signature and claim types were checked. */
export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  sid: string;
  ver: number;
  jti: string;
  iat: number;
  exp: number;
}

export interface VerifiedAccessToken {
  claims: AccessTokenClaims;
  principal: Principal;
}

/**
 * The one place that decides whether an access token is live. The guard's
 * passport-jwt strategy and introspection share every step: the header check
 * (`selectKey`), jsonwebtoken with one options object (`verifyOptions`), the
 * claim checks and the token state check (`checkPayload`). So the two cannot
 * disagree.
 *
 * jsonwebtoken checks the signature, the pinned algorithm, `iss`, `aud`, `exp`
 * and `nbf`. The header is checked first (`typ: at+jwt`, a known `kid`), and
 * the claims after: every claim present with its type, and `iat` not in the
 * future. Then the token state decides whether the session and version are
 * still live.
 */
@Injectable()
export class AccessTokenVerifier {
  private readonly keys: VerificationKeySource;
  /** Options for jsonwebtoken's verify, given as they are to passport-jwt too. */
  readonly verifyOptions: VerifyOptions & { algorithms: [SigningAlgorithm]; issuer: string; audience: string };

  constructor(
    @Inject(VERSO_GUARD_OPTIONS) private readonly options: ResolvedVersoGuardOptions,
    private readonly tokenState: TokenStateService,
  ) {
    this.keys = createKeySource(options);
    this.verifyOptions = {
      algorithms: [this.keys.algorithm],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: options.clockToleranceSeconds,
      ignoreExpiration: false,
    };
  }

  /**
   * Return the claims and principal of a live token. Throws
   * InvalidAccessTokenError for a token that is malformed, forged or expired,
   * TokenRejectedError for one whose session or version is no longer live, and
   * TokenStateUnavailableError when that cannot be decided now.
   */
  async verify(token: string): Promise<VerifiedAccessToken> {
    const key = await this.selectKey(token);
    return this.checkPayload(this.verifySignature(token, key));
  }

  /** Check the claims of a payload whose signature is verified, then the token state. */
  async checkPayload(payload: Record<string, unknown>): Promise<VerifiedAccessToken> {
    const claims = this.checkClaims(payload);
    const principal = await this.tokenState.check(claims);
    return { claims, principal };
  }

  /** Like `verify`, but null for a token that is invalid or no longer live; throws only when no decision is possible. */
  async verifyActive(token: string): Promise<VerifiedAccessToken | null> {
    try {
      return await this.verify(token);
    } catch (error) {
      if (error instanceof InvalidAccessTokenError || error instanceof TokenRejectedError) return null;
      throw error;
    }
  }

  /** Pick the verification key named by the token header, after checking `alg`, `typ` and `kid`. */
  async selectKey(token: string): Promise<KeyObject> {
    if (!JWT_PATTERN.test(token)) throw new InvalidAccessTokenError('not a compact JWS');

    let header: { alg?: unknown; typ?: unknown; kid?: unknown; crit?: unknown };
    try {
      header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')) as typeof header;
    } catch {
      throw new InvalidAccessTokenError('header is not JSON');
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new InvalidAccessTokenError('header is not an object');
    if (header.alg !== this.keys.algorithm) throw new InvalidAccessTokenError('alg is not the configured algorithm');
    // RFC 9068 section 4: reject anything but at+jwt, so an ID token or another
    // JWT signed with the same key is never taken for an access token.
    if (typeof header.typ !== 'string' || !/^(application\/)?at\+jwt$/i.test(header.typ)) {
      throw new InvalidAccessTokenError('typ is not at+jwt');
    }
    // RFC 7515 section 4.1.11: a recipient must reject extensions it does not
    // understand, and verso understands none (jsonwebtoken ignores `crit`).
    if (header.crit !== undefined) throw new InvalidAccessTokenError('crit names extensions this service does not support');
    if (typeof header.kid !== 'string') throw new InvalidAccessTokenError('kid is missing');

    const key = await this.keys.findVerificationKey(header.kid);
    if (!key) throw new InvalidAccessTokenError('kid names no known key');
    return key.key;
  }

  private verifySignature(token: string, key: KeyObject): Record<string, unknown> {
    let payload: unknown;
    try {
      // A KeyObject for every algorithm: jsonwebtoken given a string builds a key on every call.
      payload = verify(token, key, this.verifyOptions);
    } catch (error) {
      // Not only JsonWebTokenError: a malformed ES256 signature makes the
      // signature library throw a TypeError. Nothing in here depends on the
      // database, so every failure means the token is invalid.
      throw new InvalidAccessTokenError(error instanceof JsonWebTokenError ? error.message : `signature check failed: ${(error as Error).message}`);
    }
    if (payload === null || typeof payload !== 'object') throw new InvalidAccessTokenError('payload is not a JSON object');
    return payload as Record<string, unknown>;
  }

  private checkClaims(payload: Record<string, unknown>): AccessTokenClaims {
    const { iss, aud, sub, sid, ver, jti, iat, exp } = payload;
    if (typeof sub !== 'string' || !UUID_PATTERN.test(sub)) throw new InvalidAccessTokenError('sub is missing or not a UUID');
    if (typeof sid !== 'string' || !UUID_PATTERN.test(sid)) throw new InvalidAccessTokenError('sid is missing or not a UUID');
    if (typeof ver !== 'number' || !Number.isSafeInteger(ver) || ver < 0) {
      throw new InvalidAccessTokenError('ver is missing or not a non-negative integer');
    }
    if (typeof jti !== 'string' || jti.length === 0) throw new InvalidAccessTokenError('jti is missing');
    // jsonwebtoken only checks exp when present, so a token without one would never expire.
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new InvalidAccessTokenError('exp is missing');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new InvalidAccessTokenError('iat is missing');
    if (iat > Date.now() / 1000 + this.options.clockToleranceSeconds) throw new InvalidAccessTokenError('iat is in the future');

    // jsonwebtoken already matched both against the options, so only their types remain to state.
    return { iss: iss as string, aud: aud as string | string[], sub, sid, ver, jti, iat, exp };
  }
}
