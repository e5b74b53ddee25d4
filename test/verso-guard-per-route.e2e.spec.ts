import { Controller, DynamicModule, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';

import { TokenStateService } from '../src/token-state/token-state.service';
import { CurrentPrincipal, InvalidationChannelService, JwtAuthGuard, Principal, RequireRole, VersoGuardModule, VersoGuardOptions } from '../src/verso-guard';
import { makeAdminInDatabase } from './support/accounts';
import { createGuardRole, createTestDatabase, DatabaseRole, TestDatabase } from './support/database';
import { http, registerAndLogin } from './support/http';
import { ADMIN_REQUIRED, TOKEN_REQUIRED } from './support/responses';
import { ServerProcess, startServerProcess } from './support/server-process';
import { testEnvironment } from './support/test-app';
import { pollUntilSatisfied } from './support/polling';

// verso's guarantee is 100 ms at p99; the test allows ten times that on a shared machine.
const BOUND_MS = 1000;

/** Routes of a service that guards some routes itself instead of all by default. */
@Controller('reports')
class ReportsController {
  @Get('open')
  open(): { open: true } {
    return { open: true };
  }

  @Get('mine')
  @UseGuards(JwtAuthGuard)
  mine(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }

  @Get('all')
  @UseGuards(JwtAuthGuard)
  @RequireRole('admin')
  all(@CurrentPrincipal() principal: Principal): { userId: string } {
    return { userId: principal.userId };
  }
}

@Module({})
class ReportsModule {}

type Registration = 'forRoot' | 'forRootAsync';

function reportsModule(guard: VersoGuardOptions, registration: Registration): DynamicModule {
  const versoGuard =
    registration === 'forRoot'
      ? VersoGuardModule.forRoot({ ...guard, globalGuard: false })
      : VersoGuardModule.forRootAsync({ globalGuard: false, useFactory: () => guard });
  return { module: ReportsModule, imports: [versoGuard], controllers: [ReportsController] };
}

describe('VersoGuardModule without the global guard', () => {
  let database: TestDatabase;
  let role: DatabaseRole;
  let verso: ServerProcess;
  let guard: VersoGuardOptions;

  beforeAll(async () => {
    database = await createTestDatabase();
    role = await createGuardRole(database);
    const environment = testEnvironment(database.url);
    verso = await startServerProcess(environment);
    guard = { databaseUrl: role.url, issuer: 'verso', audience: 'verso-api', algorithm: 'HS256', secret: environment.JWT_SECRET };
  });

  afterAll(async () => {
    await verso?.stop();
    await database?.drop();
    await role?.drop();
  });

  // Passport keeps one strategy per name for the whole process, so each
  // registration's app is closed before the next one starts.
  describe.each<Registration>(['forRoot', 'forRootAsync'])('registered with %s', (registration) => {
    let reports: NestFastifyApplication;
    let reportsUrl: string;

    beforeAll(async () => {
      reports = await NestFactory.create<NestFastifyApplication>(reportsModule(guard, registration), new FastifyAdapter(), { logger: false });
      await reports.listen(0, '127.0.0.1');
      reportsUrl = `http://127.0.0.1:${(reports.getHttpServer().address() as { port: number }).port}`;
      const channel = reports.get(InvalidationChannelService);
      const ready = await pollUntilSatisfied(async () => channel.currentState, (state) => state === 'up', { timeoutMs: 10_000 });
      if (!ready.satisfied) throw new Error(`invalidation channel not up within 10 s: ${ready.value}`);
    });

    afterAll(async () => {
      await reports?.close();
    });

    const get = (path: string, token?: string) => http(reportsUrl, 'GET', path, { token });

    it('serves an unguarded route without a token', async () => {
      const response = await get('/reports/open');

      expect([response.status, response.body]).toEqual([200, { open: true }]);
    });

    it('rejects a guarded route without a token', async () => {
      const response = await get('/reports/mine');

      expect([response.status, response.body]).toEqual([401, TOKEN_REQUIRED]);
    });

    it('serves a live token with its principal', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      const response = await get('/reports/mine', user.accessToken);

      expect([response.status, response.body]).toEqual([200, { userId: user.userId, sessionId: user.sessionId, role: 'user' }]);
    });

    it('rejects a token after logout', async () => {
      const user = await registerAndLogin(verso.baseUrl);
      expect((await get('/reports/mine', user.accessToken)).status).toBe(200);
      // The state is now in this app's own cache, so only verso's invalidation message can make it reject.
      expect(reports.get(TokenStateService).cachedEntries).toBeGreaterThan(0);

      await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });
      const rejected = await pollUntilSatisfied(() => get('/reports/mine', user.accessToken), (response) => response.status === 401, { timeoutMs: BOUND_MS, intervalMs: 5 });

      expect({ status: rejected.value.status, withinBound: rejected.elapsedMs <= BOUND_MS }).toEqual({ status: 401, withinBound: true });
    });

    it('rejects a user on a role route', async () => {
      const user = await registerAndLogin(verso.baseUrl);

      const response = await get('/reports/all', user.accessToken);

      expect([response.status, response.body]).toEqual([403, ADMIN_REQUIRED]);
    });

    it('serves an admin on a role route', async () => {
      const admin = await registerAndLogin(verso.baseUrl);
      // Before this app's first request for the user, so no cached state has the old role.
      await makeAdminInDatabase(database, admin.userId);

      const response = await get('/reports/all', admin.accessToken);

      expect([response.status, response.body]).toEqual([200, { userId: admin.userId }]);
    });

    it('rejects a role route without a token', async () => {
      const response = await get('/reports/all');

      expect([response.status, response.body]).toEqual([401, TOKEN_REQUIRED]);
    });
  });

  it('rejects globalGuard from the factory', async () => {
    // forRootAsync registers the guard before the factory runs, so the factory cannot turn it off.
    const versoGuard = VersoGuardModule.forRootAsync({ useFactory: () => ({ ...guard, globalGuard: false }) });
    const module: DynamicModule = { module: ReportsModule, imports: [versoGuard], controllers: [ReportsController] };

    const created = NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: false, abortOnError: false });

    await expect(created).rejects.toThrow('Set globalGuard beside useFactory in forRootAsync');
  });
});
