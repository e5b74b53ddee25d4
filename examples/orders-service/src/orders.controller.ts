import { Controller, Get } from '@nestjs/common';

import { CurrentPrincipal, InvalidationChannelService, Principal, Public } from '../../../src/verso-guard';

export interface Order {
  id: string;
  item: string;
}

/** The one guarded route: verso's global guard has checked the token, its session and its version before the handler runs. */
@Controller('orders')
export class OrdersController {
  @Get()
  list(@CurrentPrincipal() principal: Principal): { userId: string; orders: Order[] } {
    return { userId: principal.userId, orders: [{ id: 'order-1', item: 'A book' }] };
  }
}

/** Readiness: the state of the invalidation channel that keeps this service's cache in step with verso. */
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly channel: InvalidationChannelService) {}

  @Get()
  health(): { invalidationChannel: string } {
    return { invalidationChannel: this.channel.currentState };
  }
}
