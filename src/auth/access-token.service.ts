import { createHash } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { SigningKeysService } from './keys/signing-keys.service';

export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
  tokenVersion: number;
  // Rotation generation of the session's refresh token when this token was minted.
  generation: number;
  issuedAt: Date;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  sessionId: string;
}

/**
 * Signs access tokens in the RFC 9068 profile. Every claim is a function of
 * the session, its rotation generation and the rotation time. So a refresh
 * replayed inside the grace window gets the same token back: byte for byte
 * with HS256 and RS256, and with the same claims under ES256, whose ECDSA
 * signatures differ on each signing.
 */
@Injectable()
export class AccessTokenService {
  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly jwt: JwtService,
    private readonly keys: SigningKeysService,
  ) {}

  get ttlSeconds(): number {
    return this.config.jwt.accessTokenTtlSeconds;
  }

  sign(subject: AccessTokenSubject): string {
    const key = this.keys.signingKey;
    const iat = Math.floor(subject.issuedAt.getTime() / 1000);
    return this.jwt.sign(
      {
        sub: subject.userId,
        sid: subject.sessionId,
        ver: subject.tokenVersion,
        jti: tokenId(subject.sessionId, subject.generation),
        iat,
        exp: iat + this.config.jwt.accessTokenTtlSeconds,
      },
      {
        algorithm: key.algorithm,
        // A KeyObject for every algorithm, HS256 included: jsonwebtoken takes
        // it as is instead of parsing a string on each call.
        privateKey: key.signingKey,
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        header: { alg: key.algorithm, typ: 'at+jwt', kid: key.kid },
      },
    );
  }
}

/** Derive a UUID-shaped token id, unique per session and rotation. */
function tokenId(sessionId: string, generation: number): string {
  const hex = createHash('sha256').update(`${sessionId}:${generation}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
