import 'reflect-metadata';

import { join } from 'node:path';

import { Logger } from '@nestjs/common';

import { createApp } from './app.factory';
import { StartupError } from './common/startup-error';
import { loadConfig } from './config/configuration';
import { applyDevelopmentSecrets } from './config/development-secrets';
import { EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres';

const logger = new Logger('Bootstrap');

/**
 * Start verso. Without DATABASE_URL a real PostgreSQL runs embedded, with its
 * data under .data/, so `npm start` needs nothing else installed.
 */
async function main(): Promise<void> {
  await applyDevelopmentSecrets(process.env, join(process.env.EMBEDDED_DATA_DIR ?? '.data', 'dev-secrets.json'));
  const config = loadConfig(process.env);

  let embedded: EmbeddedDatabase | null = null;
  if (!config.database.url) {
    // Its own process group, so that a Ctrl-C reaches only verso, which closes
    // HTTP and writes the last session activity before it stops the database.
    embedded = await startEmbeddedPostgres({ dataDir: config.database.embeddedDir, port: config.database.embeddedPort, ownProcessGroup: true });
  }
  const databaseUrl = config.database.url ?? embedded!.url;

  let app: Awaited<ReturnType<typeof createApp>> | null = null;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.log(`Received ${signal} again; still shutting down`);
      return;
    }
    stopping = true;
    logger.log(`Received ${signal}, shutting down`);
    await app?.close().catch((error: Error) => logger.error(`HTTP server close failed: ${error.message}`));
    await embedded?.stop().catch((error: Error) => logger.error(`Embedded PostgreSQL stop failed: ${error.message}`));
    process.exit(0);
  };
  // Not once(): a second signal would then get Node's default handling and
  // end the process before the requests in flight and the database are done.
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  try {
    app = await createApp(config, databaseUrl);
    await app.listen(config.http.port, config.http.host);
  } catch (error) {
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  logger.log(`verso listening on http://${config.http.host}:${config.http.port} (OpenAPI at /docs)`);
}

main().catch((error: unknown) => {
  if (error instanceof StartupError) {
    logger.error(error.message);
  } else {
    logger.error(`Start failed: ${(error as Error)?.stack ?? String(error)}`);
  }
  process.exit(1);
});
