/**
 * A pipeline as a deploy leaves it, on the test server: an RDS-like database, the replication
 * setup applied by the master user exactly as the Lambda applies it, and the Airbyte source that
 * `npm run airbyte` would create for it, turned into Debezium's properties as Airbyte turns it.
 */
import { writeFileSync } from 'fs';
import * as path from 'path';
import type { Client } from 'pg';
import { parseEnvironment, type EnvironmentConfig } from '../../src/config';
import {
  buildSourceConfiguration,
  buildStreams,
  type DiscoveredStream,
  type JsonObject,
} from '../../src/airbyte/bodies';
import { localAirbyteTarget } from '../../src/local/airbyte-source';
import type { StartPostgresOptions } from '../../src/local/postgres-server';
import { LOCAL_SUPERUSER, localServerSettings } from '../../src/local/run';
import {
  desiredStateFromConfig,
  readCatalog,
  setupReplication,
  teardownReplication,
  type DesiredReplicationState,
} from '../../src/replication';
import { uniqueName, usePostgres, type TestPostgres } from '../support/postgres';
import {
  createRdsLikeDatabase,
  honourRdsReplicationMembership,
  type RdsLikeDatabase,
} from '../support/rds-like';
import { airbyteDebeziumProperties, type StreamName } from './airbyte-debezium-properties';
import type { DebeziumProperties, ProbeWorkspace } from './probe';

/**
 * What the pipeline needs of a server: the running server, and connected clients (superuser on
 * `postgres` by default) that the provider closes. usePostgres() provides both.
 */
export type PostgresAccess = Pick<TestPostgres, 'server' | 'connect' | 'config'>;

/** The dev environment's config for the test server: cluster-unique user and slot names. */
export function pipelineConfig(
  database: string,
  replication: Record<string, unknown> = {},
  airbyte: Record<string, unknown> = {},
): EnvironmentConfig {
  return parseEnvironment('dev', {
    database: { databaseName: database },
    replication: {
      createDemoTable: true,
      user: uniqueName('airbyte'),
      slotName: uniqueName('airbyte_slot'),
      ...replication,
    },
    airbyte,
  });
}

/** The server `npm run local` starts: TLS on, dev's parameter-group settings, `rdsadmin`. */
export function localLikeServer(): StartPostgresOptions {
  return { user: LOCAL_SUPERUSER, ssl: true, settings: localServerSettings(pipelineConfig('app')) };
}

/** One such server for the current test file (usePostgres: started before, stopped after). */
export function usePipelineServer(): TestPostgres {
  return usePostgres(localLikeServer());
}

/** `0/16B3748` as a number of bytes (exact below 2^53, far beyond any test server's WAL). */
export function lsnToNumber(lsn: string): number {
  const [high, low] = lsn.split('/');
  if (high === undefined || low === undefined) throw new Error(`not an LSN: ${lsn}`);
  return parseInt(high, 16) * 2 ** 32 + parseInt(low, 16);
}

export interface SlotPosition {
  readonly confirmedFlushLsn: string | null;
  readonly active: boolean;
}

export interface Pipeline {
  readonly config: EnvironmentConfig;
  readonly desired: DesiredReplicationState;
  readonly rds: RdsLikeDatabase;
  /** Superuser on the pipeline's database. */
  readonly admin: Client;
  /** The Airbyte source configuration (valid against Airbyte's schemas), real secrets included. */
  readonly sourceConfiguration: JsonObject;
  /** The connection's streams. */
  readonly streams: readonly StreamName[];
  /** The replication user's password (Debezium's login). */
  readonly password: string;
  /** Debezium's properties for a run in `workspace` (CA written there), with overrides. */
  debeziumProperties(workspace: ProbeWorkspace, overrides?: DebeziumProperties): DebeziumProperties;
  /** The slot as the replication user sees it (pg_replication_slots is readable by everyone). */
  slotPosition(): Promise<SlotPosition>;
  /** Connected as the replication user to the pipeline's database. */
  connectAsReplicationUser(): Promise<Client>;
  /** The Lambda's Delete: slot, publication and user go; schema and data stay. */
  teardown(): Promise<void>;
}

