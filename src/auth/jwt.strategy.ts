import { KeyObject } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy, VerifiedCallback } from 'passport-jwt';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { SessionActivityService } from '../sessions/session-activity.service';
import { TokenStateService } from '../token-state/token-state.service';
import { Principal } from '../token-state/token-state.types';
import { SigningKeysService } from './keys/signing-keys.service';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A JWT check failed; the message is for logs, the client sees one generic 401. */
export class InvalidAccessTokenError extends Error {}

/**
 * The passport-jwt strategy behind the global guard. passport-jwt (through
 * jsonwebtoken) checks the signature, the pinned algorithm, `iss`, `aud`,
 * `exp` and `nbf`. The header is checked here first (`typ: at+jwt`, a known
 * `kid`), and `validate` checks what jsonwebtoken does not: that every claim
 * is present with its type, and that `iat` is not in the future. Then the
 * token state decides whether the session and version are still live.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly clockToleranceSeconds: number;

  constructor(
    @InjectConfig() config: AppConfig,
    keys: SigningKeysService,
    private readonly tokenState: TokenStateService,
    private readonly activity: SessionActivityService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_request: unknown, rawToken: string, done: (error: Error | null, key?: string) => void) => {
        const result = selectKey(keys, rawToken);
        if (result instanceof Error) done(result);
        // A KeyObject: jsonwebtoken 9 accepts it, though passport-jwt's types say string or Buffer.
        else done(null, result as unknown as string);
      },
      algorithms: [config.jwt.algorithm],
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: config.jwt.clockToleranceSeconds },
    });
    this.clockToleranceSeconds = config.jwt.clockToleranceSeconds;
  }

  async validate(payload: Record<string, unknown>, _done?: VerifiedCallback): Promise<Principal> {
    const { sub, sid, ver, jti, iat, exp } = payload;
    if (typeof sub !== 'string' || !UUID_PATTERN.test(sub)) throw new InvalidAccessTokenError('sub is missing or not a UUID');
    if (typeof sid !== 'string' || !UUID_PATTERN.test(sid)) throw new InvalidAccessTokenError('sid is missing or not a UUID');
    if (typeof ver !== 'number' || !Number.isSafeInteger(ver) || ver < 0) {
      throw new InvalidAccessTokenError('ver is missing or not a non-negative integer');
    }
    if (typeof jti !== 'string' || jti.length === 0) throw new InvalidAccessTokenError('jti is missing');
    // jsonwebtoken only checks exp when present, so a token without one would never expire.
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new InvalidAccessTokenError('exp is missing');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new InvalidAccessTokenError('iat is missing');
    if (iat > Date.now() / 1000 + this.clockToleranceSeconds) throw new InvalidAccessTokenError('iat is in the future');

    const principal = await this.tokenState.check({ sub, sid, ver });
    this.activity.record(sid);
    return principal;
  }
}

/** Pick the verification key named by the token header, after checking `alg`, `typ` and `kid`. */
function selectKey(keys: SigningKeysService, rawToken: string): KeyObject | InvalidAccessTokenError {
  if (!JWT_PATTERN.test(rawToken)) return new InvalidAccessTokenError('not a compact JWS');

  let header: { alg?: unknown; typ?: unknown; kid?: unknown; crit?: unknown };
  try {
    header = JSON.parse(Buffer.from(rawToken.slice(0, rawToken.indexOf('.')), 'base64url').toString('utf8')) as typeof header;
  } catch {
    return new InvalidAccessTokenError('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return new InvalidAccessTokenError('header is not an object');
  if (header.alg !== keys.algorithm) return new InvalidAccessTokenError('alg is not the configured algorithm');
  // RFC 9068 section 4: reject anything but at+jwt, so an ID token or another
  // JWT signed with the same key is never taken for an access token.
  if (typeof header.typ !== 'string' || !/^(application\/)?at\+jwt$/i.test(header.typ)) {
    return new InvalidAccessTokenError('typ is not at+jwt');
  }
  // RFC 7515 section 4.1.11: a recipient must reject extensions it does not
  // understand, and verso understands none (jsonwebtoken ignores `crit`).
  if (header.crit !== undefined) return new InvalidAccessTokenError('crit names extensions this service does not support');
  if (typeof header.kid !== 'string') return new InvalidAccessTokenError('kid is missing');

  const key = keys.findVerificationKey(header.kid);
  if (!key) return new InvalidAccessTokenError('kid names no known key');
  return key.key;
}
