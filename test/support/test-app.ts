import { randomBytes } from 'node:crypto';

import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { register } from 'prom-client';

import { createApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/configuration';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * Environment for a verso under test: fresh secrets, cheap Argon2 parameters
 * so a suite of logins stays fast, and quiet logs. Overrides win.
 */
export function testEnvironment(databaseUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: randomBytes(32).toString('base64url'),
    REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'silent',
    ARGON2_MEMORY_KIB: '4096',
    ARGON2_TIME_COST: '1',
    MIGRATIONS_RUN: 'false',
    RATE_LIMIT_ENABLED: 'false',
    ...overrides,
  };
}

/** Start verso in this process on a free loopback port. */
export async function startTestApp(databaseUrl: string, overrides: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig(testEnvironment(databaseUrl, overrides));
  // prom-client's default registry is global to the process and refuses a
  // second metric of one name, so a second app in one test file would not
  // start. Metrics of an app started earlier keep counting, unregistered.
  register.clear();
  const app = await createApp(config, databaseUrl);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };

  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${address.port}`,
    close: () => app.close(),
  };
}
