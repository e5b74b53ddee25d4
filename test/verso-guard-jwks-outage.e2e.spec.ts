import { generateKeyPairSync, randomUUID } from 'node:crypto';

import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { sign } from 'jsonwebtoken';

import { createOrdersApp } from '../examples/orders-service/src/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { http } from './support/http';
import { pollUntilSatisfied } from './support/polling';

// Port 9 (discard) on loopback, where no server listens on the test machines, so every JWKS fetch fails.
const UNREACHABLE_JWKS_URL = 'http://127.0.0.1:9/.well-known/jwks.json';

/**
 * A service whose guard fetches its keys from a JWKS URL that cannot be
 * reached. No key set was ever loaded, so no token can be checked, and the
 * guard must respond with 503 and Retry-After, as for a database outage.
 */
describe('VersoGuardModule with an unreachable JWKS', () => {
  let database: TestDatabase;
  let orders: NestFastifyApplication;
  let ordersUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    orders = await createOrdersApp(
      {
        host: '127.0.0.1',
        port: 0,
        guard: { databaseUrl: database.url, issuer: 'verso', audience: 'verso-api', algorithm: 'ES256', jwksUrl: UNREACHABLE_JWKS_URL },
      },
      { logger: false },
    );
    await orders.listen(0, '127.0.0.1');
    ordersUrl = `http://127.0.0.1:${(orders.getHttpServer().address() as { port: number }).port}`;
    await pollUntilSatisfied(() => http(ordersUrl, 'GET', '/health'), (response) => response.body?.invalidationChannel === 'up', { timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await orders?.close();
    await database?.drop();
  });

  it('rejects a token with 503', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'verso', aud: 'verso-api', sub: randomUUID(), sid: randomUUID(), ver: 0, jti: randomUUID(), iat: now, exp: now + 60 };
    const token = sign(claims, key, { algorithm: 'ES256', noTimestamp: true, header: { alg: 'ES256', typ: 'at+jwt', kid: 'key-1' } });

    const response = await http(ordersUrl, 'GET', '/orders', { token });

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.body).toEqual({ statusCode: 503, message: 'The token could not be checked. Retry shortly.', error: 'Service Unavailable' });
  });
});
