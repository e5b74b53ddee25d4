import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { requireDist, requireFromRoot } from './paths.mjs';

/**
 * Return a function that seeds the request-path pool on first call: `count`
 * users with one session each, their signed access tokens, and a file with
 * the tokens for the load generator. Later calls return the same pool.
 */
export function lazyTokenPool({ database, signer, count, workDir, progress }) {
  let pool = null;
  return () => {
    pool ??= (async () => {
      progress(`seeding a pool of ${count} users and sessions`);
      const sessions = await insertUsersWithSessions(database, { label: 'pool', count, passwordHash: 'not-a-hash' });
      const tokens = sessions.map(signer);
      const tokenFile = join(workDir, 'pool-tokens.json');
      await writeFile(tokenFile, JSON.stringify(tokens));
      return { sessions, tokens, tokenFile };
    })();
    return pool;
  };
}

/**
 * Insert `count` users with one live session each, in one statement, and
 * return their ids. The refresh token hash is a placeholder: these sessions
 * are only ever used through access tokens signed by `createSigner`.
 */
export async function insertUsersWithSessions(client, { label, count, passwordHash }) {
  const { rows } = await client.query(
    `WITH new_users AS (
       INSERT INTO users (email, password_hash)
       SELECT 'bench-' || $1 || '-' || n || '@example.com', $2 FROM generate_series(1, $3) AS n
       RETURNING id, email
     )
     INSERT INTO sessions (id, user_id, refresh_token_hash, expires_at)
     SELECT gen_random_uuid(), id, sha256(convert_to(id::text, 'UTF8')), now() + interval '30 days' FROM new_users
     RETURNING id AS session_id, user_id`,
    [label, passwordHash, count],
  );
  return rows.map((row) => ({ userId: row.user_id, sessionId: row.session_id }));
}

/**
 * Sign access tokens with verso's own AccessTokenService and key set, so the
 * tokens are exactly those a login would return: same header, claims and key.
 */
export function createSigner(config) {
  const { JwtService } = requireFromRoot('@nestjs/jwt');
  const { SigningKeysService } = requireDist('src/auth/keys/signing-keys.service.js');
  const { AccessTokenService } = requireDist('src/auth/access-token.service.js');

  const service = new AccessTokenService(config, new JwtService({}), new SigningKeysService(config));
  const issuedAt = new Date();
  return ({ userId, sessionId }) => service.sign({ userId, sessionId, tokenVersion: 0, generation: 0, issuedAt });
}

/** Hash a password with verso's Argon2id parameters from the configuration. */
export async function hashPassword(config, password) {
  const { PasswordHasherService } = requireDist('src/auth/password-hasher.service.js');
  return new PasswordHasherService(config).hash(password);
}
