/**
 * The second pass of `npm test`: files that compare response times run here,
 * one at a time, after every other file has finished, so the load of test
 * files running in parallel does not blur what they measure.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/**/*.timing.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
};
