/**
 * The Airbyte connection custom resource as the stack (lib/airbyte-connection.ts) and its
 * function (lambda/airbyte-setup) agree on it: its type and its properties.
 */

/** CloudFormation type of the resource, so that diffs and consoles name it for what it is. */
export const AIRBYTE_RESOURCE_TYPE = 'Custom::AirbyteConnection';

/**
 * What the stack tells the Airbyte function. No secret travels here, only secret ARNs; objects
 * travel as JSON strings because CloudFormation turns every scalar into a string.
 */
export interface AirbyteResourceProperties {
  /** Airbyte public API base URL. */
  readonly ApiUrl: string;
  /** Airbyte workspace id. */
  readonly WorkspaceId: string;
  /** Secrets Manager ARN or name of the Airbyte application credentials. */
  readonly CredentialsSecretId: string;
  /** Secrets Manager ARN of the replication user's secret. */
  readonly ReplicationUserSecretArn: string;
  /** Database host, port and name. */
  readonly Host: string;
  readonly Port: string;
  readonly Database: string;
  /** JSON of AirbyteSettings. */
  readonly Settings: string;
  /** JSON of ReplicationTarget. */
  readonly Replication: string;
  /** S3 destination: bucket, region and (for access-key authentication) the key's secret ARN. */
  readonly S3BucketName?: string;
  readonly S3Region?: string;
  readonly S3AccessKeySecretArn?: string;
  /** PEM CA bundle for sslMode verify-full (public, not a secret). */
  readonly CaCertificate?: string;
}
