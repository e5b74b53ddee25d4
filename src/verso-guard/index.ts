/**
 * The public surface for another NestJS service that enforces verso's
 * revocations: the module, the route decorators and the principal type.
 */
export { VersoGuardModule } from './verso-guard.module';
export type { VersoGuardAsyncOptions } from './verso-guard.module';
export type { VersoGuardOptions } from './verso-guard.options';
export { CurrentPrincipal, Public, RequireRole } from '../auth/auth.decorators';
export { AccessTokenVerifier } from '../auth/access-token.verifier';
export type { AccessTokenClaims, VerifiedAccessToken } from '../auth/access-token.verifier';
export { JwtAuthGuard } from '../auth/jwt-auth.guard';
export { InvalidationChannelService } from '../token-state/invalidation-channel.service';
export type { Principal } from '../token-state/token-state.types';
