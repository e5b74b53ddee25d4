import 'reflect-metadata';

import { join } from 'node:path';

import { Logger } from '@nestjs/common';

import { createApp } from './app.factory';
import { StartupError } from './common/startup-error';
import { loadConfig } from './config/configuration';
import { applyDevelopmentSecrets } from './config/development-secrets';
import { EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres';

const logger = new Logger('Bootstrap');
// How long a shutdown waits for requests in flight before it stops anyway.
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Start verso. Without DATABASE_URL a real PostgreSQL runs embedded, with its
 * data under .data/, so `npm start` needs nothing else installed.
 */
async function main(): Promise<void> {
  await applyDevelopmentSecrets(process.env, join(process.env.EMBEDDED_DATA_DIR ?? '.data', 'dev-secrets.json'));
  const config = loadConfig(process.env);

  let app: Awaited<ReturnType<typeof createApp>> | null = null;
  let embeddedStart: Promise<EmbeddedDatabase> | null = null;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.log(`Received ${signal} again; still shutting down`);
      return;
    }
    stopping = true;
    logger.log(`Received ${signal}, shutting down`);

    const closed = await closeWithin(app, SHUTDOWN_TIMEOUT_MS);
    // A signal during the embedded start waits for that start, so the server
    // it spawned, which no Ctrl-C reaches, is stopped too.
    const embedded = await embeddedStart?.catch(() => null);
    await embedded?.stop().catch((error: Error) => logger.error(`Embedded PostgreSQL stop failed: ${error.message}`));
    process.exit(closed ? 0 : 1);
  };
  // Installed before anything starts. Not once(): a second signal would then
  // get Node's default handling and end the process before the requests in
  // flight and the database are done.
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (!config.database.url) {
    // Its own process group, so that a Ctrl-C reaches only verso, which closes
    // HTTP and writes the last session activity before it stops the database.
    embeddedStart = startEmbeddedPostgres({ dataDir: config.database.embeddedDir, port: config.database.embeddedPort, ownProcessGroup: true });
  }
  const embedded = await embeddedStart;
  if (stopping) return;
  const databaseUrl = config.database.url ?? embedded!.url;

  try {
    app = await createApp(config, databaseUrl);
    await app.listen(config.http.port, config.http.host);
  } catch (error) {
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  logger.log(`verso listening on http://${config.http.host}:${config.http.port} (OpenAPI at /docs)`);
}

/**
 * Close the HTTP server and the application, waiting at most timeoutMs for
 * requests in flight. Return whether it closed in time; a request that never
 * ends must not keep the process, and the embedded database, up forever.
 */
async function closeWithin(app: { close(): Promise<void> } | null, timeoutMs: number): Promise<boolean> {
  if (!app) return true;

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const closed = app.close().then(
    () => true,
    (error: Error) => {
      logger.error(`HTTP server close failed: ${error.message}`);
      return true;
    },
  );
  const result = await Promise.race([closed, timedOut]);
  clearTimeout(timer);
  if (!result) logger.error(`HTTP server did not close within ${timeoutMs} ms; stopping anyway`);
  return result;
}

main().catch((error: unknown) => {
  if (error instanceof StartupError) {
    logger.error(error.message);
  } else {
    logger.error(`Start failed: ${(error as Error)?.stack ?? String(error)}`);
  }
  process.exit(1);
});
