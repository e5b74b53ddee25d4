import { createHmac, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';

import { createTestDatabase, TestDatabase } from '../support/database';
import { http, HttpResult, LoggedInUser, registerAndLogin } from '../support/http';
import { introspect, testClients } from '../support/oauth-clients';
import { startTestApp, TestApp } from '../support/test-app';
import { decodeSegment, encodeSegment, forgeToken, signEs256, signHs256, signRs256 } from '../support/tokens';

const INVALID_TOKEN_BODY = { statusCode: 401, message: 'The access token is invalid, expired or revoked.', error: 'Unauthorized' };
const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

type Claims = Record<string, unknown>;

function me(verso: TestApp, token: string): Promise<HttpResult> {
  return http(verso.baseUrl, 'GET', '/auth/me', { token });
}

function expectInvalidToken(response: HttpResult): void {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toBe(INVALID_TOKEN_CHALLENGE);
  expect(response.body).toEqual(INVALID_TOKEN_BODY);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('JWT profile with HS256', () => {
  const secret = randomBytes(32).toString('base64url');
  let database: TestDatabase;
  let verso: TestApp;
  let user: LoggedInUser;
  let header: Claims;
  let claims: Claims;

  // Signed with the service's own secret: only the property under test is wrong.
  const sign = (tokenHeader: unknown, payload: unknown) => forgeToken(tokenHeader, payload, (input) => signHs256(input, secret));
  const withClaims = (changes: Claims) => sign(header, { ...claims, ...changes });
  const without = (name: string) => {
    const { [name]: _removed, ...rest } = claims;
    return sign(header, rest);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    verso = await startTestApp(database.url, { JWT_SECRET: secret, JWT_CLOCK_TOLERANCE_SECONDS: '5' });
    user = await registerAndLogin(verso.baseUrl);
    header = decodeSegment(user.accessToken, 0);
    claims = decodeSegment(user.accessToken, 1);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  describe('baseline', () => {
    it('issued token has the RFC 9068 shape', () => {
      expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: expect.any(String) });
      expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub', 'ver']);
      expect(claims).toMatchObject({ iss: 'verso', aud: 'verso-api', sub: user.userId, sid: user.sessionId, ver: 0 });
    });

    it('re-signed copy of a valid token is accepted', async () => {
      const response = await me(verso, sign(header, claims));
      expect(response.status).toBe(200);
    });

    it('iat inside the clock tolerance is accepted', async () => {
      const response = await me(verso, withClaims({ iat: nowSeconds() + 3 }));
      expect(response.status).toBe(200);
    });

    it('ver written as 0.0 is the number 0', async () => {
      const payload = JSON.stringify({ ...claims, ver: 1 }).replace('"ver":1', '"ver":0.0');
      const response = await me(verso, sign(header, payload));
      expect(response.status).toBe(200);
    });
  });

  describe('malformed or forged tokens get 401', () => {
    it('alg none with an empty signature', async () => {
      const token = `${encodeSegment({ ...header, alg: 'none' })}.${encodeSegment(claims)}.`;
      expectInvalidToken(await me(verso, token));
    });

    it('token signed with another secret', async () => {
      const token = forgeToken(header, claims, (input) => signHs256(input, randomBytes(32)));
      expectInvalidToken(await me(verso, token));
    });

    it('payload swapped under the original signature', async () => {
      const other = await registerAndLogin(verso.baseUrl);
      const [encodedHeader, , signature] = user.accessToken.split('.');
      const tampered = `${encodedHeader}.${encodeSegment({ ...claims, sub: other.userId, sid: other.sessionId })}.${signature}`;
      expectInvalidToken(await me(verso, tampered));
    });

    it('one signature bit flipped', async () => {
      const [encodedHeader, encodedPayload, signature] = user.accessToken.split('.');
      const bytes = Buffer.from(signature, 'base64url');
      bytes[0] ^= 1;
      expectInvalidToken(await me(verso, `${encodedHeader}.${encodedPayload}.${bytes.toString('base64url')}`));
    });

    it('HS512 signed with the configured secret', async () => {
      const token = forgeToken({ ...header, alg: 'HS512' }, claims, (input) => createHmac('sha512', secret).update(input).digest('base64url'));
      expectInvalidToken(await me(verso, token));
    });

    it('kid that names no key', async () => {
      expectInvalidToken(await me(verso, sign({ ...header, kid: 'no-such-key' }, claims)));
    });

    it('missing kid', async () => {
      expectInvalidToken(await me(verso, sign({ alg: 'HS256', typ: 'at+jwt' }, claims)));
    });

    it.each(['exp', 'sid', 'ver', 'sub'])('missing %s', async (name) => {
      expectInvalidToken(await me(verso, without(name)));
    });

    it.each(['iat', 'jti'])('missing %s', async (name) => {
      expectInvalidToken(await me(verso, without(name)));
    });

    it('ver as a string', async () => {
      expectInvalidToken(await me(verso, withClaims({ ver: '0' })));
    });

    it('typ JWT instead of at+jwt', async () => {
      expectInvalidToken(await me(verso, sign({ ...header, typ: 'JWT' }, claims)));
    });

    it('missing typ', async () => {
      expectInvalidToken(await me(verso, sign({ alg: 'HS256', kid: header.kid }, claims)));
    });

    it('refresh token sent as a bearer token', async () => {
      expectInvalidToken(await me(verso, user.refreshToken));
    });

    it.each([
      ['one part', 'abc'],
      ['two parts', 'abc.def'],
      ['four parts', 'abc.def.ghi.jkl'],
      ['standard base64 characters', 'eyJhbGciOiJIUzI1NiJ9+.e30/.c2ln='],
      ['header that is not JSON', `${Buffer.from('not json').toString('base64url')}.e30.c2ln`],
      ['header that is a JSON array', `${encodeSegment([])}.e30.c2ln`],
    ])('not three base64url parts: %s', async (_name, token) => {
      expectInvalidToken(await me(verso, token));
    });
  });

  describe('time and audience claims get 401', () => {
    it('iat in the future beyond the tolerance', async () => {
      expectInvalidToken(await me(verso, withClaims({ iat: nowSeconds() + 120 })));
    });

    it('expired token', async () => {
      expectInvalidToken(await me(verso, withClaims({ iat: nowSeconds() - 1000, exp: nowSeconds() - 60 })));
    });

    it('nbf in the future', async () => {
      expectInvalidToken(await me(verso, withClaims({ nbf: nowSeconds() + 120 })));
    });

    it('wrong iss', async () => {
      expectInvalidToken(await me(verso, withClaims({ iss: 'someone-else' })));
    });

    it('wrong aud', async () => {
      expectInvalidToken(await me(verso, withClaims({ aud: 'another-api' })));
    });

    it('exp as a string', async () => {
      expectInvalidToken(await me(verso, withClaims({ exp: String(nowSeconds() + 600) })));
    });

    it.each([
      ['iat', 'a string', () => String(nowSeconds())],
      ['nbf', 'a string', () => String(nowSeconds() - 10)],
      ['sub', 'a number', () => 1],
      ['jti', 'a number', () => 1],
      ['jti', 'empty', () => ''],
      ['aud', 'a number', () => 1],
      ['iss', 'an array', () => ['verso']],
    ])('%s as %s', async (name, _kind, value) => {
      expectInvalidToken(await me(verso, withClaims({ [name]: value() })));
    });
  });

  describe('attacker variants get 401', () => {
    it.each(['hs256', 'Hs256', 'HS256 ', 'none', 'NONE'])('alg %j signed with the secret', async (alg) => {
      expectInvalidToken(await me(verso, sign({ ...header, alg }, claims)));
    });

    it('duplicate alg whose last value is none', async () => {
      const rawHeader = `{"alg":"HS256","typ":"at+jwt","kid":${JSON.stringify(header.kid)},"alg":"none"}`;
      const token = `${encodeSegment(rawHeader)}.${encodeSegment(claims)}.`;
      expectInvalidToken(await me(verso, token));
    });

    it.each(['../../../../etc/passwd', '__proto__', 'constructor', 'hasOwnProperty', '*', ''])('kid %j', async (kid) => {
      expectInvalidToken(await me(verso, sign({ ...header, kid }, claims)));
    });

    it('real kid followed by a NUL character', async () => {
      expectInvalidToken(await me(verso, sign({ ...header, kid: `${String(header.kid)}\u0000` }, claims)));
    });

    it('kid of 8 kB', async () => {
      expectInvalidToken(await me(verso, sign({ ...header, kid: 'k'.repeat(8192) }, claims)));
    });

    it('kid as a number', async () => {
      expectInvalidToken(await me(verso, sign({ ...header, kid: 1 }, claims)));
    });

    it('crit header naming an extension', async () => {
      expectInvalidToken(await me(verso, sign({ ...header, crit: ['exp'] }, claims)));
    });

    it('numeric sid', async () => {
      expectInvalidToken(await me(verso, withClaims({ sid: 1 })));
    });

    it('negative ver', async () => {
      expectInvalidToken(await me(verso, withClaims({ ver: -1 })));
    });

    it('fractional ver', async () => {
      expectInvalidToken(await me(verso, withClaims({ ver: 0.5 })));
    });

    it('ver of another version', async () => {
      expectInvalidToken(await me(verso, withClaims({ ver: 1 })));
    });

    it('sub that is not a UUID', async () => {
      expectInvalidToken(await me(verso, withClaims({ sub: 'admin' })));
    });

    it("session of another user under one's own sub", async () => {
      const other = await registerAndLogin(verso.baseUrl);
      expectInvalidToken(await me(verso, withClaims({ sid: other.sessionId })));
    });

    it('random session id', async () => {
      expectInvalidToken(await me(verso, withClaims({ sid: '00000000-0000-4000-8000-000000000000' })));
    });

    it('token after a local logout', async () => {
      const victim = await registerAndLogin(verso.baseUrl);
      expect((await http(verso.baseUrl, 'POST', '/auth/logout', { token: victim.accessToken })).status).toBe(204);
      expectInvalidToken(await me(verso, victim.accessToken));
    });

    it('token of a deleted user', async () => {
      const victim = await registerAndLogin(verso.baseUrl);
      await database.query('DELETE FROM users WHERE id = $1', [victim.userId]);
      expectInvalidToken(await me(verso, victim.accessToken));
    });

    it('token in the query string is not read', async () => {
      const response = await http(verso.baseUrl, 'GET', `/auth/me?access_token=${user.accessToken}`);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(response.body).toEqual({ statusCode: 401, message: 'An access token is required.', error: 'Unauthorized' });
    });

    it('Basic scheme with a valid token', async () => {
      const response = await http(verso.baseUrl, 'GET', '/auth/me', { headers: { authorization: `Basic ${user.accessToken}` } });
      expectInvalidToken(response);
    });

    it('header larger than the server accepts', async () => {
      const response = await me(verso, sign({ ...header, kid: 'k'.repeat(70_000) }, claims));
      expect(response.status).toBe(431);
    });
  });
});

describe('JWT profile with ES256', () => {
  let database: TestDatabase;
  let verso: TestApp;
  let user: LoggedInUser;
  let header: Claims;
  let claims: Claims;
  let privateKey: KeyObject;
  let publicPem: string;
  let clients: ReturnType<typeof testClients>;

  beforeAll(async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    privateKey = pair.privateKey;
    publicPem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const keys = JSON.stringify([{ kid: 'es-1', privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }]);

    database = await createTestDatabase();
    clients = testClients();
    verso = await startTestApp(database.url, { JWT_ALGORITHM: 'ES256', JWT_KEYS: keys, INTROSPECTION_CLIENTS: clients.environment });
    user = await registerAndLogin(verso.baseUrl);
    header = decodeSegment(user.accessToken, 0);
    claims = decodeSegment(user.accessToken, 1);
  });

  afterAll(async () => {
    await verso?.close();
    await database?.drop();
  });

  it('issued token names its key', () => {
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: 'es-1' });
  });

  it('re-signed copy with the key is accepted', async () => {
    const response = await me(verso, forgeToken(header, claims, (input) => signEs256(input, privateKey)));
    expect(response.status).toBe(200);
  });

  it('HS256 signed with the public key PEM', async () => {
    const token = forgeToken({ ...header, alg: 'HS256' }, claims, (input) => signHs256(input, publicPem));
    expectInvalidToken(await me(verso, token));
  });

  it('HS256 signed with the public JWK from the key set', async () => {
    const jwks = await http(verso.baseUrl, 'GET', '/.well-known/jwks.json');
    const token = forgeToken({ ...header, alg: 'HS256' }, claims, (input) => signHs256(input, JSON.stringify(jwks.body.keys[0])));
    expectInvalidToken(await me(verso, token));
  });

  it('ES256 signed with another key under the same kid', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expectInvalidToken(await me(verso, forgeToken(header, claims, (input) => signEs256(input, other))));
  });

  it('RS256 signed with an RSA key under the same kid', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expectInvalidToken(await me(verso, forgeToken({ ...header, alg: 'RS256' }, claims, (input) => signRs256(input, rsa))));
  });

  it('kid that names no key', async () => {
    expectInvalidToken(await me(verso, forgeToken({ ...header, kid: 'es-2' }, claims, (input) => signEs256(input, privateKey))));
  });

  it('alg none with an empty signature', async () => {
    expectInvalidToken(await me(verso, `${encodeSegment({ ...header, alg: 'none' })}.${encodeSegment(claims)}.`));
  });

  // An ES256 signature must be 64 bytes. A shorter one makes the signature
  // library throw a TypeError instead of jsonwebtoken's own error.
  describe('signature of the wrong length', () => {
    const shortSignature = () => `${user.accessToken.split('.').slice(0, 2).join('.')}.AAAA`;

    it('gets 401 from the guard', async () => {
      expectInvalidToken(await me(verso, shortSignature()));
    });

    it('is inactive to introspection', async () => {
      const response = await introspect(verso.baseUrl, shortSignature(), clients.gateway);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ active: false });
    });

    it('is ignored by revocation', async () => {
      const response = await http(verso.baseUrl, 'POST', '/oauth/revoke', { basic: clients.gateway, form: { token: shortSignature() } });
      expect(response.status).toBe(200);
      expect((await me(verso, user.accessToken)).status).toBe(200);
    });
  });
});
