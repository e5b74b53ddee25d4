import { Injectable } from '@nestjs/common';

import { AccessTokenVerifier } from '../auth/access-token.verifier';
import { UserRole } from '../users/user.entity';

/** An RFC 7662 response: the claims of a live access token, or only `active: false`. */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      // RFC 7662 takes token_type from RFC 6749 section 5.1, where it is the scheme; token_use names the kind of token.
      token_type: 'Bearer';
      token_use: 'access_token';
      sub: string;
      sid: string;
      role: UserRole;
      jti: string;
      iss: string;
      aud: string | string[];
      iat: number;
      exp: number;
    };

/**
 * Token introspection. Only access tokens can be active: a refresh token is
 * never accepted as a bearer credential, so it is reported inactive, as is
 * anything the guard would reject.
 */
@Injectable()
export class IntrospectionService {
  constructor(private readonly verifier: AccessTokenVerifier) {}

  async introspect(token: string): Promise<IntrospectionResponse> {
    // The guard's own check: it throws when the state cannot be read, so no active result comes out then.
    const verified = await this.verifier.verifyActive(token);
    if (!verified) return { active: false };

    const { claims, principal } = verified;
    return {
      active: true,
      token_type: 'Bearer',
      token_use: 'access_token',
      sub: claims.sub,
      sid: claims.sid,
      role: principal.role,
      jti: claims.jti,
      iss: claims.iss,
      aud: claims.aud,
      iat: claims.iat,
      exp: claims.exp,
    };
  }
}
