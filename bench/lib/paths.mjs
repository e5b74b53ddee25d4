import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** require() for verso's CommonJS build output, so bench code shares its module instances (TypeORM metadata, Nest). */
export const requireFromRoot = createRequire(join(ROOT, 'package.json'));

export function requireDist(path) {
  return requireFromRoot(join(ROOT, 'dist', path));
}
