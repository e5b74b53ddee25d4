import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { APP_CONFIG } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { DATABASE_URL } from '../database/database.constants';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { SessionActivityService } from '../sessions/session-activity.service';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { VersoGuardModule } from '../verso-guard/verso-guard.module';
import { VersoGuardOptions } from '../verso-guard/verso-guard.options';
import { AccessTokenService } from './access-token.service';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwksController } from './keys/jwks.controller';
import { KeysModule } from './keys/keys.module';
import { SigningKeysService } from './keys/signing-keys.service';
import { PasswordHasherService } from './password-hasher.service';
import { RefreshTokenCodec } from './refresh-token.codec';

/**
 * verso checks its own tokens with the same module that other services
 * import, configured from verso's configuration: its signing keys verify,
 * and its DataSource carries the state reads and the revoking writes.
 */
const guardModule = VersoGuardModule.forRootAsync({
  imports: [KeysModule, SessionsModule],
  inject: [APP_CONFIG, DATABASE_URL, SigningKeysService, getDataSourceToken(), SessionActivityService],
  useFactory: (
    config: AppConfig,
    databaseUrl: string,
    keys: SigningKeysService,
    dataSource: DataSource,
    activity: SessionActivityService,
  ): VersoGuardOptions => ({
    databaseUrl,
    dataSource,
    database: { connectTimeoutMs: config.database.connectTimeoutMs, queryTimeoutMs: config.database.queryTimeoutMs },
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    algorithm: config.jwt.algorithm,
    clockToleranceSeconds: config.jwt.clockToleranceSeconds,
    keySource: keys,
    cache: { enabled: config.tokenCache.enabled, ttlMs: config.tokenCache.ttlMs, maxEntries: config.tokenCache.maxEntries },
    invalidation: { probeIntervalMs: config.tokenCache.probeIntervalMs },
    // Only a Set insert: a timer writes last_used_at, off the request path.
    onTokenAccepted: (principal) => activity.record(principal.sessionId),
    testReadDelayMs: config.tokenCache.testReadDelayMs,
  }),
});

@Module({
  imports: [JwtModule.register({}), KeysModule, guardModule, UsersModule, SessionsModule, RateLimitModule],
  controllers: [AuthController, JwksController],
  providers: [AccessTokenService, RefreshTokenCodec, PasswordHasherService, AuthService],
  exports: [KeysModule, RefreshTokenCodec],
})
export class AuthModule {}
