import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { APP_CONFIG } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { DATABASE_URL } from './database.constants';
import { buildDataSourceOptions } from './data-source-options';
import { PendingMigrationsCheck } from './pending-migrations.check';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(url: string): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({
            ...buildDataSourceOptions(config, url),
            migrationsRun: config.database.migrationsRun,
            // Fail the start at once instead of retrying for half a minute.
            retryAttempts: 0,
          }),
        }),
      ],
      providers: [{ provide: DATABASE_URL, useValue: url }, PendingMigrationsCheck],
      exports: [DATABASE_URL],
    };
  }
}
