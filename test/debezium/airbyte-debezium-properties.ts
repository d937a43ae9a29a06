/**
 * The Debezium properties Airbyte's Postgres source derives from a source configuration, mirrored
 * so that the probe runs the connector as Airbyte runs it. Read from airbytehq/airbyte's
 * source-postgres (the Kotlin 3.8 line: `cdc/PostgresSourceDebeziumOperations.kt`, the bulk CDK's
 * `DebeziumPropertiesBuilder.kt`, `cdc/ReplicationSlotManager.kt`; the older Java line:
 * `cdc/PostgresCdcProperties.java` and the Java CDK's `DebeziumPropertiesManager`);
 * docs/debezium.md lists what is mirrored and what is not, and why.
 */
import type { JsonObject } from '../../src/airbyte/bodies';
import type { DebeziumProperties } from './probe';

/** Airbyte's lsn_commit_behaviour value under which Debezium itself confirms LSNs. */
const DEBEZIUM_COMMITS_LSN = 'While reading Data';
/** Airbyte's heartbeat interval (`debeziumHeartbeatInterval`, 10 s). */
export const AIRBYTE_HEARTBEAT_INTERVAL_MS = 10000;

/** A table Airbyte's connection streams: the source's `namespace.name`. */
export interface StreamName {
  readonly namespace: string;
  readonly name: string;
}

/** What a run adds to the configuration: files Airbyte writes to a temporary directory. */
export interface DebeziumRunFiles {
  /** offset.storage.file.filename: the engine's offset, Airbyte's CDC state. */
  readonly offsetFile: string;
  /** The source's `ssl_mode.ca_certificate`, written to a PEM file (database.sslrootcert). */
  readonly caCertificateFile: string;
}

/** `java.util.regex.Pattern.quote`: the text matched literally. */
export function patternQuote(text: string): string {
  return `\\Q${text.split('\\E').join('\\E\\\\E\\Q')}\\E`;
}

/**
 * `table.include.list` as Airbyte builds it from the connection's streams: each
 * `Pattern.quote("namespace.name")`, literal commas escaped, joined by commas; `$^` (matches
 * nothing) when there are none.
 */
export function tableIncludeList(streams: readonly StreamName[]): string {
  if (streams.length === 0) return '$^';
  return streams
    .map((stream) => patternQuote(`${stream.namespace}.${stream.name}`).replace(/,/g, '\\,'))
    .join(',');
}

/** `topic.prefix`: the database name with every character outside `[A-Za-z0-9._-]` as `_`. */
export function sanitizeTopicPrefix(database: string): string {
  return database.replace(/[^A-Za-z0-9._-]/g, '_');
}

function objectField(configuration: JsonObject, field: string): JsonObject {
  const value = configuration[field];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`the source configuration has no ${field} object`);
  }
  return value as JsonObject;
}

function stringField(configuration: JsonObject, field: string): string {
  const value = configuration[field];
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new Error(`the source configuration has no ${field}`);
  }
  return String(value);
}

/**
 * Debezium's connector properties for an Airbyte Postgres source configuration in CDC mode (as
 * buildSourceConfiguration makes it) and the connection's streams. The password is not among
 * them: the probe takes it from its environment, as Airbyte keeps it out of logged properties.
 */
export function airbyteDebeziumProperties(
  configuration: JsonObject,
  streams: readonly StreamName[],
  files: DebeziumRunFiles,
): Record<string, string> {
  const cdc = objectField(configuration, 'replication_method');
  if (cdc.method !== 'CDC') throw new Error('the source configuration is not in CDC mode');
  const ssl = objectField(configuration, 'ssl_mode');
  const database = stringField(configuration, 'database');
  const heartbeatQuery =
    typeof cdc.heartbeat_action_query === 'string' ? cdc.heartbeat_action_query : '';
  const properties: Record<string, string> = {
    // Bulk CDK defaults (DebeziumPropertiesBuilder.withDefault): Debezium's own defaults pinned,
    // no retries (Airbyte restarts the sync instead), JSON without schemas, numerics as strings.
    'max.batch.size': '2048',
    'max.queue.size': '8192',
    'max.queue.size.in.bytes': String(256 * 1024 * 1024),
    'errors.max.retries': '0',
    'errors.retry.delay.initial.ms': '299',
    'errors.retry.delay.max.ms': '300',
    'key.converter.schemas.enable': 'false',
    'value.converter.schemas.enable': 'false',
    'value.converter.replace.null.with.default': 'false',
    'decimal.handling.mode': 'string',
    'schema.history.internal.skip.unparseable.ddl': 'true',
    // Offsets in a file Airbyte fills from its state before the engine starts and reads after.
    'offset.storage': 'org.apache.kafka.connect.storage.FileOffsetBackingStore',
    'offset.storage.file.filename': files.offsetFile,
    // The Java CDK's value; the Kotlin line reads the offset after the engine stopped, when
    // Kafka Connect flushes it anyway.
    'offset.flush.interval.ms': '1000',
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    // The engine name and topic prefix are the database name: together they key the offset.
    name: database,
    'topic.prefix': sanitizeTopicPrefix(database),
    'heartbeat.interval.ms': String(AIRBYTE_HEARTBEAT_INTERVAL_MS),
    'database.hostname': stringField(configuration, 'host'),
    'database.port': stringField(configuration, 'port'),
    'database.dbname': database,
    'database.user': stringField(configuration, 'username'),
    // Airbyte's default JDBC properties, forwarded to Debezium's connections as database.*.
    'database.connectTimeout': '10',
    'database.prepareThreshold': '0',
    'database.tcpKeepAlive': 'true',
    // Debezium's own connections use the source's TLS: the mode as pgjdbc spells it, and the
    // CA certificate from the configuration in a PEM file.
    'database.sslmode': stringField(ssl, 'mode'),
    ...(typeof ssl.ca_certificate === 'string'
      ? { 'database.sslrootcert': files.caCertificateFile }
      : {}),
    // Airbyte loads the tables itself; Debezium's snapshot stands in for that initial load here.
    'snapshot.mode': 'initial',
    // Airbyte never creates or changes a publication: the replication setup owns it.
    'publication.autocreate.mode': 'disabled',
    'include.unknown.datatypes': 'true',
    // Under "After loading Data in the destination" Debezium never confirms an LSN; Airbyte
    // commits it at the start of the next sync (LsnCommitter in the probe does the same).
    'flush.lsn.source': String(cdc.lsn_commit_behaviour === DEBEZIUM_COMMITS_LSN),
    'plugin.name': 'pgoutput',
    'slot.name': stringField(cdc, 'replication_slot'),
    'publication.name': stringField(cdc, 'publication'),
    ...(heartbeatQuery === '' ? {} : { 'heartbeat.action.query': heartbeatQuery }),
    'table.include.list': tableIncludeList(streams),
  };
  return properties;
}

/** The probe's own settings, merged over the connector's. */
export function withProbeSettings(
  properties: DebeziumProperties,
  settings: { readonly printEvents?: boolean; readonly progressEvery?: number },
): DebeziumProperties {
  return {
    ...properties,
    ...(settings.printEvents === undefined
      ? {}
      : { 'probe.print.events': String(settings.printEvents) }),
    ...(settings.progressEvery === undefined
      ? {}
      : { 'probe.progress.every': String(settings.progressEvery) }),
  };
}
