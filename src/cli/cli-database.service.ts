import { Injectable } from '@nestjs/common';
import { DataSource, DataSourceOptions } from 'typeorm';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { buildDataSourceOptions } from '../database/data-source-options';
import { EmbeddedDatabase, findRunningEmbeddedPostgres, startEmbeddedPostgres } from '../database/embedded-postgres';
import { CliError } from './cli-error';
import { printNotice } from './cli-output';

/**
 * The database a CLI command works on, opened per command: the configured
 * DATABASE_URL, or else the embedded server of `npm start`. If that server is
 * running, the command connects to it; otherwise the command starts it and
 * stops it again at the end.
 */
@Injectable()
export class CliDatabaseService {
  constructor(@InjectConfig() private readonly config: AppConfig) {}

  async withDataSource<T>(work: (dataSource: DataSource) => Promise<T>): Promise<T> {
    const server = await this.openServer();
    try {
      const dataSource = new DataSource(this.dataSourceOptions(server.url));
      await dataSource.initialize().catch((error: Error) => {
        throw new CliError(`Connection to PostgreSQL failed: ${error.message}`);
      });

      try {
        return await work(dataSource);
      } finally {
        await dataSource.destroy();
      }
    } finally {
      await server.stop();
    }
  }

  private async openServer(): Promise<EmbeddedDatabase> {
    const { url, embeddedDir, embeddedPort } = this.config.database;
    if (url) return { url, stop: async () => undefined };

    const running = await findRunningEmbeddedPostgres({ dataDir: embeddedDir });
    if (running) {
      printNotice(`Using the embedded PostgreSQL that is running in ${embeddedDir}.`);
      return running;
    }

    // NOTE: while this command runs the embedded server, `npm start` on the
    // same directory fails to start its own, and must be run again after.
    printNotice(`Starting the embedded PostgreSQL in ${embeddedDir} for this command.`);
    return startEmbeddedPostgres({ dataDir: embeddedDir, port: embeddedPort });
  }

  private dataSourceOptions(url: string): DataSourceOptions {
    return {
      ...buildDataSourceOptions(this.config, url),
      // One command at a time needs few connections. The statement timeouts
      // protect the request path of a server; a migration may legitimately
      // run longer, so only the connect timeout stays.
      poolSize: 2,
      extra: { connectionTimeoutMillis: this.config.database.connectTimeoutMs },
    } as DataSourceOptions;
  }
}
