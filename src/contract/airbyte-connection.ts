/**
 * The Airbyte connection custom resource as the stack (lib/airbyte-connection.ts) and its
 * function (lambda/airbyte-setup) agree on it: its type and its properties.
 */

import * as z from 'zod/mini';
import { optionalText, requiredText } from './properties';
import {
  replicationTablesSchema,
  schemaSelectionsOf,
  tablesProperty,
  type SchemaSelection,
} from './replication-setup';

/** CloudFormation type of the resource, so that diffs and consoles name it for what it is. */
export const AIRBYTE_RESOURCE_TYPE = 'Custom::AirbyteConnection';

/**
 * Stack output, where the stack does not manage Airbyte, holding the replication slot's
 * generation: when a deploy changes it, the slot was recreated and the connection must resync.
 */
export const SLOT_GENERATION_OUTPUT = 'ReplicationSlotGeneration';

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
  /**
   * The replication slot's generation (the pre-upgrade check's SlotGeneration): when an Update
   * changes it from a value that was set, the slot was recreated, so the function starts a
   * resync of the connection after applying it.
   */
  SlotGeneration: optionalText,
});

/** The properties as the construct writes them. */
export type AirbyteResourceProperties = z.input<typeof airbyteResourcePropertiesSchema>;

/** What the connection streams: every published schema's tables, and where they stream from. */
export interface StreamedPublication {
  /** The first published schema: it holds the demo and heartbeat tables. */
  readonly schema: string;
  readonly slotName: string;
  readonly publicationName: string;
  /** Every published schema in config order, `schema` first: its listed tables, or all of them. */
  readonly schemas: readonly SchemaSelection[];
}

/**
 * The `Replication` property's JSON, the publication as the function gets it. Its `tables` is
 * the replication setup's `Tables` shape, so that one schema is written as it always was and a
 * stack deployed before several schemas existed sees no change.
 */
export const airbyteReplicationProperty = ({
  schema,
  slotName,
  publicationName,
  schemas,
}: StreamedPublication) => ({ schema, slotName, publicationName, tables: tablesProperty(schemas) });

/** The `Replication` property's JSON (airbyteReplicationProperty), decoded to its schemas. */
export const airbyteReplicationSchema = z.pipe(
  z.object({
    schema: requiredText,
    slotName: requiredText,
    publicationName: requiredText,
    tables: replicationTablesSchema,
  }),
  z.transform(({ tables, ...publication }): StreamedPublication => ({
    ...publication,
    schemas: schemaSelectionsOf(publication.schema, tables),
  })),
);

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
