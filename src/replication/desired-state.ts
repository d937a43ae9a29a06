import type { EnvironmentConfig } from '../../lib/config';
import { ReplicationSetupError } from './errors';
import type { DesiredReplicationState } from './types';

export interface DesiredStateExtras {
  /** Debezium heartbeat table to create, publish and let the user write. Default: none. */
  readonly heartbeatTable?: string;
}

/** The desired state for an environment's validated `replication` config and the user's password. */
export function desiredStateFromConfig(
  replication: EnvironmentConfig['replication'],
  password: string,
  extras: DesiredStateExtras = {},
): DesiredReplicationState {
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
    ...(extras.heartbeatTable === undefined ? {} : { heartbeatTable: extras.heartbeatTable }),
  };
}
