import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AuditEventType =
  | 'register'
  | 'login'
  | 'login_failed'
  | 'refresh_reuse_detected'
  | 'logout_local'
  | 'logout_others'
  | 'logout_global'
  | 'password_changed'
  | 'session_revoked'
  | 'user_locked'
  | 'user_unlocked'
  | 'tokens_revoked'
  | 'admin_session_revoked'
  | 'role_changed'
  | 'admin_denied'
  | 'oauth_revoke';

@Entity({ name: 'audit_events' })
export class AuditEvent {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  type: AuditEventType;

  // The user the event is about; null for a failed login with an unknown email.
  @Column({ name: 'user_id', type: 'uuid', nullable: true })
  userId: string | null;

  // The actor: the user themselves, an admin, or null for the system.
  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId: string | null;

  @Column({ name: 'session_id', type: 'uuid', nullable: true })
  sessionId: string | null;

  @Column({ type: 'inet', nullable: true })
  ip: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  details: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
