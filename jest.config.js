/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The Debezium suite needs Java and Maven: npm run test:debezium runs it (its own config).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/debezium/'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  // Integration tests start real PostgreSQL servers; two workers match the 2-core CI machine.
  maxWorkers: 2,
  testTimeout: 60000,
};
