/**
 * CloudFormation output keys of every environment's stack and the stack's name. The constructs
 * write them and the command-line tools read a deployed stack through them, so they live here.
 */
export const StackOutputs = {
  /** Database host name. */
  databaseEndpoint: 'DatabaseEndpoint',
  /** Database port. */
  databasePort: 'DatabasePort',
  /** Database (dbname) that holds the replicated schema. */
  databaseName: 'DatabaseName',
  /** Schemas whose tables are published, comma-separated in config order (the key predates several). */
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

/** The stack name of an environment, here too because the tools find the outputs by it. */
export { stackNameFor } from './aws-names';

/**
 * Stack outputs the Airbyte wiring adds (only when the destination is S3).
 */
export const AirbyteStackOutputs = {
  /** Bucket the S3 destination writes to. */
  bucketName: 'AirbyteBucketName',
  /** Region of that bucket. */
  bucketRegion: 'AirbyteBucketRegion',
  /** Secrets Manager ARN of the access key Airbyte writes with (`accessKeyId`, `secretAccessKey`). */
  s3AccessKeySecretArn: 'AirbyteS3AccessKeySecretArn',
} as const;

/** Stack output key holding the alarm topic's ARN. */
export const ALARM_TOPIC_OUTPUT = 'AlarmTopicArn';
