import 'reflect-metadata';

import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

import { createApp } from '../../src/app.factory';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/configuration';
import { BareModule, BenchRoutesModule } from './bench-routes';
import { checkDenylist, postgresDenylist, redisDenylist, StateCheckMode, switchableStateCheck } from './variants';

/**
 * Bench-only server: one process serves one variant of the request path, so
 * that variants never share an event loop. It is started by bench/run.mjs
 * with BENCH_VARIANT and verso's usual environment, listens on a port chosen
 * by the kernel, and reports the port over the IPC channel.
 *
 * - bare-express, bare-fastify: an empty NestJS app on each adapter.
 * - verso: verso as it ships (createApp), plus the bench routes. With
 *   TOKEN_CACHE_ENABLED=false this is the cache-disabled variant. An IPC
 *   message `{stateCheck: 'skip' | 'real'}` switches it to the signature-only
 *   baseline and back (see switchableStateCheck), and is acknowledged with
 *   the same message.
 * - denylist-postgres, denylist-redis: the signature-only baseline plus a jti
 *   lookup.
 */
const VARIANTS = ['bare-express', 'bare-fastify', 'verso', 'denylist-postgres', 'denylist-redis'] as const;
type Variant = (typeof VARIANTS)[number];

async function main(): Promise<void> {
  const variant = process.env.BENCH_VARIANT as Variant;
  if (!VARIANTS.includes(variant)) throw new Error(`BENCH_VARIANT must be one of ${VARIANTS.join(', ')}`);

  const cleanups: Array<() => Promise<void>> = [];
  const app = await build(variant, cleanups);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };

  const stop = async () => {
    await app.close();
    for (const cleanup of cleanups) await cleanup();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  process.send?.({ ready: true, port });
}

async function build(variant: Variant, cleanups: Array<() => Promise<void>>): Promise<INestApplication> {
  if (variant === 'bare-express') return NestFactory.create(BareModule, new ExpressAdapter(), { logger: ['error', 'warn'] });
  if (variant === 'bare-fastify') return NestFactory.create(BareModule, new FastifyAdapter(), { logger: ['error', 'warn'] });

  const config = loadConfig(process.env);
  const app = await createVersoWithBenchRoutes(config);

  if (variant === 'verso') {
    const setStateCheck = switchableStateCheck(app);
    process.on('message', (message: { stateCheck?: StateCheckMode }) => {
      if (message.stateCheck !== 'real' && message.stateCheck !== 'skip') return;
      setStateCheck(message.stateCheck);
      process.send?.({ stateCheck: message.stateCheck });
    });
  }
  if (variant === 'denylist-postgres') checkDenylist(app, postgresDenylist(app, required('BENCH_DENYLIST_TABLE')));
  if (variant === 'denylist-redis') {
    const denylist = redisDenylist(required('BENCH_REDIS_URL'), required('BENCH_REDIS_PREFIX'));
    cleanups.push(denylist.close);
    checkDenylist(app, denylist.lookup);
  }
  return app;
}

/**
 * Build verso through its own createApp, so the adapter, plugins, pipes,
 * filters, logger and guard are exactly those of `npm start`, with the bench
 * routes imported into the root module. createApp takes no extra modules, so
 * AppModule.forRoot is wrapped for the duration of the call.
 */
async function createVersoWithBenchRoutes(config: ReturnType<typeof loadConfig>): Promise<INestApplication> {
  const forRoot = AppModule.forRoot.bind(AppModule);
  AppModule.forRoot = (...args: Parameters<typeof forRoot>) => {
    const module = forRoot(...args);
    return { ...module, imports: [...(module.imports ?? []), BenchRoutesModule] };
  };
  try {
    return await createApp(config, required('DATABASE_URL'));
  } finally {
    AppModule.forRoot = forRoot;
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required for this bench variant`);
  return value;
}

main().catch((error: unknown) => {
  console.error(`Bench server failed to start: ${(error as Error)?.stack ?? String(error)}`);
  process.exit(1);
});
