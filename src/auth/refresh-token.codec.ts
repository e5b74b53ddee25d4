import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { Injectable } from '@nestjs/common';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';

const SESSION_ID_BYTES = 16;
const GENERATION_BYTES = 4;
const MAC_BYTES = 32;
const TOKEN_BYTES = SESSION_ID_BYTES + GENERATION_BYTES + MAC_BYTES;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{70}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ParsedRefreshToken {
  sessionId: string;
  generation: number;
}

/**
 * Refresh tokens: opaque base64url strings of the session id, a rotation
 * generation and an HMAC-SHA256 over both under REFRESH_TOKEN_SECRET.
 *
 * Why derived instead of random: the server can recompute the successor of
 * any token without storing it. So a retry inside the grace window receives
 * the very same pair, and a token several rotations old is still recognised
 * as this session's and ends it. The database stores only SHA-256 hashes, so
 * a copy of the database alone cannot produce a token.
 */
@Injectable()
export class RefreshTokenCodec {
  private readonly secret: Buffer;

  constructor(@InjectConfig() config: AppConfig) {
    if (!config.sessions.refreshTokenSecret) throw new Error('REFRESH_TOKEN_SECRET is required');
    this.secret = Buffer.from(config.sessions.refreshTokenSecret, 'utf8');
  }

  mint(sessionId: string, generation: number): string {
    const body = Buffer.alloc(SESSION_ID_BYTES + GENERATION_BYTES);
    Buffer.from(sessionId.replace(/-/g, ''), 'hex').copy(body, 0);
    body.writeUInt32BE(generation, SESSION_ID_BYTES);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  /** Parse and authenticate a presented token; null for anything this server did not mint. */
  parse(token: string): ParsedRefreshToken | null {
    if (!TOKEN_PATTERN.test(token)) return null;

    const raw = Buffer.from(token, 'base64url');
    if (raw.length !== TOKEN_BYTES) return null;
    // The last character carries spare bits that decoding ignores, so several
    // spellings decode to one token. Only the one this server wrote counts,
    // because the stored hashes are of that spelling.
    if (raw.toString('base64url') !== token) return null;

    const body = raw.subarray(0, SESSION_ID_BYTES + GENERATION_BYTES);
    if (!timingSafeEqual(raw.subarray(SESSION_ID_BYTES + GENERATION_BYTES), this.mac(body))) return null;

    const hex = body.subarray(0, SESSION_ID_BYTES).toString('hex');
    const sessionId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    if (!UUID_PATTERN.test(sessionId)) return null;
    return { sessionId, generation: body.readUInt32BE(SESSION_ID_BYTES) };
  }

  hash(token: string): Buffer {
    return createHash('sha256').update(token).digest();
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update('verso.refresh.v1').update(body).digest();
  }
}
