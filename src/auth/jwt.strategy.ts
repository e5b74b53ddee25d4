import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';

import { Principal } from '../token-state/token-state.types';
import { VERSO_GUARD_OPTIONS } from '../verso-guard/verso-guard.options';
import type { ResolvedVersoGuardOptions } from '../verso-guard/verso-guard.options';
import { AccessTokenVerifier } from './access-token.verifier';

export { InvalidAccessTokenError } from './access-token.verifier';

/** Passport name of the strategy; not `jwt`, so a service that has its own `jwt` strategy can use both. */
export const ACCESS_TOKEN_STRATEGY = 'verso-access-token';

type KeyCallback = (error: Error | null, key?: string) => void;

/**
 * The passport-jwt strategy behind the global guard. Every step is the
 * AccessTokenVerifier's, so the guard and introspection cannot disagree:
 * `selectKey` checks the header and picks the key, passport-jwt runs
 * jsonwebtoken with the verifier's options, and `validate` checks the claims
 * and the token state.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, ACCESS_TOKEN_STRATEGY) {
  private readonly onTokenAccepted: ((principal: Principal) => void) | undefined;

  constructor(
    private readonly verifier: AccessTokenVerifier,
    @Inject(VERSO_GUARD_OPTIONS) options: ResolvedVersoGuardOptions,
  ) {
    const { algorithms, issuer, audience, ...jsonWebTokenOptions } = verifier.verifyOptions;
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_request: unknown, rawToken: string, done: KeyCallback) => {
        verifier.selectKey(rawToken).then(
          // A KeyObject: jsonwebtoken 9 takes it as is, though passport-jwt's types name only string and Buffer.
          (key) => done(null, key as unknown as string),
          (error: Error) => done(error),
        );
      },
      algorithms,
      issuer,
      audience,
      ignoreExpiration: false,
      jsonWebTokenOptions,
    });
    this.onTokenAccepted = options.onTokenAccepted;
  }

  async validate(payload: Record<string, unknown>): Promise<Principal> {
    const { principal } = await this.verifier.checkPayload(payload);
    this.onTokenAccepted?.(principal);
    return principal;
  }
}
