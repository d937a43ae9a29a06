import type { ReplicationConfig } from '../config';
import { ReplicationSetupError } from './errors';
import type { DesiredReplicationState } from './types';

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
  return {
    schema: replication.schema,
    tables: replication.tables.map((table) => ({
      name: table.name,
      replicaIdentity: table.replicaIdentity,
    })),
    user: replication.user,
    password,
    slotName: replication.slotName,
    publicationName: replication.publicationName,
    createDemoTable: replication.createDemoTable,
    ...(heartbeatTable === undefined ? {} : { heartbeatTable }),
  };
}
