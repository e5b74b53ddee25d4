import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, IsNull, MoreThan, Repository } from 'typeorm';

import { queryRows } from '../database/query-rows';
import { RevokeReason, Session } from './session.entity';

export interface NewSession {
  id: string;
  userId: string;
  refreshTokenHash: Buffer;
  userAgent: string | null;
  ip: string | null;
  ttlSeconds: number;
}

export interface RotationResult {
  userId: string;
  tokenVersion: number;
  role: 'user' | 'admin';
  rotatedAt: Date;
}

export interface RefreshCandidate {
  id: string;
  userId: string;
  refreshGeneration: number;
  previousRefreshTokenHash: Buffer | null;
  rotatedAt: Date | null;
  /** Whether the last rotation is at most the grace window old, by the database's clock. */
  rotatedWithinGrace: boolean;
  isLive: boolean;
  tokenVersion: number;
  role: 'user' | 'admin';
}

/** Data access for sessions. Methods that take a manager run inside the caller's transaction. */
@Injectable()
export class SessionsRepository {
  constructor(@InjectRepository(Session) private readonly sessions: Repository<Session>) {}

  async create(manager: EntityManager, session: NewSession): Promise<Session> {
    const rows = await queryRows<{ created_at: Date; expires_at: Date }>(
      manager,
      `INSERT INTO sessions (id, user_id, refresh_token_hash, user_agent, ip, created_at, last_used_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, now(), now(), now() + make_interval(secs => $6))
       RETURNING created_at, expires_at`,
      [session.id, session.userId, session.refreshTokenHash, session.userAgent, session.ip, session.ttlSeconds],
    );
    return Object.assign(new Session(), {
      ...session,
      refreshGeneration: 0,
      createdAt: rows[0].created_at,
      lastUsedAt: rows[0].created_at,
      expiresAt: rows[0].expires_at,
    });
  }

  /**
   * Rotate the refresh token with one compare-and-swap: the row changes only
   * if the presented hash is still the current one and the session, its owner
   * and its idle window are live. Of two concurrent calls exactly one gets a
   * row back; the other gets null, a normal outcome the caller handles.
   */
  async rotateRefreshToken(
    sessionId: string,
    presentedHash: Buffer,
    nextHash: Buffer,
    nextGeneration: number,
    idleTimeoutSeconds: number,
  ): Promise<RotationResult | null> {
    const rows = await queryRows<{ user_id: string; token_version: number; role: 'user' | 'admin'; rotated_at: Date }>(
      this.sessions,
      `UPDATE sessions s
          SET previous_refresh_token_hash = s.refresh_token_hash,
              refresh_token_hash = $3,
              refresh_generation = $4,
              rotated_at = clock_timestamp(),
              last_used_at = clock_timestamp()
         FROM users u
        WHERE s.id = $1
          AND s.refresh_token_hash = $2
          AND s.refresh_generation = $4 - 1
          AND s.revoked_at IS NULL
          AND s.expires_at > now()
          AND s.last_used_at > now() - make_interval(secs => $5)
          AND u.id = s.user_id
          AND (u.locked_at IS NULL OR u.locked_until <= now())
        RETURNING s.user_id, u.token_version, u.role, s.rotated_at`,
      [sessionId, presentedHash, nextHash, nextGeneration, idleTimeoutSeconds],
    );
    if (rows.length === 0) return null;

    const [row] = rows;
    return { userId: row.user_id, tokenVersion: row.token_version, role: row.role, rotatedAt: row.rotated_at };
  }

  /** Read what a refresh that lost its compare-and-swap needs to decide between grace, reuse and rejection. */
  async findRefreshCandidate(sessionId: string, idleTimeoutSeconds: number, graceSeconds: number): Promise<RefreshCandidate | null> {
    const rows = await queryRows<{
      id: string;
      user_id: string;
      refresh_generation: number;
      previous_refresh_token_hash: Buffer | null;
      rotated_at: Date | null;
      rotated_within_grace: boolean;
      is_live: boolean;
      token_version: number;
      role: 'user' | 'admin';
    }>(
      this.sessions,
      // The grace window is measured by the clock that stamped rotated_at, so
      // a clock difference between verso and PostgreSQL cannot stretch it.
      `SELECT s.id, s.user_id, s.refresh_generation, s.previous_refresh_token_hash, s.rotated_at,
              (s.rotated_at IS NOT NULL AND clock_timestamp() - s.rotated_at <= make_interval(secs => $3)) AS rotated_within_grace,
              (s.revoked_at IS NULL AND s.expires_at > now()
               AND s.last_used_at > now() - make_interval(secs => $2)
               AND (u.locked_at IS NULL OR u.locked_until <= now())) AS is_live,
              u.token_version, u.role
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1`,
      [sessionId, idleTimeoutSeconds, graceSeconds],
    );
    if (rows.length === 0) return null;

    const [row] = rows;
    return {
      id: row.id,
      userId: row.user_id,
      refreshGeneration: row.refresh_generation,
      previousRefreshTokenHash: row.previous_refresh_token_hash,
      rotatedAt: row.rotated_at,
      rotatedWithinGrace: row.rotated_within_grace,
      isLive: row.is_live,
      tokenVersion: row.token_version,
      role: row.role,
    };
  }

