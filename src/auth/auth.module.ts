import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';

import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { AccessTokenService } from './access-token.service';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwtAuthGuard } from './jwt-auth.guard';
import { JwtStrategy } from './jwt.strategy';
import { JwksController } from './keys/jwks.controller';
import { SigningKeysService } from './keys/signing-keys.service';
import { PasswordHasherService } from './password-hasher.service';
import { RefreshTokenCodec } from './refresh-token.codec';

@Module({
  imports: [PassportModule, JwtModule.register({}), UsersModule, SessionsModule, RateLimitModule],
  controllers: [AuthController, JwksController],
  providers: [
    SigningKeysService,
    AccessTokenService,
    RefreshTokenCodec,
    PasswordHasherService,
    AuthService,
    JwtStrategy,
    // Global and secure by default: a route is guarded unless marked @Public().
    { provide: APP_GUARD, useClass: JwtAuthGuard },
  ],
  exports: [SigningKeysService],
})
export class AuthModule {}
