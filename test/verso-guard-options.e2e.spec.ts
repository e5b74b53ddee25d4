import { randomUUID } from 'node:crypto';

import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { sign } from 'jsonwebtoken';

import { createOrdersApp } from '../examples/orders-service/src/app';
import { AppConfig, loadConfig } from '../src/config/configuration';
import { secretKeyId } from '../src/verso-guard/verification-keys';
import { resolveVersoGuardOptions, VersoGuardOptions } from '../src/verso-guard/verso-guard.options';
import { createGuardRole, createTestDatabase, DatabaseRole, TestDatabase } from './support/database';
import { http, LoggedInUser, registerAndLogin } from './support/http';
import { ServerProcess, startServerProcess } from './support/server-process';
import { testEnvironment } from './support/test-app';
import { signAccessToken } from './support/tokens';

// Options read from the environment or from @nestjs/config are strings unless
// the service converts them. TypeScript misses this behind `any` or a cast.
const fromEnvironment = <T>(text: string) => text as unknown as T;

describe('VersoGuardModule option types', () => {
  let database: TestDatabase;
  let role: DatabaseRole;
  let verso: ServerProcess;
  let versoConfig: AppConfig;
  let secret: string;
  let orders: NestFastifyApplication | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    role = await createGuardRole(database);
    const environment = testEnvironment(database.url);
    versoConfig = loadConfig(environment);
    verso = await startServerProcess(environment);
    secret = environment.JWT_SECRET;
  });

  afterEach(async () => {
    await orders?.close();
    orders = undefined;
  });

  afterAll(async () => {
    await verso?.stop();
    await database?.drop();
    await role?.drop();
  });

  /** Sign a token like verso's own for the user's session, with iat and exp an hour in the past. */
  const expiredToken = (user: LoggedInUser): string => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'verso', aud: 'verso-api', sub: user.userId, sid: user.sessionId, ver: 0, jti: randomUUID(), iat: now - 4500, exp: now - 3600 };
    return sign(claims, secret, { algorithm: 'HS256', header: { alg: 'HS256', typ: 'at+jwt', kid: secretKeyId(secret) } });
  };

  it('string clockToleranceSeconds: expired token rejected', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    const expired = expiredToken(user);
    const guard: VersoGuardOptions = {
      databaseUrl: role.url,
      issuer: 'verso',
      audience: 'verso-api',
      algorithm: 'HS256',
      secret,
      clockToleranceSeconds: fromEnvironment<number>('5'),
    };

    let status: number | string;
    try {
      orders = await createOrdersApp({ host: '127.0.0.1', port: 0, guard }, { logger: false });
      await orders.listen(0, '127.0.0.1');
      const url = `http://127.0.0.1:${(orders.getHttpServer().address() as { port: number }).port}`;
      status = (await http(url, 'GET', '/orders', { token: expired })).status;
    } catch (error) {
      // A failed start is as good as a rejected token.
      status = `start failed: ${(error as Error).message}`;
    }

    // verso itself rejects this token, so the other service must reject it too.
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: expired })).status).toBe(401);
    expect(status).not.toBe(200);
  });

  // signAccessToken used to pass noTimestamp to jsonwebtoken 9, which then
  // dropped the iat claim, and the verifier rejects a token without iat.
  it('signAccessToken: default token accepted', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const token = signAccessToken(versoConfig, { ...user, tokenVersion: 0 });

    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token })).status).toBe(200);
  });
});

describe('resolveVersoGuardOptions invalid values', () => {
  const base: VersoGuardOptions = { databaseUrl: 'postgres://127.0.0.1/verso', issuer: 'verso', audience: 'verso-api', algorithm: 'ES256' };
  const jwksUrl = 'http://127.0.0.1/.well-known/jwks.json';

  it.each<[string, Partial<VersoGuardOptions>]>([
    ['no algorithm', { algorithm: undefined, jwksUrl }],
    ['PS256, which verso cannot sign with', { algorithm: fromEnvironment('PS256'), jwksUrl }],
    ['none', { algorithm: fromEnvironment('none'), keys: [] }],
  ])('algorithm: rejects %s', (_case, options) => {
    expect(() => resolveVersoGuardOptions({ ...base, ...options })).toThrow(/VersoGuardModule: .*algorithm/);
  });

  it.each<[string, unknown]>([
    ['the string "5"', '5'],
    ['a negative number', -100],
    ['NaN', Number.NaN],
  ])('clockToleranceSeconds: rejects %s', (_case, value) => {
    const options = { ...base, jwksUrl, clockToleranceSeconds: value as number };

    expect(() => resolveVersoGuardOptions(options)).toThrow(/VersoGuardModule: .*clockToleranceSeconds/);
  });

  it('string cache.enabled: rejected', () => {
    const options = { ...base, jwksUrl, cache: { enabled: fromEnvironment<boolean>('false') } };

    expect(() => resolveVersoGuardOptions(options)).toThrow('VersoGuardModule: cache.enabled must be true or false, given as a boolean');
  });
});
