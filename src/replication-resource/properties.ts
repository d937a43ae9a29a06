import type { ReplicaIdentity } from '../config/replication';
import type { ReplicationObjectsConfig } from '../replication/desired-state';

const REPLICA_IDENTITIES: readonly unknown[] = ['default', 'full'] satisfies ReplicaIdentity[];

/**
 * The custom resource's properties: what the stack tells the replication setup function.
 * CloudFormation passes every value as a string. No secret travels here, only secret ARNs.
 */
export interface ReplicationSetupProperties {
  /** RDS instance identifier, for the parameter-status check and the reboot. */
  readonly DbInstanceIdentifier: string;
  /** Database host name. */
  readonly Host: string;
  /** Database port. */
  readonly Port: string;
  /** Database (dbname) to configure. */
  readonly Database: string;
  /** Secrets Manager ARN of the master user's secret. */
  readonly MasterSecretArn: string;
  /** Secrets Manager ARN of the replication user's secret. */
  readonly ReplicationUserSecretArn: string;
  /** Schema of the published tables. */
  readonly Schema: string;
  /** JSON array of `{ name, replicaIdentity }`. */
  readonly Tables: string;
  /** Replication user name. */
  readonly User: string;
  /** Logical replication slot name. */
  readonly SlotName: string;
  /** Publication name. */
  readonly PublicationName: string;
  /** `"true"` to create the tutorial's demo table. */
  readonly CreateDemoTable: string;
  /** Debezium heartbeat table; absent when none is configured. */
  readonly HeartbeatTable?: string;
  /** `"true"` to reboot an instance whose parameter group is `pending-reboot`. */
  readonly RebootIfPending: string;
  /** The database's removal policy (`destroy`, `snapshot`, `retain`). */
  readonly RemovalPolicy: string;
}

/** The properties, typed. */
export interface ReplicationSetupRequest extends ReplicationObjectsConfig {
  readonly instanceIdentifier: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly masterSecretArn: string;
  readonly replicationUserSecretArn: string;
  readonly rebootIfPending: boolean;
  readonly removalPolicy: 'destroy' | 'snapshot' | 'retain';
}

/**
 * Parse what CloudFormation sent. The stack validated the configuration already; this guards
 * against a hand-edited template, and names the property that is wrong.
 */
export function parseProperties(raw: Record<string, unknown>): ReplicationSetupRequest {
  const text = (key: keyof ReplicationSetupProperties): string => {
    const value = raw[key];
    if (typeof value !== 'string' || value === '') {
      throw new Error(`Custom resource property ${key} is missing or empty`);
    }
    return value;
  };
  const port = Number(text('Port'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`Custom resource property Port is not a port number: ${text('Port')}`);
  }
  let tables: unknown;
  try {
    tables = JSON.parse(text('Tables'));
  } catch {
    throw new Error('Custom resource property Tables is not JSON');
  }
  if (
    !Array.isArray(tables) ||
    !tables.every(
      (table) =>
        typeof table?.name === 'string' && REPLICA_IDENTITIES.includes(table?.replicaIdentity),
    )
  ) {
    throw new Error(
      'Custom resource property Tables must be a JSON array of { name, replicaIdentity }',
    );
  }
  const removalPolicy = text('RemovalPolicy');
  if (removalPolicy !== 'destroy' && removalPolicy !== 'snapshot' && removalPolicy !== 'retain') {
    throw new Error(
      `Custom resource property RemovalPolicy must be destroy, snapshot or retain, not ${removalPolicy}`,
    );
  }
  return {
    instanceIdentifier: text('DbInstanceIdentifier'),
    host: text('Host'),
    port,
    database: text('Database'),
    masterSecretArn: text('MasterSecretArn'),
    replicationUserSecretArn: text('ReplicationUserSecretArn'),
    schema: text('Schema'),
    tables,
    user: text('User'),
    slotName: text('SlotName'),
    publicationName: text('PublicationName'),
    createDemoTable: text('CreateDemoTable') === 'true',
    ...(typeof raw.HeartbeatTable === 'string' && raw.HeartbeatTable !== ''
      ? { heartbeatTable: raw.HeartbeatTable }
      : {}),
    rebootIfPending: text('RebootIfPending') === 'true',
    removalPolicy,
  };
}

/**
 * The physical id names the slot and publication: renaming either is a replacement, so the new
 * one is created first and CloudFormation's follow-up Delete drops the old one. Anything else
 * (tables, identities, password) is updated in place and keeps the slot's position. Each part is
 * URI-encoded: a publication may be called `a/b`.
 */
export function physicalIdFor(request: ReplicationSetupRequest): string {
  return [request.instanceIdentifier, request.database, request.slotName, request.publicationName]
    .map(encodeURIComponent)
    .join('/');
}

/** What a physical id names; undefined for an id this resource did not make. */
export function parsePhysicalId(
  physicalId: string,
): { database: string; slotName: string; publicationName: string } | undefined {
  const parts = physicalId.split('/');
  if (parts.length !== 4) return undefined;
  const [, database, slotName, publicationName] = parts.map(decodeURIComponent);
  return { database, slotName, publicationName };
}
