import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-strategy';

import { Principal } from '../token-state/token-state.types';
import { AccessTokenVerifier } from './access-token.verifier';

export { InvalidAccessTokenError } from './access-token.verifier';

/** Passport name of the strategy; not `jwt`, so a service that has its own `jwt` strategy can use both. */
export const ACCESS_TOKEN_STRATEGY = 'verso-access-token';

type VerifyCallback = (token: string, done: (error: unknown, principal?: Principal | false) => void) => void;

/**
 * A passport strategy that takes the bearer token from the Authorization
 * header and hands it, unparsed, to the verify callback. Signature, claims and
 * state are all checked by AccessTokenVerifier, the code that introspection
 * uses too, instead of by passport-jwt.
 */
class BearerTokenStrategy extends Strategy {
  constructor(private readonly verifyToken: VerifyCallback) {
    super();
  }

  override authenticate(request: { headers: Record<string, string | string[] | undefined> }): void {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
    if (!match) {
      this.fail(undefined, 401);
      return;
    }

    this.verifyToken(match[1], (error, principal) => {
      if (error) this.error(error as Error);
      else if (!principal) this.fail(undefined, 401);
      else this.success(principal);
    });
  }
}

/** The strategy behind the global guard: every check happens in AccessTokenVerifier. */
@Injectable()
export class JwtStrategy extends PassportStrategy(BearerTokenStrategy, ACCESS_TOKEN_STRATEGY) {
  constructor(private readonly verifier: AccessTokenVerifier) {
    super();
  }

  async validate(token: string): Promise<Principal> {
    const { principal } = await this.verifier.verify(token);
    return principal;
  }
}
