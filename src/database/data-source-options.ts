import { join } from 'node:path';

import { DataSourceOptions } from 'typeorm';

import { AuditEvent } from '../audit/audit-event.entity';
import { AppConfig } from '../config/configuration';
import { Session } from '../sessions/session.entity';
import { User } from '../users/user.entity';

export const ENTITIES = [User, Session, AuditEvent];

/**
 * TypeORM options shared by the server, the CLI and the tests. The pool and
 * query timeouts are what turn a database outage into a quick 503 instead of a
 * request that hangs.
 */
export function buildDataSourceOptions(config: AppConfig, url: string): DataSourceOptions {
  const { database } = config;
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    // Compiled migrations sit next to dist/src, so this path works from both
    // the build output and ts sources run by Jest.
    migrations: [join(__dirname, '..', '..', 'migrations', '*.{js,ts}')],
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    logging: false,
    applicationName: 'verso',
    connectTimeoutMS: database.connectTimeoutMs,
    poolSize: database.poolSize,
    extra: {
      connectionTimeoutMillis: database.connectTimeoutMs,
      query_timeout: database.queryTimeoutMs,
      statement_timeout: database.queryTimeoutMs,
      idle_in_transaction_session_timeout: database.queryTimeoutMs * 4,
      keepAlive: true,
    },
  };
}
