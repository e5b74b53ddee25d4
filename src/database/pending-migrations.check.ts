import { Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { StartupError } from '../common/startup-error';

/**
 * Fail the start when the database lacks migrations. With MIGRATIONS_RUN=false
 * on an unmigrated database, verso used to start, report ready and return 500
 * on every route that reads a table. With MIGRATIONS_RUN=true, TypeORM has
 * already applied them while connecting, so the check finds none pending.
 */
@Injectable()
export class PendingMigrationsCheck implements OnModuleInit {
  constructor(private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    let pending: boolean;
    try {
      // Creates TypeORM's migrations table when it is missing, which a role
      // without CREATE on the schema cannot do.
      pending = await this.dataSource.showMigrations();
    } catch (error) {
      throw new StartupError(`Checking the database for pending migrations failed: ${(error as Error).message}. Run npm run migration:run as a role that may create tables.`);
    }
    if (pending) {
      throw new StartupError('The database has pending migrations: apply them with npm run migration:run, or start with MIGRATIONS_RUN=true.');
    }
  }
}
