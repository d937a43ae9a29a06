import type { EnvironmentConfig, ReplicaIdentity } from '../../lib/config';
import type { AirbyteConfig, AirbyteDestinationConfig } from '../../lib/config/airbyte';

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

/** What the connection streams: the publication's tables, from the replication config. */
export interface ReplicationTarget {
  readonly schema: string;
  readonly slotName: string;
  readonly publicationName: string;
  readonly tables: ReadonlyArray<{
    readonly name: string;
    readonly replicaIdentity: ReplicaIdentity;
  }>;
}

/**
 * A double-quoted SQL identifier (PostgreSQL's rule, as pg's escapeIdentifier; pg itself stays out
 * of the Airbyte function's bundle). Names were validated by the config: no control characters.
 */
function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The heartbeat query for the replication setup's heartbeat table (`id integer PRIMARY KEY,
 * last_heartbeat timestamptz`): one row, rewritten on every heartbeat, so that an idle database
 * still produces a change in the publication and the slot's confirmed LSN advances.
 */
export function heartbeatQueryFor(schema: string, table: string): string {
  const qualified = `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
  return `INSERT INTO ${qualified} (id, last_heartbeat) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET last_heartbeat = EXCLUDED.last_heartbeat`;
}

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
      ? { heartbeatActionQuery: heartbeatQueryFor(replication.schema, replication.heartbeatTable) }
      : {}),
  };
}

/** The replication settings the Airbyte source and connection need. */
export function replicationTargetOf(config: EnvironmentConfig): ReplicationTarget {
  const { schema, slotName, publicationName, tables } = config.replication;
  return { schema, slotName, publicationName, tables };
}
