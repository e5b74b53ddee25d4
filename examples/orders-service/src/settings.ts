import type { VersoGuardOptions } from '../../../src/verso-guard';

export interface OrdersSettings {
  host: string;
  port: number;
  guard: VersoGuardOptions;
}

/**
 * Read the example's settings from the environment. The guard needs verso's
 * database, the issuer and audience that verso signs, and its keys: the
 * shared secret with HS256, or verso's JWKS URL with ES256 or RS256.
 */
export function loadSettings(env: NodeJS.ProcessEnv): OrdersSettings {
  const databaseUrl = env.VERSO_DATABASE_URL;
  if (!databaseUrl) throw new Error('VERSO_DATABASE_URL is required: the PostgreSQL URL of verso');

  const algorithm = (env.VERSO_JWT_ALGORITHM ?? 'HS256') as VersoGuardOptions['algorithm'];
  if (!['HS256', 'ES256', 'RS256'].includes(algorithm)) throw new Error('VERSO_JWT_ALGORITHM must be HS256, ES256 or RS256');

  const keys: Pick<VersoGuardOptions, 'secret' | 'jwksUrl'> =
    algorithm === 'HS256' ? { secret: required(env, 'VERSO_JWT_SECRET', 'with HS256') } : { jwksUrl: required(env, 'VERSO_JWKS_URL', `with ${algorithm}`) };

  return {
    host: env.HOST ?? '127.0.0.1',
    port: Number(env.PORT ?? 3100),
    guard: {
      databaseUrl,
      issuer: env.VERSO_JWT_ISSUER ?? 'verso',
      audience: env.VERSO_JWT_AUDIENCE ?? 'verso-api',
      algorithm,
      ...keys,
    },
  };
}

function required(env: NodeJS.ProcessEnv, name: string, when: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is required ${when}`);
  return value;
}
