import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type UserRole = 'user' | 'admin';

@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  // Unique by lower(email), so two spellings of one address cannot both register.
  @Column({ type: 'text' })
  email: string;

  // Never selected unless a query requests it by name.
  @Column({ name: 'password_hash', type: 'text', select: false })
  passwordHash: string;

  @Column({ type: 'text', default: 'user' })
  role: UserRole;

  @Column({ name: 'token_version', type: 'integer', default: 0 })
  tokenVersion: number;

  @Column({ name: 'locked_at', type: 'timestamptz', nullable: true })
  lockedAt: Date | null;

  @Column({ name: 'lock_reason', type: 'text', nullable: true })
  lockReason: string | null;

  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** Return whether a lock is in force: it has no end, or its end is still ahead. */
export function isLocked(user: Pick<User, 'lockedAt' | 'lockedUntil'>, now = Date.now()): boolean {
  if (!user.lockedAt) return false;
  return user.lockedUntil === null || user.lockedUntil.getTime() > now;
}
