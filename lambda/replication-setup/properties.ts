import {
  DATABASE_REMOVAL_POLICIES,
  replicationSetupPropertiesSchema,
  replicationTablesSchema,
  schemaSelectionsOf,
  type SchemaSelection,
} from '../../src/contract/replication-setup';
import type { DatabaseReference } from '../../src/contract/database';
import { databaseReferenceOf } from '../../src/contract/database-identifier';
import {
  parseJsonProperty,
  parseResourceProperties,
  ResourcePropertiesError,
} from '../../src/contract/properties';
import type { ReplicationObjectsConfig } from '../../src/replication/desired-state';

/** How the contract's messages name this resource. */
const RESOURCE = 'Replication setup';

/** The properties, typed. */
export interface ReplicationSetupRequest extends ReplicationObjectsConfig {
  /** The RDS instance or Aurora cluster, as RDS names it. */
  readonly databaseReference: DatabaseReference;
  /** The database existed before the stack: never modified, rebooted or deleted by it. */
  readonly existingDatabase: boolean;
  /** On Delete, drop the slot of an existing database even while a consumer reads it. */
  readonly dropActiveSlotOnDelete: boolean;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly masterSecretArn: string;
  readonly replicationUserSecretArn: string;
  /** The slot watchdog's role and the ARN of its secret; undefined without a watchdog. */
  readonly monitoringUser?: { readonly name: string; readonly secretArn: string };
  readonly rebootIfPending: boolean;
  readonly removalPolicy: (typeof DATABASE_REMOVAL_POLICIES)[number];
}

const isRemovalPolicy = (value: string): value is ReplicationSetupRequest['removalPolicy'] =>
  (DATABASE_REMOVAL_POLICIES as readonly string[]).includes(value);

/** The published schemas the `Tables` property names, `Schema` first as the stack writes it. */
function schemasOf(schema: string, tables: string): readonly SchemaSelection[] {
  const schemas = schemaSelectionsOf(
    schema,
    parseJsonProperty(RESOURCE, 'Tables', tables, replicationTablesSchema),
  );
  if (schemas[0].name !== schema) {
    throw new ResourcePropertiesError(
      `${RESOURCE} custom resource property Tables must name schema ${JSON.stringify(schema)} (property Schema) first, not ${JSON.stringify(schemas[0].name)}`,
    );
  }
  return schemas;
}

/**
 * Parse what CloudFormation sent with the contract the construct writes. The stack validated the
 * configuration already; this guards against a hand-edited template, and names the property
 * that is wrong.
 */
export function parseProperties(raw: Record<string, unknown>): ReplicationSetupRequest {
  const properties = parseResourceProperties(RESOURCE, replicationSetupPropertiesSchema, raw);
  const port = Number(properties.Port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ResourcePropertiesError(
      `${RESOURCE} custom resource property Port is not a port number: ${properties.Port}`,
    );
  }
  if (!isRemovalPolicy(properties.RemovalPolicy)) {
    throw new ResourcePropertiesError(
      `${RESOURCE} custom resource property RemovalPolicy must be ${DATABASE_REMOVAL_POLICIES.join(', ')}, not ${properties.RemovalPolicy}`,
    );
  }
  if (!properties.MonitoringUser !== !properties.MonitoringUserSecretArn) {
    throw new ResourcePropertiesError(
      `${RESOURCE} custom resource properties MonitoringUser and MonitoringUserSecretArn must be given together, not ${properties.MonitoringUser ? 'MonitoringUser' : 'MonitoringUserSecretArn'} alone`,
    );
  }
  return {
    databaseReference: databaseReferenceOf(RESOURCE, properties),
    existingDatabase: properties.ExistingDatabase === 'true',
    dropActiveSlotOnDelete: properties.DropActiveSlotOnDelete === 'true',
    host: properties.Host,
    port,
    database: properties.Database,
    masterSecretArn: properties.MasterSecretArn,
    replicationUserSecretArn: properties.ReplicationUserSecretArn,
    schema: properties.Schema,
    schemas: schemasOf(properties.Schema, properties.Tables),
    user: properties.User,
    slotName: properties.SlotName,
    publicationName: properties.PublicationName,
    createDemoTable: properties.CreateDemoTable === 'true',
    ...(properties.HeartbeatTable ? { heartbeatTable: properties.HeartbeatTable } : {}),
    ...(properties.MonitoringUser && properties.MonitoringUserSecretArn
      ? {
          monitoringUser: {
            name: properties.MonitoringUser,
            secretArn: properties.MonitoringUserSecretArn,
          },
        }
      : {}),
    rebootIfPending: properties.RebootIfPending === 'true',
    removalPolicy: properties.RemovalPolicy,
  };
}

/**
 * The physical id names the slot and publication: renaming either is a replacement, so the new
 * one is created first and CloudFormation's follow-up Delete drops the old one. Anything else
 * (tables, identities, password) is updated in place and keeps the slot's position. Each part is
 * URI-encoded: a publication may be called `a/b`. The first part is the instance or cluster
 * identifier, so an instance's id is what it was before clusters existed.
 */
export function physicalIdFor(request: ReplicationSetupRequest): string {
  return [
    request.databaseReference.identifier,
    request.database,
    request.slotName,
    request.publicationName,
  ]
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
