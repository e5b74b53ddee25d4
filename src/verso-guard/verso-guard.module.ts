import { DynamicModule, InjectionToken, Module, ModuleMetadata, OptionalFactoryDependency, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';

import { AccessTokenVerifier } from '../auth/access-token.verifier';
import { JwtAuthGuard } from '../auth/jwt-auth.guard';
import { JwtStrategy } from '../auth/jwt.strategy';
import { metricProviders } from '../metrics/metrics';
import { InvalidationChannelService } from '../token-state/invalidation-channel.service';
import { TokenStateRepository } from '../token-state/token-state.repository';
import { TokenStateService } from '../token-state/token-state.service';
import { resolveVersoGuardOptions, VERSO_GUARD_OPTIONS, VersoGuardOptions } from './verso-guard.options';

export interface VersoGuardAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory: (...args: any[]) => VersoGuardOptions | Promise<VersoGuardOptions>;
  /** Register the guard for every route (default true); known before the factory runs, so it sits here. */
  globalGuard?: boolean;
}

/**
 * The token check of verso as a module: the passport strategy and guard, the
 * verifier, the token state cache and its invalidation channel. verso imports
 * it, and so does any other NestJS service that must honour verso's
 * revocations: it reads the same PostgreSQL and keeps its own cache, which
 * verso's NOTIFY messages keep correct.
 *
 * Global, so TokenStateService and AccessTokenVerifier can be injected
 * anywhere. Passport keeps strategies in one process-wide registry, so one
 * process contains one instance of this module.
 */
@Module({})
export class VersoGuardModule {
  static forRoot(options: VersoGuardOptions): DynamicModule {
    const optionsProvider: Provider = { provide: VERSO_GUARD_OPTIONS, useValue: resolveVersoGuardOptions(options) };
    return VersoGuardModule.build(optionsProvider, [], options.globalGuard ?? true);
  }

  static forRootAsync(options: VersoGuardAsyncOptions): DynamicModule {
    const globalGuard = options.globalGuard ?? true;
    const optionsProvider: Provider = {
      provide: VERSO_GUARD_OPTIONS,
      inject: options.inject ?? [],
      useFactory: async (...args: unknown[]) => {
        const resolved = await options.useFactory(...args);
        // The guard is registered before the factory runs, so a different value here would be silently ignored.
        if (resolved.globalGuard !== undefined && resolved.globalGuard !== globalGuard) {
          throw new Error(`VersoGuardModule: useFactory returned globalGuard: ${resolved.globalGuard}, which has no effect. Set globalGuard beside useFactory in forRootAsync instead`);
        }
        return resolveVersoGuardOptions(resolved);
      },
    };
    return VersoGuardModule.build(optionsProvider, options.imports ?? [], globalGuard);
  }

  private static build(optionsProvider: Provider, imports: NonNullable<ModuleMetadata['imports']>, globalGuard: boolean): DynamicModule {
    return {
      module: VersoGuardModule,
      global: true,
      imports: [PassportModule, ...imports],
      providers: [
        optionsProvider,
        ...metricProviders,
        TokenStateRepository,
        InvalidationChannelService,
        TokenStateService,
        AccessTokenVerifier,
        JwtStrategy,
        JwtAuthGuard,
        // Secure by default: a route is guarded unless marked @Public().
        ...(globalGuard ? [{ provide: APP_GUARD, useExisting: JwtAuthGuard }] : []),
      ],
      exports: [...metricProviders, TokenStateService, InvalidationChannelService, AccessTokenVerifier, JwtAuthGuard],
    };
  }
}
