import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { createTestDatabase, TestDatabase } from '../support/database';
import { http, login, registerAndLogin } from '../support/http';
import { startServerProcess, ServerProcess } from '../support/server-process';
import { startTestApp, testEnvironment, TestApp } from '../support/test-app';
import { decodeSegment, forgeToken, signRs256 } from '../support/tokens';

const run = promisify(execFile);
const JOSE_VERIFY = join(__dirname, '..', 'support', 'jose-verify.mjs');
const RELOAD_WAIT_MS = 10_000;

interface JoseResult {
  ok: boolean;
  kid?: string;
  sub?: string;
  code?: string;
}

function ecKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

function rsaKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

const privatePem = (key: KeyObject) => key.export({ format: 'pem', type: 'pkcs8' }).toString();
const publicPem = (key: KeyObject) => createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();

async function jwksKids(baseUrl: string): Promise<string[]> {
  const response = await http(baseUrl, 'GET', '/.well-known/jwks.json');
  return (response.body.keys as Array<{ kid: string }>).map((key) => key.kid).sort();
}

/** Poll the key set until it lists exactly these kids, or fail after a bounded wait. */
async function waitForKids(baseUrl: string, expected: string[]): Promise<void> {
  const deadline = Date.now() + RELOAD_WAIT_MS;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    seen = await jwksKids(baseUrl);
    if (JSON.stringify(seen) === JSON.stringify([...expected].sort())) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`JWKS lists [${seen.join(', ')}], expected [${expected.join(', ')}] within ${RELOAD_WAIT_MS} ms`);
}

/** Verify tokens in a separate node process with jose's remote JWKS, as a resource server would. */
async function verifyWithJose(baseUrl: string, ...tokens: string[]): Promise<JoseResult[]> {
  const { stdout } = await run(process.execPath, [JOSE_VERIFY, `${baseUrl}/.well-known/jwks.json`, 'verso', 'verso-api', ...tokens], { timeout: 15_000 });
  return JSON.parse(stdout) as JoseResult[];
}

