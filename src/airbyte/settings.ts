import type { EnvironmentConfig } from '../config';
import type { StreamedPublication } from '../contract/airbyte-connection';
import type { AirbyteConfig, AirbyteDestinationConfig } from '../config/airbyte';
import { heartbeatUpsertSql } from '../replication/heartbeat';

/** The name of the environment whose Airbyte destination defaults to dev-null. */
const DEV_ENVIRONMENT = 'dev';

/** The S3 destination with every default that does not need the deployed stack filled in. */
export type S3DestinationSettings = Extract<AirbyteDestinationConfig, { type: 's3' }> & {
  bucketPath: string;
};

export type DestinationSettings =
  S3DestinationSettings | Exclude<AirbyteDestinationConfig, { type: 's3' }>;

/**
 * One environment's Airbyte settings with the name- and environment-dependent defaults resolved.
 * Plain JSON: the stack passes it to the custom resource as a property.
 */
export interface AirbyteSettings extends Omit<
  AirbyteConfig,
  'destination' | 'sourceName' | 'destinationName' | 'connectionName'
> {
  readonly environment: string;
  readonly sourceName: string;
  readonly destinationName: string;
  readonly connectionName: string;
  readonly destination: DestinationSettings;
}

// The stack's constructs and the function share the publication's shape with the contract.
export type { StreamedPublication } from '../contract/airbyte-connection';

/** Resolve the defaults of `config.airbyte` that depend on the environment's name. */
export function resolveAirbyteSettings(config: EnvironmentConfig): AirbyteSettings {
  const { airbyte, name, replication } = config;
  const prefix = `rds-airbyte-cdc-${name}`;
  const configured: AirbyteDestinationConfig =
    airbyte.destination ??
    (name === DEV_ENVIRONMENT
      ? { type: 'dev-null' }
      : { type: 's3', gzip: true, authentication: 'access-key' });
  const destination: DestinationSettings =
    configured.type === 's3'
      ? { ...configured, bucketPath: configured.bucketPath ?? `rds-airbyte-cdc/${name}` }
      : configured;
  return {
    ...airbyte,
    environment: name,
    sourceName: airbyte.sourceName ?? `${prefix}-postgres`,
    destinationName: airbyte.destinationName ?? `${prefix}-${destination.type}`,
    connectionName: airbyte.connectionName ?? prefix,
    destination,
    ...(airbyte.heartbeatActionQuery === undefined && replication.heartbeatTable !== undefined
      ? { heartbeatActionQuery: heartbeatUpsertSql(replication.schema, replication.heartbeatTable) }
      : {}),
  };
}

/** The replication settings the Airbyte source and connection need. */
export function streamedPublicationOf(config: EnvironmentConfig): StreamedPublication {
  const { schema, slotName, publicationName, schemas } = config.replication;
  return { schema, slotName, publicationName, schemas };
}
