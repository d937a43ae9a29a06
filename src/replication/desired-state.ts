import type { ReplicationConfig } from '../config';
import { isWholeSchema } from '../contract/replication-setup';
import { ReplicationSetupError } from './errors';
import { DEMO_TABLE_NAME } from './demo-table';
import type { CatalogSnapshot, DesiredReplicationState } from './types';

export interface DesiredStateExtras {
  /** Debezium heartbeat table to create, publish and let the user write. Default: the config's. */
  readonly heartbeatTable?: string;
}

/** The parts of the `replication` config that say which objects exist in the database. */
export type ReplicationObjectsConfig = Pick<
  ReplicationConfig,
  | 'schema'
  | 'tables'
  | 'user'
  | 'slotName'
  | 'publicationName'
  | 'createDemoTable'
  | 'heartbeatTable'
>;

/** The desired state for an environment's validated `replication` config and the user's password. */
export function desiredStateFromConfig(
  replication: ReplicationObjectsConfig,
  password: string,
  extras: DesiredStateExtras = {},
): DesiredReplicationState {
  const heartbeatTable = extras.heartbeatTable ?? replication.heartbeatTable;
  if (password.length === 0) {
    throw new ReplicationSetupError(
      `The password for replication user "${replication.user}" is empty: check its Secrets Manager secret.`,
    );
  }
  const selection = replication.tables;
  return {
    schema: replication.schema,
    ...(isWholeSchema(selection)
      ? { tables: [], wholeSchema: { replicaIdentity: selection.replicaIdentity } }
      : {
          tables: selection.map((table) => ({
            name: table.name,
            replicaIdentity: table.replicaIdentity,
          })),
        }),
    user: replication.user,
    password,
    slotName: replication.slotName,
    publicationName: replication.publicationName,
    createDemoTable: replication.createDemoTable,
    ...(heartbeatTable === undefined ? {} : { heartbeatTable }),
  };
}

/**
 * A whole-schema desired state with its tables filled in from the catalog (read with that
 * desired state): the schema's tables and the demo table. Tables already in `tables` keep their
 * entry (so a second call changes nothing, and the doctor may adjust identities first); the
 * others get the section's identity. The heartbeat table stays apart, as with a list. Any other
 * desired state is returned as it is.
 */
export function withSchemaTables(
  desired: DesiredReplicationState,
  catalog: Pick<CatalogSnapshot, 'schemaTables'>,
): DesiredReplicationState {
  const whole = desired.wholeSchema;
  if (whole === undefined) return desired;
  const listed = new Set(desired.tables.map((table) => table.name));
  const names = new Set(catalog.schemaTables ?? []);
  if (desired.createDemoTable) names.add(DEMO_TABLE_NAME);
  if (desired.heartbeatTable !== undefined) names.delete(desired.heartbeatTable);
  const added = [...names]
    .filter((name) => !listed.has(name))
    .map((name) => ({ name, replicaIdentity: whole.replicaIdentity }));
  return added.length === 0 ? desired : { ...desired, tables: [...desired.tables, ...added] };
}
