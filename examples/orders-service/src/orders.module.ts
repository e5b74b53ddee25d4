import { DynamicModule, Module } from '@nestjs/common';

import { VersoGuardModule, VersoGuardOptions } from '../../../src/verso-guard';
import { HealthController, OrdersController } from './orders.controller';

@Module({})
export class OrdersModule {
  static forRoot(guard: VersoGuardOptions): DynamicModule {
    return {
      module: OrdersModule,
      // Registers the guard for every route; @Public() opts a route out.
      imports: [VersoGuardModule.forRoot(guard)],
      controllers: [OrdersController, HealthController],
    };
  }
}
