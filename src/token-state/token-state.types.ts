import { UserRole } from '../users/user.entity';

/** The state of one session that the guard compares. */
export interface SessionState {
  userId: string;
  expiresAtMs: number;
  revoked: boolean;
}

/** The state of one user that the guard compares. */
export interface UserState {
  tokenVersion: number;
  role: UserRole;
  lockedAtMs: number | null;
  lockedUntilMs: number | null;
}

/** The claims of a verified access token that the state check compares. */
export interface TokenClaims {
  sub: string;
  sid: string;
  ver: number;
}

/** The caller of a guarded route, as the guard hands it to controllers. */
export interface Principal {
  userId: string;
  sessionId: string;
  role: UserRole;
}

export type RejectReason =
  | 'session_not_found'
  | 'session_revoked'
  | 'session_expired'
  | 'session_owner_mismatch'
  | 'user_not_found'
  | 'version_mismatch'
  | 'user_locked';

/** The token is well formed and signed, but its session or version is no longer live. */
export class TokenRejectedError extends Error {
  constructor(readonly reason: RejectReason) {
    super(`Token rejected: ${reason}`);
  }
}

/** The token state could not be read, so no decision can be made. */
export class TokenStateUnavailableError extends Error {
  constructor(cause: unknown) {
    super('Token state is unavailable', { cause });
  }
}

export const sessionKey = (sessionId: string) => `s:${sessionId}`;
export const userKey = (userId: string) => `u:${userId}`;
