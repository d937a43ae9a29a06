/**
 * The Airbyte connection custom resource as the stack (lib/airbyte-connection.ts) and its
 * function (lambda/airbyte-setup) agree on it: its type and its properties.
 */

import * as z from 'zod/mini';
import { optionalText, requiredText } from './properties';
import { replicationTablesSchema } from './replication-setup';

/** CloudFormation type of the resource, so that diffs and consoles name it for what it is. */
export const AIRBYTE_RESOURCE_TYPE = 'Custom::AirbyteConnection';

/** The properties the stack writes; CloudFormation passes every value as a string. */
export const airbyteResourcePropertiesSchema = z.object({
  /** Airbyte public API base URL. */
  ApiUrl: requiredText,
  /** Airbyte workspace id. */
  WorkspaceId: requiredText,
  /** Secrets Manager ARN or name of the Airbyte application credentials. */
  CredentialsSecretId: requiredText,
  /** Secrets Manager ARN of the replication user's secret. */
  ReplicationUserSecretArn: requiredText,
  /** Database host. */
  Host: requiredText,
  /** Database port. */
  Port: requiredText,
  /** Database name. */
  Database: requiredText,
  /** JSON of the environment's resolved Airbyte settings (airbyteSettingsSchema checks them). */
  Settings: requiredText,
  /** JSON of airbyteReplicationSchema: what the connection streams. */
  Replication: requiredText,
  /** S3 destination bucket, when the destination is S3. */
  S3BucketName: optionalText,
  /** Region of that bucket. */
  S3Region: optionalText,
  /** Secrets Manager ARN of the S3 access key, for access-key authentication. */
  S3AccessKeySecretArn: optionalText,
  /** PEM CA bundle for sslMode verify-full (public, not a secret). */
  CaCertificate: optionalText,
});

/** The properties as the construct writes them. */
export type AirbyteResourceProperties = z.input<typeof airbyteResourcePropertiesSchema>;

/** The `Replication` property's JSON: the publication's tables and where they stream from. */
export const airbyteReplicationSchema = z.object({
  schema: requiredText,
  slotName: requiredText,
  publicationName: requiredText,
  tables: replicationTablesSchema,
});

/**
 * The parts of the `Settings` property's JSON that name what the function creates; the rest is
 * the synthesized configuration, validated at synth, passed through as it is.
 */
export const airbyteSettingsSchema = z.looseObject({
  environment: requiredText,
  sourceName: requiredText,
  destinationName: requiredText,
  connectionName: requiredText,
  destination: z.looseObject({ type: z.enum(['s3', 'local-json', 'dev-null']) }),
});
