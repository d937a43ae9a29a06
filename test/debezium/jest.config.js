/**
 * `npm run test:debezium`: Debezium's PostgreSQL connector, as Airbyte configures it, against
 * what the replication setup creates. Needs JDK 17+ and Maven (the global setup builds the probe);
 * `npm test` leaves this folder out so it keeps passing without Java.
 * @type {import('jest').Config}
 */
module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  roots: ['<rootDir>/test/debezium'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  globalSetup: '<rootDir>/test/debezium/global-setup.ts',
  // Each suite starts a PostgreSQL and JVMs; two workers match the 2-core CI machine.
  maxWorkers: 2,
  testTimeout: 180000,
};
