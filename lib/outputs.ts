/**
 * CloudFormation output keys of every environment's stack. The command-line tools read a deployed
 * stack through these names, so they live in one place.
 */
export const StackOutputs = {
  /** Database host name. */
  databaseEndpoint: 'DatabaseEndpoint',
  /** Database port. */
  databasePort: 'DatabasePort',
  /** Database (dbname) that holds the replicated schema. */
  databaseName: 'DatabaseName',
  /** Schema whose tables are published. */
  replicationSchema: 'ReplicationSchema',
  /** Secrets Manager ARN of the replication user's secret (host, port, dbname, username, password). */
  replicationUserSecretArn: 'ReplicationUserSecretArn',
  /** Secrets Manager ARN of the master user's secret. */
  masterUserSecretArn: 'MasterUserSecretArn',
  /** Logical replication slot name. */
  replicationSlotName: 'ReplicationSlotName',
  /** Publication name. */
  publicationName: 'PublicationName',
} as const;

/** The stack name of an environment: `cdk deploy RdsAirbyteCdc-dev`. */
export function stackNameFor(environmentName: string): string {
  return `RdsAirbyteCdc-${environmentName}`;
}