describe('key rotation on a running server process', () => {
  let database: TestDatabase;
  let keysDir: string;
  let server: ServerProcess;
  const january = ecKey();
  const february = ecKey();

  beforeAll(async () => {
    database = await createTestDatabase();
    keysDir = await mkdtemp(join(tmpdir(), 'verso-keys-'));
    await writeFile(join(keysDir, '2026-01.pem'), privatePem(january), { mode: 0o600 });
    server = await startServerProcess(testEnvironment(database.url, { JWT_ALGORITHM: 'ES256', JWT_KEYS_DIR: keysDir, LOG_LEVEL: 'info' }));
  });

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    if (keysDir) await rm(keysDir, { recursive: true, force: true });
  });

  it('rotates, verifies through the JWKS with jose, and retires the old key', async () => {
    const alice = await registerAndLogin(server.baseUrl);
    expect(decodeSegment(alice.accessToken, 0)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: '2026-01' });
    expect(await verifyWithJose(server.baseUrl, alice.accessToken)).toEqual([{ ok: true, kid: '2026-01', sub: alice.userId }]);

    // A newer private key: it signs from the reload on, and the old one still verifies.
    await writeFile(join(keysDir, '2026-02.pem'), privatePem(february), { mode: 0o600 });
    process.kill(server.pid, 'SIGHUP');
    await waitForKids(server.baseUrl, ['2026-01', '2026-02']);

    const bob = await registerAndLogin(server.baseUrl);
    expect(decodeSegment(bob.accessToken, 0).kid).toBe('2026-02');
    expect(await verifyWithJose(server.baseUrl, alice.accessToken, bob.accessToken)).toEqual([
      { ok: true, kid: '2026-01', sub: alice.userId },
      { ok: true, kid: '2026-02', sub: bob.userId },
    ]);
    expect((await http(server.baseUrl, 'GET', '/auth/me', { token: alice.accessToken })).status).toBe(200);

    // The old key becomes verify-only: its tokens still pass until they expire.
    await unlink(join(keysDir, '2026-01.pem'));
    await writeFile(join(keysDir, '2026-01.pub.pem'), publicPem(january));
    process.kill(server.pid, 'SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await jwksKids(server.baseUrl)).toEqual(['2026-01', '2026-02']);
    expect((await http(server.baseUrl, 'GET', '/auth/me', { token: alice.accessToken })).status).toBe(200);
    const again = await login(server.baseUrl, alice.email, alice.password);
    expect(decodeSegment(again.accessToken, 0).kid).toBe('2026-02');

    // Retired: its tokens fail here and for jose alike.
    await unlink(join(keysDir, '2026-01.pub.pem'));
    process.kill(server.pid, 'SIGHUP');
    await waitForKids(server.baseUrl, ['2026-02']);

    const rejected = await http(server.baseUrl, 'GET', '/auth/me', { token: alice.accessToken });
    expect(rejected.status).toBe(401);
    expect(rejected.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(rejected.body).toEqual({ statusCode: 401, message: 'The access token is invalid, expired or revoked.', error: 'Unauthorized' });
    expect(await verifyWithJose(server.baseUrl, alice.accessToken, bob.accessToken)).toEqual([
      { ok: false, code: 'ERR_JWKS_NO_MATCHING_KEY' },
      { ok: true, kid: '2026-02', sub: bob.userId },
    ]);
    expect((await http(server.baseUrl, 'GET', '/auth/me', { token: bob.accessToken })).status).toBe(200);
  });

  it('broken key file on reload keeps the previous keys', async () => {
    const before = await jwksKids(server.baseUrl);
    await writeFile(join(keysDir, '2026-03.pem'), 'not a key');
    process.kill(server.pid, 'SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(await jwksKids(server.baseUrl)).toEqual(before);
    const carol = await registerAndLogin(server.baseUrl);
    expect(decodeSegment(carol.accessToken, 0).kid).toBe('2026-02');
    expect(server.output()).toContain('Key reload failed, keeping the previous keys');
    await unlink(join(keysDir, '2026-03.pem'));
  });

  it('process survives SIGHUP', async () => {
    process.kill(server.pid, 'SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await http(server.baseUrl, 'GET', '/health/live')).status).toBe(200);
  });
});

describe('keys from the environment and periodic reload', () => {
  let database: TestDatabase;
  let verso: TestApp | null = null;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterEach(async () => {
    await verso?.close();
    verso = null;
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('RS256 from JWT_KEYS: last kid signs, every kid verifies', async () => {
    const older = rsaKey();
    const newer = rsaKey();
    const keys = JSON.stringify([
      { kid: 'rsa-b', privateKey: privatePem(newer) },
      { kid: 'rsa-a', privateKey: privatePem(older) },
    ]);
    verso = await startTestApp(database.url, { JWT_ALGORITHM: 'RS256', JWT_KEYS: keys });

    const user = await registerAndLogin(verso.baseUrl);
    expect(decodeSegment(user.accessToken, 0)).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: 'rsa-b' });

    const claims = decodeSegment(user.accessToken, 1);
    const byOlder = forgeToken({ alg: 'RS256', typ: 'at+jwt', kid: 'rsa-a' }, claims, (input) => signRs256(input, older));
    expect((await http(verso.baseUrl, 'GET', '/auth/me', { token: byOlder })).status).toBe(200);
    expect(await verifyWithJose(verso.baseUrl, user.accessToken, byOlder)).toEqual([
      { ok: true, kid: 'rsa-b', sub: user.userId },
      { ok: true, kid: 'rsa-a', sub: user.userId },
    ]);
  });

  it('JWKS holds public members only', async () => {
    verso = await startTestApp(database.url, { JWT_ALGORITHM: 'RS256', JWT_KEYS: JSON.stringify([{ kid: 'rsa-1', privateKey: privatePem(rsaKey()) }]) });

    const response = await http(verso.baseUrl, 'GET', '/.well-known/jwks.json');
    expect(response.status).toBe(200);
    expect(response.body.keys).toHaveLength(1);
    expect(Object.keys(response.body.keys[0]).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(response.body.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', kid: 'rsa-1', use: 'sig' });
  });

  it('HS256 publishes no key', async () => {
    verso = await startTestApp(database.url);
    const response = await http(verso.baseUrl, 'GET', '/.well-known/jwks.json');
    expect(response.body).toEqual({ keys: [] });
  });

  it('JWT_KEYS_RELOAD_INTERVAL_MS picks up a new key without a signal', async () => {
    const keysDir = await mkdtemp(join(tmpdir(), 'verso-keys-'));
    try {
      await writeFile(join(keysDir, 'a.pem'), privatePem(ecKey()));
      verso = await startTestApp(database.url, { JWT_ALGORITHM: 'ES256', JWT_KEYS_DIR: keysDir, JWT_KEYS_RELOAD_INTERVAL_MS: '200' });
      expect(await jwksKids(verso.baseUrl)).toEqual(['a']);

      await writeFile(join(keysDir, 'b.pem'), privatePem(ecKey()));
      await waitForKids(verso.baseUrl, ['a', 'b']);

      const user = await registerAndLogin(verso.baseUrl);
      expect(decodeSegment(user.accessToken, 0).kid).toBe('b');
    } finally {
      await rm(keysDir, { recursive: true, force: true });
    }
  });

  it('two files for one kid fail the start', async () => {
    const keysDir = await mkdtemp(join(tmpdir(), 'verso-keys-'));
    try {
      const key = ecKey();
      await writeFile(join(keysDir, 'a.pem'), privatePem(key));
      await writeFile(join(keysDir, 'a.pub.pem'), publicPem(key));
      await expect(startTestApp(database.url, { JWT_ALGORITHM: 'ES256', JWT_KEYS_DIR: keysDir })).rejects.toThrow('Key id a appears twice');
    } finally {
      await rm(keysDir, { recursive: true, force: true });
    }
  });

  it('RSA key under ES256 fails the start', async () => {
    const keys = JSON.stringify([{ kid: 'wrong', privateKey: privatePem(rsaKey()) }]);
    await expect(startTestApp(database.url, { JWT_ALGORITHM: 'ES256', JWT_KEYS: keys })).rejects.toThrow('Key wrong is not a P-256 key, which ES256 needs');
  });
});
