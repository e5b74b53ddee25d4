import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';

import { CurrentPrincipal, Public } from '../../src/auth/auth.decorators';
import { TokenStateService } from '../../src/token-state/token-state.service';
import { Principal } from '../../src/token-state/token-state.types';

/** The body that the unauthenticated routes return: the same shape and size as a real principal. */
export const FIXED_PRINCIPAL: Principal = {
  userId: '00000000-0000-4000-8000-000000000000',
  sessionId: '00000000-0000-4000-8000-000000000001',
  role: 'user',
};

/**
 * The routes every verso variant serves, added to verso's own AppModule.
 * `GET /bench/principal` sits behind the global guard, as any product route
 * would; `GET /bench/public` is the same route without it.
 */
@Controller('bench')
export class BenchRoutesController {
  constructor(private readonly tokenState: TokenStateService) {}

  @Get('principal')
  principal(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }

  @Public()
  @Get('public')
  public(): Principal {
    return FIXED_PRINCIPAL;
  }

  /** Cached session and user entries, for the memory table. */
  @Public()
  @Get('cache')
  cache(): { entries: number } {
    return { entries: this.tokenState.cachedEntries };
  }

  /** Run a full garbage collection when node runs with --expose-gc, so heap figures compare. */
  @Public()
  @Post('gc')
  @HttpCode(200)
  collectGarbage(): { collected: boolean; heapUsedBytes: number } {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    return { collected: gc !== undefined, heapUsedBytes: process.memoryUsage().heapUsed };
  }
}

@Module({ controllers: [BenchRoutesController] })
export class BenchRoutesModule {}

/** A bare NestJS app: one route, no guard, no middleware, for the adapter baseline. */
@Controller('bench')
export class BareController {
  @Get('public')
  public(): Principal {
    return FIXED_PRINCIPAL;
  }
}

@Module({ controllers: [BareController] })
export class BareModule {}
