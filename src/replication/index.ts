/**
 * The replication setup: one pure planner and a thin applier, shared by the custom-resource
 * Lambda, `npm run local` and `npm run doctor`.
 */
export * from './types';
export * from './errors';
export { applyPlan, type ApplyOptions } from './apply';
export {
  loginProbe,
  readCatalog,
  REPLICA_IDENTITIES,
  type PasswordCheck,
  type ReadCatalogOptions,
} from './catalog';
export { clientConfig, connect, type ConnectOptions, type TlsOptions } from './connect';
export {
  desiredStateFromConfig,
  type DesiredStateExtras,
  type ReplicationObjectsConfig,
  withSchemaTables,
} from './desired-state';
export {
  assertLogicalWalLevel,
  DEMO_TABLE_NAME,
  formatPlan,
  planReplicationSetup,
  planReplicationTeardown,
  heartbeatTableOf,
  publicationHolds,
  publicationObjects,
  publishedTables,
  qualifiedName,
  RDS_REPLICATION_ROLE,
  SLOT_PLUGIN,
  TABLES_IN_SCHEMA_VERSION,
  tablesOfInterest,
  wholeSchemasPublished,
  type TeardownOptions,
} from './planner';
export {
  REPLICATION_LOCK,
  REPLICATION_LOCK_WAIT_MS,
  withReplicationLock,
  type ReplicationLockOptions,
} from './lock';
export { PASSWORD_VARIABLE, printableSql } from './printable';
export {
  describeIdentity,
  describeIdentityState,
  identityIndexName,
  partitionsLackingIdentity,
  tableHasIdentity,
} from './replica-identity';
export { scramSha256Verifier } from './scram';
export { invalidationCause, isInvalidated } from './slot-invalidation';
export { assertLogicalReplicationEnabled, setupReplication, type SetupOptions } from './setup';
export { teardownReplication } from './teardown';
export { identityIndexIn, sameTable, tableIn, TableSet } from './lookup';
export { MONITORING_ROLE_CONNECTION_LIMIT, monitoringRoleSteps } from './monitoring-role';
