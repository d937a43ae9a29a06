import type { ReplicaIdentity } from '../config';
import {
  isWholeSchema,
  type ListedTable,
  type SchemaSelection,
  type WholeSchemaTables,
} from '../contract/replication-setup';
import type { AirbyteSettings, StreamedPublication } from './settings';

/**
 * Request bodies for the Airbyte public API, built without any I/O so that `plan`, `apply`, the
 * CLI and the custom resource all send exactly the same thing.
 */

/** Where Airbyte reaches the database and as whom (the replication user's secret). */
export interface DatabaseEndpoint {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
  readonly password: string;
}

/** What the S3 destination needs from the deployed stack. */
export interface S3Target {
  readonly bucketName: string;
  readonly region: string;
  /** Present when the destination authenticates with an access key. */
  readonly accessKey?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** A stream the Airbyte source discovered (GET /streams). */
export interface DiscoveredStream {
  readonly name: string;
  readonly namespace?: string;
  /** ConnectionSyncModeEnum values the stream supports. */
  readonly syncModes: readonly string[];
}

/**
 * A whole schema's tables among a source's discovered streams: those in `schema` that it can
 * read incrementally. In CDC mode the source offers that only for published tables, so a table
 * PostgreSQL 14 does not publish yet (created since the deploy) waits for the next deploy.
 */
export function discoveredTablesIn(streams: readonly DiscoveredStream[], schema: string): string[] {
  return streams
    .filter(
      (stream) => stream.namespace === schema && stream.syncModes.includes('incremental_append'),
    )
    .map((stream) => stream.name);
}

/** Everything the three resources are built from. */
export interface AirbyteTarget {
  readonly settings: AirbyteSettings;
  readonly replication: StreamedPublication;
  readonly database: DatabaseEndpoint;
  /** PEM CA bundle, required for sslMode verify-full. */
  readonly caCertificate?: string;
  /** Required when the destination is s3. */
  readonly s3?: S3Target;
  /**
   * With a schema published whole (`"*"`): the streams the Airbyte source discovered, whose
   * tables in each such schema the connection lists as its streams (the config cannot: the
   * tables exist only in the database). Required then; ignored when every schema is a list.
   */
  readonly discoveredStreams?: readonly DiscoveredStream[];
}

export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

export interface ActorRequest {
  readonly name: string;
  readonly workspaceId: string;
  readonly configuration: JsonObject;
}

export interface StreamConfiguration {
  readonly name: string;
  readonly namespace: string;
  readonly syncMode: 'incremental_append' | 'incremental_deduped_history';
}

export interface ConnectionRequest {
  readonly name: string;
  readonly sourceId: string;
  readonly destinationId: string;
  readonly configurations: { readonly streams: StreamConfiguration[] };
  readonly schedule:
    | { readonly scheduleType: 'manual' }
    | { readonly scheduleType: 'cron'; readonly cronExpression: string };
  readonly namespaceDefinition: AirbyteSettings['namespaceDefinition'];
  readonly namespaceFormat?: string;
  readonly nonBreakingSchemaUpdatesBehavior: AirbyteSettings['nonBreakingSchemaUpdatesBehavior'];
  readonly status: 'active';
}

/** Thrown for a target that cannot produce a valid body; names the missing piece. */
export class AirbyteTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AirbyteTargetError';
  }
}

/**
 * The Postgres source in CDC mode. Valid against the API's typed `source-postgres` schema and
 * the connector's own spec both before and since 3.8 (tested against copies of all three in
 * test/fixtures/airbyte). `plugin` is only read by connectors before 3.8; 3.8 ignores it.
 */
export function buildSourceConfiguration(target: AirbyteTarget): JsonObject {
  const { settings, replication, database } = target;
  let sslMode: JsonObject;
  if (settings.sslMode === 'verify-full') {
    if (!target.caCertificate) {
      throw new AirbyteTargetError(
        'airbyte.sslMode is verify-full but no CA certificate was loaded: set airbyte.caCertificateFile to the RDS CA bundle (PEM)',
      );
    }
    sslMode = { mode: 'verify-full', ca_certificate: target.caCertificate };
  } else {
    sslMode = { mode: 'require' };
  }
  return {
    sourceType: 'postgres',
    host: database.host,
    port: database.port,
    database: database.database,
    schemas: replication.schemas.map((selection) => selection.name),
    username: database.username,
    password: database.password,
    ssl_mode: sslMode,
    tunnel_method: { tunnel_method: 'NO_TUNNEL' },
    replication_method: {
      method: 'CDC',
      plugin: 'pgoutput',
      replication_slot: replication.slotName,
      publication: replication.publicationName,
      initial_waiting_seconds: settings.initialWaitingSeconds,
      lsn_commit_behaviour: settings.lsnCommitBehaviour,
      invalid_cdc_cursor_position_behavior: settings.invalidCdcCursorPositionBehavior,
      // Always sent (empty = none, the connector's default) so that removing it from the config
      // is seen as a change and patched.
      heartbeat_action_query: settings.heartbeatActionQuery ?? '',
    },
  };
}