  /**
   * Move a live session to the next refresh token inside the caller's
   * transaction, as a password change does. The previous hash is cleared, so
   * the replaced token gets no grace window: presented again, it counts as reuse.
   */
  async replaceRefreshToken(manager: EntityManager, sessionId: string, nextHash: Buffer): Promise<{ generation: number; rotatedAt: Date } | null> {
    const rows = await queryRows<{ refresh_generation: number; rotated_at: Date }>(
      manager,
      `UPDATE sessions
          SET previous_refresh_token_hash = NULL,
              refresh_token_hash = $2,
              refresh_generation = refresh_generation + 1,
              rotated_at = clock_timestamp(),
              last_used_at = clock_timestamp()
        WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()
        RETURNING refresh_generation, rotated_at`,
      [sessionId, nextHash],
    );
    return rows.length === 0 ? null : { generation: rows[0].refresh_generation, rotatedAt: rows[0].rotated_at };
  }

  /** Return the session's refresh generation under a row lock, because the next token is derived from it. */
  async findGenerationForUpdate(manager: EntityManager, sessionId: string): Promise<number | null> {
    const rows = await queryRows<{ refresh_generation: number }>(
      manager,
      'SELECT refresh_generation FROM sessions WHERE id = $1 AND revoked_at IS NULL FOR UPDATE',
      [sessionId],
    );
    return rows[0]?.refresh_generation ?? null;
  }

  /**
   * Revoke one live session; with userId, only if that user owns it, so
   * "not found" and "not yours" are one outcome. Returns its owner, or null.
   */
  async revoke(manager: EntityManager, sessionId: string, reason: RevokeReason, userId?: string): Promise<string | null> {
    const rows = await queryRows<{ user_id: string }>(
      manager,
      `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
        WHERE id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR user_id = $3)
        RETURNING user_id`,
      [sessionId, reason, userId ?? null],
    );
    return rows[0]?.user_id ?? null;
  }

  /** Revoke every live session of a user, optionally but one; returns the revoked ids. */
  async revokeAllForUser(manager: EntityManager, userId: string, reason: RevokeReason, exceptSessionId?: string): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      manager,
      `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
        WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3)
        RETURNING id`,
      [userId, reason, exceptSessionId ?? null],
    );
    return rows.map((row) => row.id);
  }

  findLiveByUser(userId: string): Promise<Session[]> {
    return this.sessions.find({
      where: { userId, revokedAt: IsNull(), expiresAt: MoreThan(new Date()) },
      order: { createdAt: 'DESC' },
    });
  }

  findAllByUser(userId: string): Promise<Session[]> {
    return this.sessions.find({ where: { userId }, order: { createdAt: 'DESC' }, take: 500 });
  }

  /** Touch last_used_at, but at most once a minute per session, to keep writes off the request path. */
  async touch(sessionIds: string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    await this.sessions.query(
      `UPDATE sessions SET last_used_at = now()
        WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL AND last_used_at < now() - interval '1 minute'`,
      [sessionIds],
    );
  }

  /**
   * Delete sessions that ended longer ago than the retention: by their
   * absolute expiry, by idle timeout, or by revocation. Returns the count.
   */
  async deleteStale(retentionSeconds: number, idleTimeoutSeconds: number): Promise<number> {
    const rows = await queryRows<{ id: string }>(
      this.sessions,
      `DELETE FROM sessions
        WHERE expires_at < now() - make_interval(secs => $1)
           OR revoked_at < now() - make_interval(secs => $1)
           OR last_used_at < now() - make_interval(secs => $1 + $2)
        RETURNING id`,
      [retentionSeconds, idleTimeoutSeconds],
    );
    return rows.length;
  }
}
