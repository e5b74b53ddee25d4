import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';

import { AppModule } from './app.module';
import { ErrorsFilter } from './common/errors.filter';
import { StrictValidationPipe } from './common/strict-validation.pipe';
import { AppConfig } from './config/configuration';
import { createFrameworkErrorHandler } from './http/framework-errors';
import { closeIdleConnectionsOnShutdown } from './http/idle-connections';
import { acceptOnlyJsonObjectBodies } from './http/json-body.parser';
import { computeSecurityHeaders, registerSecurityHeaders } from './http/security-headers';

// Every path parameter of verso is a UUID (36 characters). The router rejects
// a parameter longer than this with 414, before any guard runs (see
// http/framework-errors.ts).
const MAX_PARAM_LENGTH = 200;

/**
 * Build the HTTP application: Fastify, because the adapter costs more than the
 * token check itself (see docs/benchmarks.md), with validation, security
 * headers and OpenAPI. Used by main.ts and by the tests.
 */
export async function createApp(config: AppConfig, databaseUrl: string): Promise<NestFastifyApplication> {
  // Computed before the adapter, because the router's own errors need them too.
  const securityHeaders = computeSecurityHeaders({
    // Swagger UI at /docs loads its own script and styles from this origin.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
  });

  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    // Forwarding headers count only from these addresses; from anyone else
    // they are ignored, so a client cannot pick its own rate limit bucket.
    trustProxy: config.http.trustedProxies.length > 0 ? config.http.trustedProxies : false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: createFrameworkErrorHandler(securityHeaders, MAX_PARAM_LENGTH),
  });
  // Nest's own body parsers are off, because they accept any JSON value and
  // form data everywhere; RFC 7662 and RFC 7009 require form data on /oauth/.
  acceptOnlyJsonObjectBodies(adapter.getInstance(), ['/oauth/']);

  // Start-up lines are buffered until pino takes over, so every line has one format.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, databaseUrl), adapter, {
    bufferLogs: true,
    bodyParser: false,
    // Throw instead of exiting, so main.ts can stop an embedded PostgreSQL and
    // tests can assert on a failed start.
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  // No enableShutdownHooks(): main.ts handles SIGINT and SIGTERM itself and
  // calls app.close(), which runs the shutdown hooks. Nest's own handler
  // re-raises the signal once the app is closed, which kills the process
  // before main.ts has stopped the embedded PostgreSQL. SIGHUP reloads the
  // signing keys and must not stop the process either.

  registerSecurityHeaders(adapter.getInstance(), securityHeaders);
  closeIdleConnectionsOnShutdown(adapter.getInstance());
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({
      origin: config.http.corsOrigins,
      allowedHeaders: ['Authorization', 'Content-Type'],
      // Browser clients need these to back off after a 429 and to read a 401's challenge.
      exposedHeaders: ['Retry-After', 'WWW-Authenticate'],
      maxAge: 600,
    });
  }

  app.useGlobalPipes(
    new StrictValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      validationError: { target: false, value: false },
    }),
  );
  app.useGlobalFilters(new ErrorsFilter(app.getHttpAdapter()));

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('verso')
      .setDescription('Revocable JWT sessions: access tokens checked against per-user versions and per-session state.')
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json', yamlDocumentUrl: 'docs/openapi.yaml' });

  return app;
}
