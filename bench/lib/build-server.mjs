import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { transformFile } from '@swc/core';

import { ROOT } from './paths.mjs';

const SOURCE_DIR = join(ROOT, 'bench', 'server');
const OUTPUT_DIR = join(ROOT, 'dist', 'bench', 'server');

// The swc settings of the Jest transform (decorator metadata included), so
// that Nest gets the constructor parameter types it needs, as it does from tsc
// under `nest build`. Read from jest.config.js to keep one copy of them.
const jestConfig = createRequire(import.meta.url)(join(ROOT, 'jest.config.js'));
const [, SWC_OPTIONS] = Object.values(jestConfig.transform)[0];

/**
 * Compile the bench-only server next to the build output, so that its
 * imports of ../../src resolve to dist/src, the code that `nest build` just
 * produced. swc only transpiles; `npx tsc -p bench/tsconfig.json` checks types.
 */
export async function buildBenchServer() {
  await mkdir(OUTPUT_DIR, { recursive: true });
  const files = (await readdir(SOURCE_DIR)).filter((name) => name.endsWith('.ts'));
  for (const name of files) {
    const { code } = await transformFile(join(SOURCE_DIR, name), { ...SWC_OPTIONS, filename: name });
    await writeFile(join(OUTPUT_DIR, name.replace(/\.ts$/, '.js')), code);
  }
  return join(OUTPUT_DIR, 'main.js');
}
