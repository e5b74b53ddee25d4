import 'reflect-metadata';

import { Logger } from '@nestjs/common';

import { createOrdersApp } from './app';
import { loadSettings } from './settings';

/** Start the example: a second service that enforces verso's revocations on its own routes. */
async function main(): Promise<void> {
  const settings = loadSettings(process.env);
  const app = await createOrdersApp(settings);
  app.enableShutdownHooks();
  await app.listen(settings.port, settings.host);
  new Logger('OrdersService').log(`orders-service listening on http://${settings.host}:${settings.port}`);
}

main().catch((error: unknown) => {
  new Logger('OrdersService').error(`Start failed: ${(error as Error)?.stack ?? String(error)}`);
  process.exit(1);
});