export function buildDestinationConfiguration(target: AirbyteTarget): JsonObject {
  const { destination } = target.settings;
  switch (destination.type) {
    case 'dev-null':
      return { destinationType: 'dev-null', test_destination: { test_destination_type: 'SILENT' } };
    case 'local-json':
      return { destinationType: 'local-json', destination_path: destination.destinationPath };
    case 's3': {
      const s3 = target.s3;
      if (!s3) {
        throw new AirbyteTargetError(
          'airbyte.destination is s3 but no bucket is known: deploy the stack (it creates the bucket) or set airbyte.destination.bucketName',
        );
      }
      const configuration: JsonObject = {
        destinationType: 's3',
        s3_bucket_name: s3.bucketName,
        s3_bucket_path: destination.bucketPath,
        s3_bucket_region: s3.region,
        format: {
          format_type: 'JSONL',
          flattening: 'No flattening',
          compression: { compression_type: destination.gzip ? 'GZIP' : 'No Compression' },
        },
      };
      if (destination.authentication === 'access-key') {
        if (!s3.accessKey) {
          throw new AirbyteTargetError(
            'airbyte.destination.authentication is access-key but no access key was read: deploy the stack (it stores the key in Secrets Manager)',
          );
        }
        configuration.access_key_id = s3.accessKey.accessKeyId;
        configuration.secret_access_key = s3.accessKey.secretAccessKey;
      } else if (destination.authentication === 'role') {
        configuration.role_arn = destination.roleArn ?? '';
      }
      return configuration;
    }
    default: {
      const unknown: never = destination;
      throw new AirbyteTargetError(`unknown destination type ${JSON.stringify(unknown)}`);
    }
  }
}

/** Destinations that can deduplicate by primary key (none of the three this project offers). */
const DEDUP_CAPABLE_DESTINATIONS: ReadonlySet<string> = new Set<string>([]);

/**
 * Sync mode of one published table. A table keeps REPLICA IDENTITY DEFAULT only when it has a
 * primary key (PostgreSQL refuses UPDATE/DELETE on a published table with neither), so the
 * config's replicaIdentity tells us which tables have one without asking the database. A table
 * identified by a unique index has no primary key Airbyte's source could discover, and its
 * columns are known only to the database (not to this config), so it is appended too.
 * Deduplication also needs a destination that supports it; S3, local JSON and dev-null only append.
 */
export function syncModeFor(
  replicaIdentity: ReplicaIdentity,
  destinationSupportsDedup: boolean,
): StreamConfiguration['syncMode'] {
  return replicaIdentity === 'default' && destinationSupportsDedup
    ? 'incremental_deduped_history'
    : 'incremental_append';
}

export function destinationSupportsDedup(destinationType: string): boolean {
  return DEDUP_CAPABLE_DESTINATIONS.has(destinationType);
}

/**
 * The connection's streams: every published table, incremental, under its schema. A schema
 * published whole contributes its discovered tables, and they must be listed all the same:
 * Airbyte creates a connection whose body has no streams with every discovered stream in full
 * refresh overwrite (the public API's ConnectionsController), which re-copies each table on each
 * sync and never reads the slot.
 */
export function buildStreams(target: AirbyteTarget): StreamConfiguration[] {
  const dedup = destinationSupportsDedup(target.settings.destination.type);
  return target.replication.schemas.flatMap((selection) =>
    tablesOf(target, selection).map((table) => ({
      name: table.name,
      namespace: selection.name,
      syncMode: syncModeFor(table.replicaIdentity, dedup),
    })),
  );
}

/** One schema's published tables: as listed, or as discovered in it when it is whole. */
function tablesOf(
  target: AirbyteTarget,
  { name, tables }: SchemaSelection,
): readonly ListedTable[] {
  return isWholeSchema(tables) ? wholeSchemaTables(target, name, tables) : tables;
}

function wholeSchemaTables(
  target: AirbyteTarget,
  schema: string,
  { replicaIdentity }: WholeSchemaTables,
): ListedTable[] {
  if (target.discoveredStreams === undefined) {
    throw new AirbyteTargetError(
      `Schema "${schema}" is published whole ("*"), so the connection's streams include the tables Airbyte discovers in it, and none were given: create the source first, then build the connection from its discovered streams.`,
    );
  }
  return discoveredTablesIn(target.discoveredStreams, schema).map((name) => ({
    name,
    replicaIdentity,
  }));
}

export function buildSourceRequest(target: AirbyteTarget, workspaceId: string): ActorRequest {
  return {
    name: target.settings.sourceName,
    workspaceId,
    configuration: buildSourceConfiguration(target),
  };
}

export function buildDestinationRequest(target: AirbyteTarget, workspaceId: string): ActorRequest {
  return {
    name: target.settings.destinationName,
    workspaceId,
    configuration: buildDestinationConfiguration(target),
  };
}

export function buildConnectionRequest(
  target: AirbyteTarget,
  sourceId: string,
  destinationId: string,
): ConnectionRequest {
  const { settings } = target;
  return {
    name: settings.connectionName,
    sourceId,
    destinationId,
    configurations: { streams: buildStreams(target) },
    schedule:
      settings.schedule === 'manual'
        ? { scheduleType: 'manual' }
        : { scheduleType: 'cron', cronExpression: settings.schedule },
    namespaceDefinition: settings.namespaceDefinition,
    ...(settings.namespaceDefinition === 'custom_format'
      ? { namespaceFormat: settings.namespaceFormat }
      : {}),
    nonBreakingSchemaUpdatesBehavior: settings.nonBreakingSchemaUpdatesBehavior,
    status: 'active',
  };
}
