import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';

import { VERSO_GUARD_OPTIONS } from '../verso-guard/verso-guard.options';
import type { ResolvedVersoGuardOptions } from '../verso-guard/verso-guard.options';
import { openTokenStateDatabase, TokenStateDatabase } from './token-state.database';
import { SessionState, UserState } from './token-state.types';

/**
 * The two reads behind every guard decision, as plain SQL on primary keys:
 * they run on each cache miss, so they skip the query builder.
 */
@Injectable()
export class TokenStateRepository implements OnApplicationShutdown {
  private readonly database: TokenStateDatabase;

  constructor(@Inject(VERSO_GUARD_OPTIONS) options: ResolvedVersoGuardOptions) {
    this.database = openTokenStateDatabase(options);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }

  async findSessionState(sessionId: string): Promise<SessionState | null> {
    const rows = await this.database.query<{ user_id: string; expires_at: Date; revoked: boolean }>(
      'SELECT user_id, expires_at, revoked_at IS NOT NULL AS revoked FROM sessions WHERE id = $1',
      [sessionId],
    );
    if (rows.length === 0) return null;

    const [row] = rows;
    return { userId: row.user_id, expiresAtMs: row.expires_at.getTime(), revoked: row.revoked };
  }

  async findUserState(userId: string): Promise<UserState | null> {
    const rows = await this.database.query<{ token_version: number; role: UserState['role']; locked_at: Date | null; locked_until: Date | null }>(
      'SELECT token_version, role, locked_at, locked_until FROM users WHERE id = $1',
      [userId],
    );
    if (rows.length === 0) return null;

    const [row] = rows;
    return {
      tokenVersion: row.token_version,
      role: row.role,
      lockedAtMs: row.locked_at?.getTime() ?? null,
      lockedUntilMs: row.locked_until?.getTime() ?? null,
    };
  }
}
