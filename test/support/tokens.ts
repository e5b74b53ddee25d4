import { randomUUID } from 'node:crypto';

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
    noTimestamp: true,
    header: { alg: 'HS256', typ: 'at+jwt', kid: secretKeyId(configuredSecret), ...options.header },
  });
}

/** An unsigned token (`alg: none`), which must never pass. */
export function unsignedToken(payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'at+jwt', ...header })}.${encode(payload)}.`;
}
