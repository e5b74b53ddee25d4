import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { HealthController } from './health.controller';
import { InvalidationChannelHealthIndicator } from './invalidation-channel.health';

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [InvalidationChannelHealthIndicator],
})
export class HealthModule {}
