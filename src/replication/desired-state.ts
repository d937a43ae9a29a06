import type { ReplicationConfig } from '../config';
import { isWholeSchema } from '../contract/replication-setup';
import { ReplicationSetupError } from './errors';
import { DEMO_TABLE_NAME } from './demo-table';
import { TableSet } from './lookup';
import type {
  CatalogSnapshot,
  DesiredMonitoringUser,
  DesiredReplicationState,
  DesiredTable,
} from './types';

export interface DesiredStateExtras {
  /** Debezium heartbeat table to create, publish and let the user write. Default: the config's. */
  readonly heartbeatTable?: string;
  /** The slot watchdog's login role and its password. Default: none. */
  readonly monitoringUser?: DesiredMonitoringUser;
}

/** The parts of the `replication` config that say which objects exist in the database. */
export type ReplicationObjectsConfig = Pick<
  ReplicationConfig,
  | 'schema'
  | 'schemas'
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
  const logins: [string, string][] = [[`replication user "${replication.user}"`, password]];
  if (extras.monitoringUser) {
    logins.push([
      `monitoring user "${extras.monitoringUser.name}"`,
      extras.monitoringUser.password,
    ]);
  }
  for (const [who, secret] of logins) {
    if (secret.length === 0) {
      throw new ReplicationSetupError(
        `The password for ${who} is empty: check its Secrets Manager secret.`,
      );
    }
  }
  return {
    schema: replication.schema,
    schemas: replication.schemas.map((selection) =>
      isWholeSchema(selection.tables)
        ? {
            name: selection.name,
            wholeSchema: { replicaIdentity: selection.tables.replicaIdentity },
          }
        : { name: selection.name },
    ),
    tables: replication.schemas.flatMap((selection) =>
      isWholeSchema(selection.tables)
        ? []
        : selection.tables.map((table) => ({
            schema: selection.name,
            name: table.name,
            replicaIdentity: table.replicaIdentity,
          })),
    ),
    user: replication.user,
    password,
    slotName: replication.slotName,
    publicationName: replication.publicationName,
    createDemoTable: replication.createDemoTable,
    ...(heartbeatTable === undefined ? {} : { heartbeatTable }),
    ...(extras.monitoringUser ? { monitoringUser: extras.monitoringUser } : {}),
  };
}

/**
 * A desired state with the tables of its whole schemas filled in from the catalog (read with
 * that desired state): each such schema's tables, and the demo table when the first schema is
 * whole. Tables already in `tables` keep their entry (so a second call changes nothing, and the
 * doctor may adjust identities first); the others get their schema's identity. The heartbeat
 * table stays apart, as with a list. A desired state without whole schemas is returned as it is.
 */
export function withSchemaTables(
  desired: DesiredReplicationState,
  catalog: Pick<CatalogSnapshot, 'schemaTables'>,
): DesiredReplicationState {
  const whole = desired.schemas.filter((schema) => schema.wholeSchema !== undefined);
  if (whole.length === 0) return desired;
  const listed = new TableSet(desired.tables);
  const added: DesiredTable[] = [];
  for (const { name: schema, wholeSchema } of whole) {
    const names = new Set(catalog.schemaTables?.[schema] ?? []);
    if (schema === desired.schema) {
      if (desired.createDemoTable) names.add(DEMO_TABLE_NAME);
      if (desired.heartbeatTable !== undefined) names.delete(desired.heartbeatTable);
    }
    for (const name of names) {
      if (!listed.has({ schema, name })) {
        added.push({ schema, name, replicaIdentity: wholeSchema?.replicaIdentity ?? 'default' });
      }
    }
  }
  return added.length === 0 ? desired : { ...desired, tables: [...desired.tables, ...added] };
}
