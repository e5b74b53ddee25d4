import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Logger } from '@nestjs/common';

import { SigningKeysService } from '../../src/auth/keys/signing-keys.service';
import { StartupError } from '../../src/common/startup-error';
import { loadConfig } from '../../src/config/configuration';

// Changes an operator makes to JWT_KEYS_DIR between two reloads, and the log
// lines they then need. The service is built directly, without a database.

function ecPrivatePem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

describe('key reload log and order', () => {
  let keysDir: string;
  let logLines: string[];

  function createService(): SigningKeysService {
    const config = loadConfig({ NODE_ENV: 'test', JWT_ALGORITHM: 'ES256', JWT_KEYS_DIR: keysDir, REFRESH_TOKEN_SECRET: 'y'.repeat(32) });
    return new SigningKeysService(config);
  }

  beforeEach(() => {
    keysDir = mkdtempSync(join(tmpdir(), 'verso-reload-'));
    logLines = [];
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => {
        logLines.push(String(args[0]));
      });
    }
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(keysDir, { recursive: true, force: true });
  });

  it('truncated key file: error names it', () => {
    writeFileSync(join(keysDir, '2026-01.pem'), ecPrivatePem());
    const keys = createService();

    writeFileSync(join(keysDir, '2026-02.pem'), ecPrivatePem().slice(0, 100));
    expect(keys.reload()).toBe(false);

    // PEM decoding alone reports "error:1E08010C:DECODER routines::unsupported", without the file.
    expect(logLines.join('\n')).toContain('Key reload failed, keeping the previous keys: Key 2026-02 is not a valid PEM private key');
  });

  it('new key under existing kid: logged', () => {
    writeFileSync(join(keysDir, '2026-01.pem'), ecPrivatePem());
    const keys = createService();
    const before = keys.signingKey.key.export({ format: 'jwk' });

    // The README's `openssl genpkey ... -out keys/2026-01.pem`, run a second time on the same day.
    writeFileSync(join(keysDir, '2026-01.pem'), ecPrivatePem());
    keys.reload();
    const after = keys.signingKey.key.export({ format: 'jwk' });

    // The new key is in force, so every token signed before fails and the JWKS
    // publishes another key under the same kid: the operator must hear of it.
    expect(after.x).not.toBe(before.x);
    expect(logLines).toContain('Key 2026-01 now holds a different key: tokens signed with the old one no longer verify. Give a new key a new file name.');
  });

  it('reload after a failure: logged', () => {
    writeFileSync(join(keysDir, '2026-01.pem'), ecPrivatePem());
    const keys = createService();

    writeFileSync(join(keysDir, '2026-02.pem'), 'not a key');
    keys.reload();
    unlinkSync(join(keysDir, '2026-02.pem'));
    logLines.length = 0;
    keys.reload();

    // Without a line here, the last key line in the log is still the failure.
    expect(logLines).toEqual(['Keys reloaded: 1 verification key(s) [2026-01], signing with kid 2026-01']);
  });

  it('last kid in sort order signs', () => {
    writeFileSync(join(keysDir, '2026-12-04.pem'), ecPrivatePem());
    writeFileSync(join(keysDir, '2026-12-04-2.pem'), ecPrivatePem());

    // The kids sort as 2026-12-04 < 2026-12-04-2. The file names sort the other
    // way ('-' before '.'), which used to decide.
    expect(createService().signingKey.kid).toBe('2026-12-04-2');
  });

  it('private key named .pub.pem: warned', () => {
    writeFileSync(join(keysDir, '2026-01.pem'), ecPrivatePem());
    // What renaming the old key's .pem to .pub.pem, instead of replacing it with its public key, leaves.
    writeFileSync(join(keysDir, '2025-12.pub.pem'), ecPrivatePem());

    const keys = createService();

    expect(keys.signingKey.kid).toBe('2026-01');
    expect(logLines).toContain('Key 2025-12 is named as a public key but holds a private key: only its public half is used. Replace the file with the public key.');
  });

  it('broken key at start: message without a stack', () => {
    writeFileSync(join(keysDir, '2026-01.pem'), 'not a key');

    expect(() => createService()).toThrow(StartupError);
    expect(() => createService()).toThrow(/^Signing keys could not be loaded: Key 2026-01 is not a valid PEM private key/);
  });
});
