import { Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { StartupError } from '../common/startup-error';

/**
 * Fail the start when the database lacks migrations. With MIGRATIONS_RUN=false
 * on an unmigrated database, verso used to start, report ready and answer 500
 * on every route that reads a table. With MIGRATIONS_RUN=true, TypeORM has
 * already applied them while connecting, so the check finds none pending.
 */
@Injectable()
export class PendingMigrationsCheck implements OnModuleInit {
  constructor(private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    if (await this.dataSource.showMigrations()) {
      throw new StartupError('The database has pending migrations: apply them with npm run migration:run, or start with MIGRATIONS_RUN=true.');
    }
  }
}
