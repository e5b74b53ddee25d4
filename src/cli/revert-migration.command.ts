import { Command, CommandRunner } from 'nest-commander';
import { DataSource } from 'typeorm';

import { CliDatabaseService } from './cli-database.service';
import { printResult } from './cli-output';

@Command({ name: 'migrations:revert', description: 'Revert the most recently applied migration.' })
export class RevertMigrationCommand extends CommandRunner {
  constructor(private readonly database: CliDatabaseService) {
    super();
  }

  async run(): Promise<void> {
    const reverted = await this.database.withDataSource(async (dataSource) => {
      const last = await findLastApplied(dataSource);
      if (last === null) return null;

      await dataSource.undoLastMigration({ transaction: 'each' });
      return last;
    });
    printResult(reverted === null ? 'No migration to revert.' : `Reverted ${reverted}.`);
  }
}

/** TypeORM reverts without saying which migration; read its bookkeeping table first. */
async function findLastApplied(dataSource: DataSource): Promise<string | null> {
  const table = dataSource.options.migrationsTableName ?? 'migrations';
  const [exists] = (await dataSource.query('SELECT to_regclass($1) IS NOT NULL AS exists', [table])) as Array<{ exists: boolean }>;
  if (!exists.exists) return null;

  const rows = (await dataSource.query(`SELECT name FROM "${table}" ORDER BY "timestamp" DESC, id DESC LIMIT 1`)) as Array<{ name: string }>;
  return rows[0]?.name ?? null;
}
