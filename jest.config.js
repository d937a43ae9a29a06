/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The Debezium suite needs Java and Maven: npm run test:debezium runs it (its own config).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/debezium/'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  // On Node.js 20, no eight-line AWS SDK warning from every worker that builds an SDK client.
  setupFiles: ['<rootDir>/test/support/node-version-setup.ts'],
  // Integration tests start real PostgreSQL servers; two workers match the 2-core CI machine.
  maxWorkers: 2,
  testTimeout: 60000,
};
