import { Command, CommandRunner } from 'nest-commander';

import { CliDatabaseService } from './cli-database.service';
import { printResult } from './cli-output';

@Command({ name: 'migrations:run', description: 'Apply every pending migration, each in its own transaction.' })
export class RunMigrationsCommand extends CommandRunner {
  constructor(private readonly database: CliDatabaseService) {
    super();
  }

  async run(): Promise<void> {
    const applied = await this.database.withDataSource((dataSource) => dataSource.runMigrations({ transaction: 'each' }));
    if (applied.length === 0) printResult('No pending migrations.');
    for (const migration of applied) printResult(`Applied ${migration.name}.`);
  }
}
