import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

import { queryRows } from '../database/query-rows';
import { User, UserRole } from './user.entity';

export interface UserWithPassword extends User {
  passwordHash: string;
}

/** Data access for users. Methods that take a manager run inside the caller's transaction. */
/** The user's state that a login checks again inside its transaction. */
export interface LoginState {
  tokenVersion: number;
  passwordHash: string;
  lockedAt: Date | null;
  lockedUntil: Date | null;
}

@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByEmail(email: string): Promise<User | null> {
    return this.users.createQueryBuilder('user').where('lower(user.email) = lower(:email)', { email }).getOne();
  }

  /** Find a user with the password hash, which no other read selects. */
  findByEmailWithPassword(email: string): Promise<UserWithPassword | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('lower(user.email) = lower(:email)', { email })
      .getOne() as Promise<UserWithPassword | null>;
  }

  findByIdWithPassword(id: string): Promise<UserWithPassword | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.id = :id', { id })
      .getOne() as Promise<UserWithPassword | null>;
  }

  /**
   * Insert a user, or return null when the email is taken. ON CONFLICT makes
   * two concurrent registrations of one address a clean 409, not a 500.
   */
  async insert(manager: EntityManager, email: string, passwordHash: string): Promise<User | null> {
    const rows = await queryRows<{ id: string }>(
      manager,
      `INSERT INTO users (email, password_hash) VALUES ($1, $2)
       ON CONFLICT (lower(email)) DO NOTHING RETURNING id`,
      [email, passwordHash],
    );
    if (rows.length === 0) return null;
    return manager.findOneBy(User, { id: rows[0].id });
  }

  /**
   * Read what a login decided on, under a share lock: the token version, the
   * password hash and the lock. A concurrent password change, lock or version
   * bump either committed before this read, which then returns its result, or
   * waits for the caller's transaction and its new session, and ends that
   * session too.
   */
  async lockForLogin(manager: EntityManager, userId: string): Promise<LoginState | null> {
    const rows = await queryRows<{ token_version: number; password_hash: string; locked_at: Date | null; locked_until: Date | null }>(
      manager,
      'SELECT token_version, password_hash, locked_at, locked_until FROM users WHERE id = $1 FOR SHARE',
      [userId],
    );
    if (rows.length === 0) return null;

    const [row] = rows;
    return { tokenVersion: row.token_version, passwordHash: row.password_hash, lockedAt: row.locked_at, lockedUntil: row.locked_until };
  }

  /** Increment the token version, which kills every access token of the user. */
  async bumpTokenVersion(manager: EntityManager, userId: string): Promise<number | null> {
    const rows = await queryRows<{ token_version: number }>(manager, 
      'UPDATE users SET token_version = token_version + 1, updated_at = now() WHERE id = $1 RETURNING token_version',
      [userId],
    );
    return rows[0]?.token_version ?? null;
  }

  /** Replace the password hash if it is still expectedHash, and bump the version; null when the user is gone or the hash changed. */
  async updatePasswordAndBumpVersion(manager: EntityManager, userId: string, expectedHash: string, passwordHash: string): Promise<number | null> {
    const rows = await queryRows<{ token_version: number }>(
      manager,
      `UPDATE users SET password_hash = $3, token_version = token_version + 1, updated_at = now()
       WHERE id = $1 AND password_hash = $2 RETURNING token_version`,
      [userId, expectedHash, passwordHash],
    );
    return rows[0]?.token_version ?? null;
  }

  async lock(manager: EntityManager, userId: string, reason: string, until: Date | null): Promise<boolean> {
    const rows = await queryRows<unknown>(manager, 
      `UPDATE users SET locked_at = now(), lock_reason = $2, locked_until = $3,
              token_version = token_version + 1, updated_at = now()
       WHERE id = $1 RETURNING id`,
      [userId, reason, until],
    );
    return rows.length > 0;
  }

  async unlock(manager: EntityManager, userId: string): Promise<boolean> {
    const rows = await queryRows<unknown>(manager, 
      `UPDATE users SET locked_at = NULL, lock_reason = NULL, locked_until = NULL, updated_at = now()
       WHERE id = $1 RETURNING id`,
      [userId],
    );
    return rows.length > 0;
  }

  /** Set the role; returns the user id, or null when no user has that email. */
  async setRoleByEmail(manager: EntityManager, email: string, role: UserRole): Promise<string | null> {
    const rows = await queryRows<{ id: string }>(manager, 
      'UPDATE users SET role = $2, updated_at = now() WHERE lower(email) = lower($1) RETURNING id',
      [email, role],
    );
    return rows[0]?.id ?? null;
  }
}
