import { DynamicModule, Module } from '@nestjs/common';

import { AppConfigModule } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { CliDatabaseService } from './cli-database.service';
import { DemoteUserCommand } from './demote-user.command';
import { PromoteUserCommand } from './promote-user.command';
import { RevertMigrationCommand } from './revert-migration.command';
import { RoleChangeService } from './role-change.service';
import { RunMigrationsCommand } from './run-migrations.command';

/**
 * The operator commands. No database connection is opened at start: each
 * command opens one when it runs, so `--help` needs no database.
 */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [AppConfigModule.forRoot(config)],
      providers: [CliDatabaseService, RoleChangeService, PromoteUserCommand, DemoteUserCommand, RunMigrationsCommand, RevertMigrationCommand],
    };
  }
}
