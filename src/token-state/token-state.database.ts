import { Logger } from '@nestjs/common';
import { Pool } from 'pg';

import type { ResolvedVersoGuardOptions } from '../verso-guard/verso-guard.options';

/** The connection behind the token state reads: verso's own TypeORM pool, or a pool of the guard module's own. */
export interface TokenStateDatabase {
  query<Row>(sql: string, parameters: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

/**
 * Use verso's DataSource when the options carry one, so that verso keeps one
 * pool. Otherwise open a small pool on `databaseUrl` with the same timeouts,
 * which turn a database outage into a quick 503 instead of a hanging request.
 */
export function openTokenStateDatabase(options: ResolvedVersoGuardOptions): TokenStateDatabase {
  const { dataSource } = options;
  if (dataSource) {
    return {
      // For a SELECT, TypeORM's postgres driver returns the rows themselves.
      query: <Row>(sql: string, parameters: unknown[]) => dataSource.query<Row[]>(sql, parameters),
      // The DataSource belongs to verso, which closes it.
      close: async () => undefined,
    };
  }

  const { poolSize, connectTimeoutMs, queryTimeoutMs } = options.database;
  const pool = new Pool({
    connectionString: options.databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: queryTimeoutMs,
    statement_timeout: queryTimeoutMs,
    keepAlive: true,
    application_name: 'verso-guard',
  });
  // An idle connection that dies emits 'error' on the pool; without a listener
  // that would crash the process. The next query opens a new connection.
  const logger = new Logger('TokenStateDatabase');
  pool.on('error', (error) => logger.warn(`Idle token state connection failed: ${error.message}`));

  return {
    query: async <Row>(sql: string, parameters: unknown[]) => (await pool.query(sql, parameters)).rows as Row[],
    close: () => pool.end(),
  };
}
