import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';

import { OrdersModule } from './orders.module';
import { OrdersSettings } from './settings';

/** Build the example service; main.ts listens with it, and the tests start it in process. */
export function createOrdersApp(settings: OrdersSettings, options: { logger?: false } = {}): Promise<NestFastifyApplication> {
  return NestFactory.create<NestFastifyApplication>(OrdersModule.forRoot(settings.guard), new FastifyAdapter(), options);
}
