/**
 * The package's entry point: the CDC constructs for a CDK app that defines its own database.
 * Give ReplicationSetup an `rds.DatabaseInstance` or `rds.DatabaseCluster` (or one imported by
 * attributes) with its master secret; CdcMonitoring, SlotWatchdog and AirbyteConnection add the
 * alarms, the slot watchdog and the Airbyte source, destination and connection. CdcDatabase,
 * CdcAuroraCluster and CdcNetwork are for apps that start without a database: what this
 * project's own stack creates.
 *
 * Only what is exported here is the package's API; the rest of lib/ and src/ may change.
 */
export {
  ReplicationSetup,
  type CdcPublication,
  type ReplicationSetupProps,
} from './replication-setup';
export { CdcMonitoring, type CdcMonitoringProps } from './cdc-monitoring';
export { SlotWatchdog, type SlotWatchdogProps, type WatchdogAlarmId } from './slot-watchdog';
export { AirbyteConnection, type AirbyteConnectionProps } from './airbyte-connection';
export { CdcDatabase, type CdcDatabaseProps } from './cdc-database';
export { MASTER_USERNAME } from '../src/contract/database';
export type { CdcDatabaseBaseProps } from './database-companions';
export {
  CdcAuroraCluster,
  type CdcAuroraClusterProps,
  type CdcServerlessV2Capacity,
} from './cdc-aurora-cluster';
export { CdcNetwork, type CdcNetworkProps } from './network';
export { ExistingCdcDatabase, type ExistingCdcDatabaseProps } from './existing-database';
export {
  type CdcDatabaseTarget,
  isCluster,
  resolveDatabaseTarget,
  type ResolvedDatabaseTarget,
} from './database-target';
export { ConstructValidationError } from './construct-error';
export type {
  AirbyteSettings,
  DestinationSettings,
  S3DestinationSettings,
  StreamedPublication,
} from '../src/airbyte/settings';
export type {
  ListedTable,
  ReplicaIdentityMode,
  SchemaSelection,
  TableReplicaIdentity,
  TableSelection,
  WholeSchemaTables,
} from '../src/contract/replication-setup';
