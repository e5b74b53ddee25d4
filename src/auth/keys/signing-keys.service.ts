import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

import { StartupError } from '../../common/startup-error';
import { InjectConfig } from '../../config/app-config.module';
import { AppConfig, SigningAlgorithm } from '../../config/configuration';
import { secretKeyId } from '../../verso-guard/verification-keys';

export interface VerificationKey {
  kid: string;
  algorithm: SigningAlgorithm;
  // A secret key for HS256, a public key otherwise.
  key: KeyObject;
}

export interface SigningKey extends VerificationKey {
  // The same secret for HS256, the private key otherwise.
  signingKey: KeyObject;
}

interface KeySet {
  signing: SigningKey;
  verification: Map<string, VerificationKey>;
}

/**
 * The keys that sign and verify access tokens. Key objects are built once,
 * because jsonwebtoken given a string secret rebuilds a key on every verify
 * and loses most of the guard's throughput.
 *
 * With JWT_KEYS_DIR, each `<kid>.pem` private key signs and verifies, and each
 * `<kid>.pub.pem` public key only verifies, which keeps a retired key's tokens
 * valid until they expire. The private key whose kid sorts last signs, so
 * date-named files rotate in order. Deleting a file retires its key at the
 * next reload: on SIGHUP, and every JWT_KEYS_RELOAD_INTERVAL_MS when set.
 * JWT_KEYS and JWT_SECRET come from the environment, which a running process
 * cannot change, so a reload rereads only the directory.
 */
@Injectable()
export class SigningKeysService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SigningKeysService.name);
  private keys: KeySet;
  private reloadTimer: NodeJS.Timeout | null = null;
  // Set while the last reload failed, so the next good one is logged even if nothing changed.
  private lastReloadFailed = false;
  private readonly onSighup = () => {
    if (this.reloadsFromDirectory) this.reload();
    else this.logger.log('Received SIGHUP: the keys come from the environment, so there is nothing to reload');
  };

  constructor(@InjectConfig() private readonly config: AppConfig) {
    try {
      this.keys = this.load();
    } catch (error) {
      // A key the operator must fix, such as a file that does not decode.
      throw new StartupError(`Signing keys could not be loaded: ${(error as Error).message}`);
    }
  }

  onApplicationBootstrap(): void {
    this.logger.log(`Keys loaded: ${describeKeySet(this.keys)}`);

    // Installed whatever the key source: a listener also stops Node's default
    // reaction to SIGHUP, which is to exit, and service managers send SIGHUP
    // to reload.
    process.on('SIGHUP', this.onSighup);
    if (!this.reloadsFromDirectory) return;

    const interval = this.config.jwt.keysReloadIntervalMs;
    if (interval > 0) {
      this.reloadTimer = setInterval(() => this.reload(), interval);
      this.reloadTimer.unref();
    }
  }

  onApplicationShutdown(): void {
    process.off('SIGHUP', this.onSighup);
    if (this.reloadTimer) clearInterval(this.reloadTimer);
    this.reloadTimer = null;
  }

  private get reloadsFromDirectory(): boolean {
    return Boolean(this.config.jwt.keysDir) && this.config.jwt.algorithm !== 'HS256';
  }

  get signingKey(): SigningKey {
    return this.keys.signing;
  }

  get algorithm(): SigningAlgorithm {
    return this.config.jwt.algorithm;
  }

  findVerificationKey(kid: string): VerificationKey | undefined {
    return this.keys.verification.get(kid);
  }

  listVerificationKeys(): VerificationKey[] {
    return [...this.keys.verification.values()];
  }

  /**
   * Reread the key files; a broken key set keeps the previous one in force.
   * Returns whether the key set changed.
   */
  reload(): boolean {
    let next: KeySet;
    try {
      next = this.load();
    } catch (error) {
      this.lastReloadFailed = true;
      this.logger.error(`Key reload failed, keeping the previous keys: ${(error as Error).message}`);
      return false;
    }

    // A new key saved under an existing file name kills every token the old
    // one signed, and the JWKS then publishes another key under the same kid.
    const replaced = replacedKids(this.keys, next);
    for (const kid of replaced) {
      this.logger.warn(`Key ${kid} now holds a different key: tokens signed with the old one no longer verify. Give a new key a new file name.`);
    }

    const before = describeKeySet(this.keys);
    const recovered = this.lastReloadFailed;
    this.keys = next;
    this.lastReloadFailed = false;
    const after = describeKeySet(next);
    const changed = after !== before || replaced.length > 0;
    if (changed || recovered) this.logger.log(`Keys reloaded: ${after}`);
    return changed;
  }

  private load(): KeySet {
    const { jwt } = this.config;
    if (jwt.algorithm === 'HS256') return this.loadSecret();
    if (jwt.keysDir) return this.loadDirectory(jwt.keysDir);
    if (jwt.keys) return this.loadInline(jwt.keys);
    throw new Error(`JWT_KEYS_DIR or JWT_KEYS is required with JWT_ALGORITHM=${jwt.algorithm}`);
  }

  private loadSecret(): KeySet {
    const secret = this.config.jwt.secret;
    if (!secret) throw new Error('JWT_SECRET is required with JWT_ALGORITHM=HS256');

    const key = createSecretKey(Buffer.from(secret, 'utf8'));
    const kid = secretKeyId(secret);
    const signing: SigningKey = { kid, algorithm: 'HS256', key, signingKey: key };
    return { signing, verification: new Map([[kid, signing]]) };
  }

  private loadDirectory(dir: string): KeySet {
    const files = readdirSync(dir).filter((name) => name.endsWith('.pem'));
    const pems = files.map((name) => ({
      kid: name.replace(/\.pub\.pem$|\.pem$/, ''),
      isPublic: name.endsWith('.pub.pem'),
      pem: readKeyFile(join(dir, name)),
    }));
    return this.buildKeySet(pems);
  }

  private loadInline(json: string): KeySet {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new Error('JWT_KEYS must be a JSON array of {kid, privateKey} or {kid, publicKey} objects');
    }
    if (!Array.isArray(parsed)) throw new Error('JWT_KEYS must be a JSON array');

    const pems = parsed.map((entry: { kid?: unknown; privateKey?: unknown; publicKey?: unknown }, index) => {
      if (typeof entry.kid !== 'string' || entry.kid.length === 0) throw new Error(`JWT_KEYS[${index}].kid must be a non-empty string`);
      const pem = entry.privateKey ?? entry.publicKey;
      if (typeof pem !== 'string') throw new Error(`JWT_KEYS[${index}] needs privateKey or publicKey as a PEM string`);
      return { kid: entry.kid, isPublic: entry.privateKey === undefined, pem };
    });
    return this.buildKeySet(pems);
  }

  private buildKeySet(pems: Array<{ kid: string; isPublic: boolean; pem: string }>): KeySet {
    const algorithm = this.config.jwt.algorithm;
    const verification = new Map<string, VerificationKey>();
    let signing: SigningKey | undefined;

    // The private key whose kid sorts last signs. Kids are compared by code
    // unit, as the README states, not by file name ('-' sorts before '.', so
    // a-2.pem came before a.pem) and not by locale.
    const sorted = [...pems].sort(byKid);
    for (const { kid, isPublic, pem } of sorted) {
      if (!KID_PATTERN.test(kid)) throw new Error(`Key id ${JSON.stringify(kid.slice(0, 80))} must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'`);
      // Two files for one kid (a.pem and a.pub.pem) would leave it unclear which one verifies.
      if (verification.has(kid)) throw new Error(`Key id ${kid} appears twice`);

      // Renaming a private key's file to .pub.pem makes it verify only, but
      // leaves the private key on disk under a public name.
      if (isPublic && pem.includes('PRIVATE KEY')) {
        this.logger.warn(`Key ${kid} is named as a public key but holds a private key: only its public half is used. Replace the file with the public key.`);
      }

      let privateKey: KeyObject | undefined;
      let publicKey: KeyObject;
      try {
        privateKey = isPublic ? undefined : createPrivateKey(pem);
        publicKey = privateKey ? createPublicKey(privateKey) : createPublicKey(pem);
      } catch (error) {
        throw new Error(`Key ${kid} is not a valid PEM ${isPublic ? 'public' : 'private'} key (${(error as Error).message})`);
      }
      assertKeyFits(kid, publicKey, algorithm);

      const entry: VerificationKey = { kid, algorithm, key: publicKey };
      verification.set(kid, entry);
      // Sorted input, so the last private key wins.
      if (privateKey) signing = { ...entry, signingKey: privateKey };
    }

    if (!signing) throw new Error(`No private key found for JWT_ALGORITHM=${algorithm}`);
    return { signing, verification };
  }
}

