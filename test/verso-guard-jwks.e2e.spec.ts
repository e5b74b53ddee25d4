import { generateKeyPairSync, randomUUID } from 'node:crypto';

import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { sign } from 'jsonwebtoken';

import { createOrdersApp } from '../examples/orders-service/src/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { http, LoggedInUser, registerAndLogin } from './support/http';
import { ServerProcess, startServerProcess } from './support/server-process';
import { testEnvironment } from './support/test-app';
import { pollUntilSatisfied } from './support/polling';

const BOUND_MS = 1000;

function newEcKey(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

describe('VersoGuardModule with keys from verso JWKS', () => {
  let database: TestDatabase;
  let verso: ServerProcess;
  let orders: NestFastifyApplication;
  let ordersUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startServerProcess(
      testEnvironment(database.url, { JWT_ALGORITHM: 'ES256', JWT_KEYS: JSON.stringify([{ kid: 'test-key-1', privateKey: newEcKey() }]) }),
    );

    orders = await createOrdersApp(
      {
        host: '127.0.0.1',
        port: 0,
        guard: { databaseUrl: database.url, issuer: 'verso', audience: 'verso-api', algorithm: 'ES256', jwksUrl: `${verso.baseUrl}/.well-known/jwks.json` },
      },
      { logger: false },
    );
    await orders.listen(0, '127.0.0.1');
    ordersUrl = `http://127.0.0.1:${(orders.getHttpServer().address() as { port: number }).port}`;
    await pollUntilSatisfied(() => http(ordersUrl, 'GET', '/health'), (response) => response.body?.invalidationChannel === 'up', { timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await orders?.close();
    await verso?.stop();
    await database?.drop();
  });

  const getOrders = (token: string) => http(ordersUrl, 'GET', '/orders', { token });

  /** Sign a token with verso's claims for the user's session, but with a key that verso does not have. */
  const signWithOtherKey = (user: LoggedInUser, kid: string): string => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'verso', aud: 'verso-api', sub: user.userId, sid: user.sessionId, ver: 0, jti: randomUUID(), iat: now, exp: now + 60 };
    return sign(claims, newEcKey(), { algorithm: 'ES256', noTimestamp: true, header: { alg: 'ES256', typ: 'at+jwt', kid } });
  };

  it('serves a live token checked with the fetched key', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    const response = await getOrders(user.accessToken);

    expect([response.status, response.body.userId]).toEqual([200, user.userId]);
  });

  it('rejects a token whose kid is not in the key set', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    expect((await getOrders(signWithOtherKey(user, 'test-key-2'))).status).toBe(401);
  });

  it('rejects a token signed with another key under a known kid', async () => {
    const user = await registerAndLogin(verso.baseUrl);

    expect((await getOrders(signWithOtherKey(user, 'test-key-1'))).status).toBe(401);
  });

  it('rejects a token within the bound after logout on verso', async () => {
    const user = await registerAndLogin(verso.baseUrl);
    expect((await getOrders(user.accessToken)).status).toBe(200);

    await http(verso.baseUrl, 'POST', '/auth/logout', { token: user.accessToken, body: { scope: 'local' } });
    const rejected = await pollUntilSatisfied(() => getOrders(user.accessToken), (response) => response.status === 401, { timeoutMs: BOUND_MS, intervalMs: 5 });

    expect({ status: rejected.value.status, withinBound: rejected.elapsedMs <= BOUND_MS }).toEqual({ status: 401, withinBound: true });
  });
});
