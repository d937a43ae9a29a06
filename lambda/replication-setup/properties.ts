import type { ReplicaIdentity } from '../../src/config/replication';
import type { ReplicationSetupProperties } from '../../src/contract/replication-setup';
import type { ReplicationObjectsConfig } from '../../src/replication/desired-state';

const REPLICA_IDENTITIES: readonly unknown[] = ['default', 'full'] satisfies ReplicaIdentity[];

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
