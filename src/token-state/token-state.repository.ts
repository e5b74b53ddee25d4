import { setTimeout as sleep } from 'node:timers/promises';

import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';

import { VERSO_GUARD_OPTIONS } from '../verso-guard/verso-guard.options';
import type { ResolvedVersoGuardOptions } from '../verso-guard/verso-guard.options';
import { openTokenStateDatabase, TokenStateDatabase } from './token-state.database';
import { SessionState, UserState } from './token-state.types';

// Exported so that the query-count test can recognise these reads on the wire.
export const SESSION_STATE_SQL = 'SELECT user_id, expires_at, revoked_at IS NOT NULL AS revoked FROM sessions WHERE id = $1';
export const USER_STATE_SQL = 'SELECT token_version, role, locked_at, locked_until FROM users WHERE id = $1';

/**
 * The two reads behind every guard decision, as plain SQL on primary keys:
 * they run on each cache miss, so they skip the query builder.
 */
@Injectable()
export class TokenStateRepository implements OnApplicationShutdown {
  private readonly database: TokenStateDatabase;
  private readonly readDelayMs: number;

  constructor(@Inject(VERSO_GUARD_OPTIONS) options: ResolvedVersoGuardOptions) {
    this.database = openTokenStateDatabase(options);
    // Fault injection for tests (TOKEN_STATE_READ_DELAY_MS, honoured only with
    // NODE_ENV=test). Each read keeps its result this long after the database
    // returned it, so a revocation can commit and be announced while a read of
    // the old state is still in flight. That is the race a cache fill must lose.
    this.readDelayMs = options.testReadDelayMs;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }

  async findSessionState(sessionId: string): Promise<SessionState | null> {
    const rows = await this.database.query<{ user_id: string; expires_at: Date; revoked: boolean }>(SESSION_STATE_SQL, [sessionId]);
    if (this.readDelayMs > 0) await sleep(this.readDelayMs);
    if (rows.length === 0) return null;

    const [row] = rows;
    return { userId: row.user_id, expiresAtMs: row.expires_at.getTime(), revoked: row.revoked };
  }

  async findUserState(userId: string): Promise<UserState | null> {
    const rows = await this.database.query<{ token_version: number; role: UserState['role']; locked_at: Date | null; locked_until: Date | null }>(
      USER_STATE_SQL,
      [userId],
    );
    if (this.readDelayMs > 0) await sleep(this.readDelayMs);
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
