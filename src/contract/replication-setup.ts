/**
 * The replication setup custom resource as the stack (lib/replication-setup.ts) and its function
 * (lambda/replication-setup) agree on it: its type and its properties.
 */

/** CloudFormation type of the resource, so that diffs and consoles name it for what it is. */
export const REPLICATION_SETUP_RESOURCE_TYPE = 'Custom::ReplicationSetup';

/**
 * The custom resource's properties: what the stack tells the replication setup function.
 * CloudFormation passes every value as a string. No secret travels here, only secret ARNs.
 */
export interface ReplicationSetupProperties {
  /** RDS instance identifier, for the parameter-status check and the reboot. */
  readonly DbInstanceIdentifier: string;
  /** Database host name. */
  readonly Host: string;
  /** Database port. */
  readonly Port: string;
  /** Database (dbname) to configure. */
  readonly Database: string;
  /** Secrets Manager ARN of the master user's secret. */
  readonly MasterSecretArn: string;
  /** Secrets Manager ARN of the replication user's secret. */
  readonly ReplicationUserSecretArn: string;
  /** Schema of the published tables. */
  readonly Schema: string;
  /** JSON array of `{ name, replicaIdentity }`. */
  readonly Tables: string;
  /** Replication user name. */
  readonly User: string;
  /** Logical replication slot name. */
  readonly SlotName: string;
  /** Publication name. */
  readonly PublicationName: string;
  /** `"true"` to create the tutorial's demo table. */
  readonly CreateDemoTable: string;
  /** Debezium heartbeat table; absent when none is configured. */
  readonly HeartbeatTable?: string;
  /** `"true"` to reboot an instance whose parameter group is `pending-reboot`. */
  readonly RebootIfPending: string;
  /** The database's removal policy (`destroy`, `snapshot`, `retain`). */
  readonly RemovalPolicy: string;
}
