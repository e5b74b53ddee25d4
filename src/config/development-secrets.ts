import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { Logger } from '@nestjs/common';

interface DevelopmentSecrets {
  jwtSecret: string;
  refreshTokenSecret: string;
}

/**
 * Fill JWT_SECRET and REFRESH_TOKEN_SECRET from a file under .data/, creating
 * it with fresh random values on first start, so that tokens survive a restart
 * of a development server. Never used in production: there the configuration
 * rejects a start without operator-provided secrets.
 */
export async function applyDevelopmentSecrets(env: NodeJS.ProcessEnv, file: string): Promise<void> {
  if (env.NODE_ENV === 'production') return;
  if (env.JWT_SECRET && env.REFRESH_TOKEN_SECRET) return;

  const secrets = await readOrCreate(file);
  // The warning names only the secrets in use that came from the file.
  // JWT_SECRET signs nothing with ES256 or RS256 keys, so then it is not named.
  const fromFile: string[] = [];
  if (env.JWT_SECRET === undefined) {
    env.JWT_SECRET = secrets.jwtSecret;
    if ((env.JWT_ALGORITHM ?? 'HS256') === 'HS256') fromFile.push('JWT_SECRET');
  }
  if (env.REFRESH_TOKEN_SECRET === undefined) {
    env.REFRESH_TOKEN_SECRET = secrets.refreshTokenSecret;
    fromFile.push('REFRESH_TOKEN_SECRET');
  }
  if (fromFile.length === 0) return;

  new Logger('Configuration').warn(
    `Using development secrets from ${file} for ${fromFile.join(' and ')}, because NODE_ENV is not production. Set ${fromFile.join(' and ')} yourself in production.`,
  );
}

async function readOrCreate(file: string): Promise<DevelopmentSecrets> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DevelopmentSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }

  const secrets: DevelopmentSecrets = {
    jwtSecret: randomBytes(48).toString('base64url'),
    refreshTokenSecret: randomBytes(48).toString('base64url'),
  };
  await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, JSON.stringify(secrets), { mode: 0o600, flag: 'wx' });
  return secrets;
}
