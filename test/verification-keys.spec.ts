import { generateKeyPairSync } from 'node:crypto';
import { createServer, Server } from 'node:http';

import { Logger } from '@nestjs/common';

import { JwksKeySource, VerificationKeysUnavailableError } from '../src/verso-guard/verification-keys';
import { resolveVersoGuardOptions, VersoGuardOptions } from '../src/verso-guard/verso-guard.options';
import { freePort } from './support/ports';

describe('JwksKeySource', () => {
  let server: Server;
  let url: string;
  let requests = 0;
  const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;

  beforeAll(async () => {
    // The failed fetch below logs a warning that is expected here.
    Logger.overrideLogger(false);
    server = createServer((_request, response) => {
      requests++;
      const keys = [
        { ...publicKey.export({ format: 'jwk' }), kid: 'signing', alg: 'ES256', use: 'sig' },
        { ...publicKey.export({ format: 'jwk' }), kid: 'for-encryption', alg: 'ES256', use: 'enc' },
        { ...publicKey.export({ format: 'jwk' }), kid: 'other-algorithm', alg: 'RS256' },
      ];
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('finds a signing key by kid', async () => {
    const key = await new JwksKeySource(url, 'ES256').findVerificationKey('signing');

    expect(key?.key.equals(publicKey)).toBe(true);
  });

  it.each(['for-encryption', 'other-algorithm', 'unknown'])('has no key for kid %s', async (kid) => {
    expect(await new JwksKeySource(url, 'ES256').findVerificationKey(kid)).toBeUndefined();
  });

  it('shares one fetch among concurrent lookups', async () => {
    const source = new JwksKeySource(url, 'ES256');
    const before = requests;

    await Promise.all(Array.from({ length: 20 }, () => source.findVerificationKey('unknown')));

    expect(requests - before).toBe(1);
  });

  it('is unavailable while the key set cannot be fetched', async () => {
    const source = new JwksKeySource(`http://127.0.0.1:${await freePort()}/.well-known/jwks.json`, 'ES256');

    await expect(source.findVerificationKey('signing')).rejects.toBeInstanceOf(VerificationKeysUnavailableError);
  });
});

describe('resolveVersoGuardOptions', () => {
  const base: VersoGuardOptions = { databaseUrl: 'postgres://127.0.0.1/verso', issuer: 'verso', audience: 'verso-api', algorithm: 'HS256' };

  it('fills in the defaults', () => {
    const resolved = resolveVersoGuardOptions({ ...base, secret: 's'.repeat(32) });

    expect({ cache: resolved.cache, tolerance: resolved.clockToleranceSeconds, secret: resolved.secret }).toEqual({
      cache: { enabled: true, ttlMs: 30_000, maxEntries: 200_000 },
      tolerance: 5,
      secret: ['s'.repeat(32)],
    });
  });

  it.each<[string, Partial<VersoGuardOptions>, string]>([
    ['no key source', {}, 'set exactly one of secret, keys, jwksUrl or keySource'],
    ['two key sources', { secret: 's'.repeat(32), jwksUrl: 'http://127.0.0.1/jwks.json' }, 'set exactly one of secret, keys, jwksUrl or keySource'],
    ['a short secret', { secret: 'short' }, 'each secret must be at least 32 bytes long'],
    ['a secret with ES256', { secret: 's'.repeat(32), algorithm: 'ES256' }, 'secret needs algorithm HS256, not ES256'],
    ['a JWKS URL with HS256', { jwksUrl: 'http://127.0.0.1/jwks.json' }, 'keys and jwksUrl are for ES256 or RS256; HS256 needs secret'],
  ])('rejects %s', (_case, options, message) => {
    expect(() => resolveVersoGuardOptions({ ...base, ...options })).toThrow(`VersoGuardModule: ${message}`);
  });
});
