import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateUsersSessionsAudit1764800000000 implements MigrationInterface {
  name = 'CreateUsersSessionsAudit1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE users (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        email text NOT NULL,
        password_hash text NOT NULL,
        role text NOT NULL DEFAULT 'user',
        token_version integer NOT NULL DEFAULT 0,
        locked_at timestamptz,
        lock_reason text,
        locked_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_users PRIMARY KEY (id),
        CONSTRAINT ck_users_role CHECK (role IN ('user', 'admin')),
        CONSTRAINT ck_users_token_version CHECK (token_version >= 0)
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX ux_users_email ON users (lower(email))`);

    await queryRunner.query(`
      CREATE TABLE sessions (
        id uuid NOT NULL,
        user_id uuid NOT NULL,
        refresh_token_hash bytea NOT NULL,
        refresh_generation integer NOT NULL DEFAULT 0,
        previous_refresh_token_hash bytea,
        rotated_at timestamptz,
        user_agent text,
        ip inet,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason text,
        CONSTRAINT pk_sessions PRIMARY KEY (id),
        CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
        CONSTRAINT ck_sessions_revoked CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
      )`);
    await queryRunner.query(`CREATE INDEX ix_sessions_user_live ON sessions (user_id) WHERE revoked_at IS NULL`);
    await queryRunner.query(`CREATE INDEX ix_sessions_expires_at ON sessions (expires_at)`);
    await queryRunner.query(`CREATE INDEX ix_sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL`);

    await queryRunner.query(`
      CREATE TABLE audit_events (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        type text NOT NULL,
        user_id uuid,
        actor_id uuid,
        session_id uuid,
        ip inet,
        user_agent text,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT pk_audit_events PRIMARY KEY (id)
      )`);
    // Audit rows outlive the user on purpose, so there is no foreign key.
    await queryRunner.query(`CREATE INDEX ix_audit_events_user_created ON audit_events (user_id, created_at DESC, id DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_events`);
    await queryRunner.query(`DROP TABLE sessions`);
    await queryRunner.query(`DROP TABLE users`);
  }
}
