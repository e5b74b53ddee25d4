import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';

import { InvalidationChannelService } from '../token-state/invalidation-channel.service';

@Injectable()
export class InvalidationChannelHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly channel: InvalidationChannelService,
  ) {}

  check(key: string) {
    const indicator = this.health.check(key);
    const state = this.channel.currentState;
    return state === 'up' ? indicator.up({ state }) : indicator.down({ state });
  }
}
