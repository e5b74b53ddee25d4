import { Global, Module } from '@nestjs/common';

import { metricProviders } from '../metrics/metrics';
import { InvalidationChannelService } from './invalidation-channel.service';
import { TokenStateRepository } from './token-state.repository';
import { TokenStateService } from './token-state.service';

@Global()
@Module({
  providers: [...metricProviders, TokenStateRepository, InvalidationChannelService, TokenStateService],
  exports: [...metricProviders, TokenStateService, InvalidationChannelService],
})
export class TokenStateModule {}