export interface DeployOptions {
  /** replication.* overrides of dev's config. */
  readonly replication?: Record<string, unknown>;
  /** airbyte.* overrides of dev's config. */
  readonly airbyte?: Record<string, unknown>;
  /** Runs as the master user before the setup: the application's own tables. */
  readonly prepare?: (master: Client) => Promise<void>;
  /** Each planned step, as the Lambda logs it. */
  readonly onStep?: (description: string) => void;
}

/**
 * The streams Airbyte's discovery offers for incremental sync in CDC mode: the published tables
 * (a schema configured "*" is streamed as what the source discovers in it).
 */
async function discoveredStreams(
  admin: Client,
  publicationName: string,
): Promise<DiscoveredStream[]> {
  const { rows } = await admin.query<{ namespace: string; name: string }>(
    'SELECT schemaname AS namespace, tablename AS name FROM pg_publication_tables WHERE pubname = $1',
    [publicationName],
  );
  return rows.map((row) => ({ ...row, syncModes: ['full_refresh', 'incremental_append'] }));
}

/** Deploy a pipeline: RDS-like database, the replication setup, the Airbyte source. */
export async function deployPipeline(
  pg: PostgresAccess,
  options: DeployOptions = {},
): Promise<Pipeline> {
  const rds = await createRdsLikeDatabase(pg);
  const config = pipelineConfig(rds.database, options.replication, options.airbyte);
  const password = `${config.replication.user}-Secret-1`;
  const desired = desiredStateFromConfig(config.replication, password);
  await options.prepare?.(rds.client);
  await setupReplication(rds.client, desired, {
    onStep: (step) => options.onStep?.(step.description),
  });
  const admin = await pg.connect(rds.database);
  await honourRdsReplicationMembership(admin);

  const { server } = pg;
  const ca = server.certificateAuthority;
  if (!ca) throw new Error('the Debezium tests need a server started with { ssl: true }');
  const target = localAirbyteTarget(
    config,
    { host: server.host, port: server.port, database: rds.database, username: desired.user },
    { password, caCertificate: ca.certPem },
  );
  const targetWithStreams = {
    ...target,
    discoveredStreams: await discoveredStreams(admin, desired.publicationName),
  };
  const sourceConfiguration = buildSourceConfiguration(targetWithStreams);
  const streams = buildStreams(targetWithStreams).map(({ namespace, name }) => ({
    namespace,
    name,
  }));
  const connectAsReplicationUser = () => pg.connect(rds.database, { user: desired.user, password });

  return {
    config,
    desired,
    rds,
    admin,
    sourceConfiguration,
    streams,
    password,
    debeziumProperties: (workspace, overrides = {}) => {
      const caCertificateFile = path.join(workspace.dir, 'ca.pem');
      writeFileSync(caCertificateFile, ca.certPem);
      return {
        ...airbyteDebeziumProperties(sourceConfiguration, streams, {
          offsetFile: workspace.offsetFile,
          caCertificateFile,
        }),
        ...overrides,
      };
    },
    slotPosition: async () => {
      const client = await connectAsReplicationUser();
      try {
        // A ReplicationTarget, not the desired state: no password, so no login probe.
        const { user, slotName, publicationName, schema } = desired;
        const catalog = await readCatalog(client, { user, slotName, publicationName, schema });
        return {
          confirmedFlushLsn: catalog.slot?.confirmedFlushLsn ?? null,
          active: catalog.slot?.active ?? false,
        };
      } finally {
        await client.end();
      }
    },
    connectAsReplicationUser,
    teardown: async () => {
      await teardownReplication(rds.client, desired);
    },
  };
}