// A PEM private key is a few kilobytes at most (RSA 4096: about 3.3 KB).
const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * Read one key file. Only regular files of key size are read: the read is
 * synchronous, so a named pipe left in the directory blocked every request
 * until something wrote to it, and a huge file blocked them for seconds.
 */
function readKeyFile(path: string): string {
  const info = statSync(path);
  if (!info.isFile()) throw new Error(`Key file ${path} is not a regular file`);
  if (info.size > MAX_KEY_FILE_BYTES) throw new Error(`Key file ${path} is larger than ${MAX_KEY_FILE_BYTES} bytes`);
  return readFileSync(path, 'utf8');
}

function byKid(a: { kid: string }, b: { kid: string }): number {
  if (a.kid < b.kid) return -1;
  if (a.kid > b.kid) return 1;
  return 0;
}

/** Return the kids present in both key sets whose public keys differ. */
function replacedKids(before: KeySet, after: KeySet): string[] {
  const replaced: string[] = [];
  for (const [kid, entry] of after.verification) {
    const previous = before.verification.get(kid);
    if (previous && !previous.key.equals(entry.key)) replaced.push(kid);
  }
  return replaced;
}

/** A kid goes into every token header, so it is short and needs no escaping. */
const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Describe the kids and the signing kid for a log line. No secret appears in it. */
function describeKeySet(keys: KeySet): string {
  return `${keys.verification.size} verification key(s) [${[...keys.verification.keys()].join(', ')}], signing with kid ${keys.signing.kid}`;
}

function assertKeyFits(kid: string, key: KeyObject, algorithm: SigningAlgorithm): void {
  const type = key.asymmetricKeyType;
  if (algorithm === 'RS256' && type !== 'rsa') throw new Error(`Key ${kid} is ${type}, but RS256 needs an RSA key`);
  if (algorithm === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new Error(`Key ${kid} is shorter than 2048 bits`);
  }
  if (algorithm === 'ES256' && (type !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')) {
    throw new Error(`Key ${kid} is not a P-256 key, which ES256 needs`);
  }
}
