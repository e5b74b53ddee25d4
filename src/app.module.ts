import { DynamicModule, Module, RequestMethod } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { LoggerModule } from 'nestjs-pino';

import { AdminModule } from './admin/admin.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { AppConfigModule } from './config/app-config.module';
import { AppConfig } from './config/configuration';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { IntegrationModule } from './integration/integration.module';
import { MetricsController } from './metrics/metrics.controller';
import { SessionsModule } from './sessions/sessions.module';
import { UsersModule } from './users/users.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    const logsRequests = config.logLevel === 'debug' || config.logLevel === 'trace';
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LoggerModule.forRoot({
          // One line per request costs more than the guard itself, and so does
          // pino-http's per-request child logger even when it logs nothing.
          // Request logging is for debugging, so below debug level the
          // middleware is not mounted at all. The route is spelled out because
          // nestjs-pino's default, '{/*splat}', matches only '/' under the
          // Fastify adapter, so no request was logged.
          forRoutes: logsRequests ? [{ path: '/{*splat}', method: RequestMethod.ALL }] : [],
          pinoHttp: {
            level: config.logLevel,
            autoLogging: logsRequests,
            // Request lines are debugging output, so they carry the debug level.
            customLogLevel: () => 'debug',
            redact: {
              paths: ['req.headers.authorization', 'req.headers.cookie', 'req.body', 'res.headers["set-cookie"]'],
              censor: '[redacted]',
            },
            serializers: { req: redactRequest },
            transport: undefined,
          },
        }),
        PrometheusModule.register({ controller: MetricsController, defaultMetrics: { enabled: true } }),
        DatabaseModule.forRoot(databaseUrl),
        AuditModule,
        UsersModule,
        SessionsModule,
        AuthModule,
        AdminModule,
        HealthModule,
        IntegrationModule,
      ],
    };
  }
}

// Headers whose values a request log may show. Every other header is logged
// by name only, because clients and proxies carry credentials in many of
// them (Proxy-Authorization, X-Api-Key, a token in a Referer URL).
const LOGGED_HEADERS = new Set(['host', 'user-agent', 'content-type', 'content-length', 'accept', 'accept-encoding', 'connection', 'origin', 'x-forwarded-for', 'x-request-id']);

/**
 * Redact a logged request: header values outside LOGGED_HEADERS, and the query
 * string. verso reads no token from the query, but a misconfigured client may
 * still send one there (`?access_token=`), and the line would then carry it.
 */
function redactRequest<T extends { url?: string; query?: unknown; headers?: Record<string, unknown> }>(request: T): T {
  if (typeof request.url === 'string') {
    const queryStart = request.url.indexOf('?');
    if (queryStart !== -1) request.url = `${request.url.slice(0, queryStart)}?[redacted]`;
  }
  if (request.query !== undefined) request.query = '[redacted]';
  if (request.headers) {
    request.headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, LOGGED_HEADERS.has(name) ? value : '[redacted]']));
  }
  return request;
}
