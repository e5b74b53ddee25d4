import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Send the cache invalidation from the database itself for every change the
 * guard depends on, whoever makes it: verso, its CLI, or an operator with
 * psql. verso also sends its own messages, so each change it makes is
 * announced twice; an eviction is idempotent, and the extra message is cheap.
 * The payload has the shape InvalidationChannelService parses.
 */
export class NotifyTokenStateChanges1764900000000 implements MigrationInterface {
  name = 'NotifyTokenStateChanges1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION verso_notify_token_state() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify(
          'verso_token_state',
          json_build_object(
            'i', 'database',
            't', floor(extract(epoch FROM clock_timestamp()) * 1000),
            'k', json_build_array(CASE TG_TABLE_NAME WHEN 'users' THEN 'u:' ELSE 's:' END || OLD.id)
          )::text
        );
        RETURN NULL;
      END
      $$`);

    await queryRunner.query(`
      CREATE TRIGGER tr_users_token_state_update
        AFTER UPDATE OF role, token_version, locked_at, locked_until ON users
        FOR EACH ROW
        WHEN (OLD.role IS DISTINCT FROM NEW.role
           OR OLD.token_version IS DISTINCT FROM NEW.token_version
           OR OLD.locked_at IS DISTINCT FROM NEW.locked_at
           OR OLD.locked_until IS DISTINCT FROM NEW.locked_until)
        EXECUTE FUNCTION verso_notify_token_state()`);
    await queryRunner.query(`
      CREATE TRIGGER tr_users_token_state_delete
        AFTER DELETE ON users
        FOR EACH ROW EXECUTE FUNCTION verso_notify_token_state()`);

    await queryRunner.query(`
      CREATE TRIGGER tr_sessions_token_state_update
        AFTER UPDATE OF user_id, revoked_at, expires_at ON sessions
        FOR EACH ROW
        WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id
           OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
           OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
        EXECUTE FUNCTION verso_notify_token_state()`);
    // Only live sessions matter to a cache. The periodic cleanup deletes
    // revoked and expired ones in bulk, and they need no message.
    await queryRunner.query(`
      CREATE TRIGGER tr_sessions_token_state_delete
        AFTER DELETE ON sessions
        FOR EACH ROW
        WHEN (OLD.revoked_at IS NULL AND OLD.expires_at > now())
        EXECUTE FUNCTION verso_notify_token_state()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER tr_sessions_token_state_delete ON sessions');
    await queryRunner.query('DROP TRIGGER tr_sessions_token_state_update ON sessions');
    await queryRunner.query('DROP TRIGGER tr_users_token_state_delete ON users');
    await queryRunner.query('DROP TRIGGER tr_users_token_state_update ON users');
    await queryRunner.query('DROP FUNCTION verso_notify_token_state()');
  }
}
