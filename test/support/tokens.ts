import { createHmac, createSign, KeyObject, randomUUID } from 'node:crypto';

import { sign } from 'jsonwebtoken';

import { AppConfig } from '../../src/config/configuration';
import { secretKeyId } from '../../src/verso-guard/verification-keys';

export interface HandMadeToken {
  /** Claims that replace or, when undefined, remove the defaults. */
  claims?: Record<string, unknown>;
  /** Header fields that replace the defaults (`typ: at+jwt` and the kid of the configured secret). */
  header?: Record<string, unknown>;
  /** Sign with this secret instead of the configured one; the kid still names the configured one. */
  secret?: string;
}

/**
 * Sign an HS256 access token by hand, for tokens that verso would never
 * issue: expired, forged, of the wrong type or with a claim missing. The
 * defaults are those of a token verso would accept for the given session.
 */
export function signAccessToken(config: AppConfig, session: { userId: string; sessionId: string; tokenVersion: number }, options: HandMadeToken = {}): string {
  const configuredSecret = config.jwt.secret;
  if (!configuredSecret) throw new Error('signAccessToken needs an HS256 configuration');

  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: config.jwt.issuer,
    aud: config.jwt.audience,
    sub: session.userId,
    sid: session.sessionId,
    ver: session.tokenVersion,
    jti: randomUUID(),
    iat: now,
    exp: now + config.jwt.accessTokenTtlSeconds,
    ...options.claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];

  return sign(payload, options.secret ?? configuredSecret, {
    algorithm: 'HS256',
    // jsonwebtoken drops a given iat under noTimestamp and adds one without
    // it, so the option only serves a token whose iat was left out on purpose.
    noTimestamp: payload.iat === undefined,
    header: { alg: 'HS256', typ: 'at+jwt', kid: secretKeyId(configuredSecret), ...options.header },
  });
}

/** An unsigned token (`alg: none`), which must never pass. */
export function unsignedToken(payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'at+jwt', ...header })}.${encode(payload)}.`;
}

/**
 * Build compact JWS strings by hand, for attack tests: any header (duplicate
 * keys, odd algorithms, no kid) and any payload text, signed or not.
 */
export function encodeSegment(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return Buffer.from(text, 'utf8').toString('base64url');
}

export function signHs256(signingInput: string, secret: string | Buffer | KeyObject): string {
  return createHmac('sha256', secret).update(signingInput).digest('base64url');
}

export function signEs256(signingInput: string, privateKey: KeyObject): string {
  // JWS wants the raw r||s form, not DER.
  return createSign('sha256').update(signingInput).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

export function signRs256(signingInput: string, privateKey: KeyObject): string {
  return createSign('sha256').update(signingInput).sign(privateKey).toString('base64url');
}

/** Header and payload as objects or raw JSON text, signed with `sign`. */
export function forgeToken(header: unknown, payload: unknown, sign: (signingInput: string) => string): string {
  const signingInput = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  return `${signingInput}.${sign(signingInput)}`;
}

export function decodeSegment<T = Record<string, unknown>>(token: string, index: 0 | 1): T {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8')) as T;
}
