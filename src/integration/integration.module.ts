import { Module } from '@nestjs/common';

import { AuthModule } from '../auth/auth.module';
import { SessionsModule } from '../sessions/sessions.module';
import { ForwardAuthController } from './forward-auth.controller';
import { IntrospectionService } from './introspection.service';
import { OAuthController } from './oauth.controller';
import { RevocationService } from './revocation.service';

/** The routes through which gateways and other services enforce verso's revocations: introspection, revocation and forward authentication. */
@Module({
  imports: [AuthModule, SessionsModule],
  controllers: [OAuthController, ForwardAuthController],
  // OAuthClientGuard is not listed: @UseGuards builds it, and a provider
  // entry would build a second instance.
  providers: [IntrospectionService, RevocationService],
})
export class IntegrationModule {}
