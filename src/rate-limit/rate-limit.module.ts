import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';

import { APP_CONFIG } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { RateLimitStorage } from './rate-limit.storage';
import { buildThrottlerOptions } from './rate-limits';

@Module({
  providers: [RateLimitStorage],
  exports: [RateLimitStorage],
})
class RateLimitStorageModule {}

/** Rate limits for the routes marked with @RateLimit(). ThrottlerModule is global, so the guard resolves anywhere. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [APP_CONFIG, RateLimitStorage],
      useFactory: (config: AppConfig, storage: RateLimitStorage) => buildThrottlerOptions(config, storage),
    }),
  ],
})
export class RateLimitModule {}
