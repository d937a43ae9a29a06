/**
 * The replication setup custom resource as the stack (lib/replication-setup.ts) and its function
 * (lambda/replication-setup) agree on it: its type and its properties. No secret travels here,
 * only secret ARNs.
 */
import * as z from 'zod/mini';
import { optionalText, requiredText } from './properties';

/** CloudFormation type of the resource, so that diffs and consoles name it for what it is. */
export const REPLICATION_SETUP_RESOURCE_TYPE = 'Custom::ReplicationSetup';

/** REPLICA IDENTITY values given by name (the `{ index }` shape names a unique index instead). */
export const REPLICA_IDENTITIES = ['default', 'full'] as const;
/** A REPLICA IDENTITY given by name. */
export type ReplicaIdentityMode = (typeof REPLICA_IDENTITIES)[number];
/** REPLICA IDENTITY USING INDEX: the unique, non-partial, immediate index on NOT NULL columns. */
export interface IndexReplicaIdentity {
  /** Index name (in the table's schema, as indexes always are). */
  readonly index: string;
}
/** The REPLICA IDENTITY a published table may be given. */
export type TableReplicaIdentity = ReplicaIdentityMode | IndexReplicaIdentity;
/** What happens to the database when the stack lets go of it. */
export const DATABASE_REMOVAL_POLICIES = ['destroy', 'snapshot', 'retain'] as const;

/** The properties the stack writes; CloudFormation passes every value as a string. */
export const replicationSetupPropertiesSchema = z.object({
  /**
   * RDS instance identifier, for the parameter-status check and the reboot; exactly one of this
   * and `DbClusterIdentifier` is given.
   */
  DbInstanceIdentifier: optionalText,
  /**
   * Aurora cluster identifier (DescribeDBClusters, a reboot of its writer); exactly one of this
   * and `DbInstanceIdentifier` is given.
   */
  DbClusterIdentifier: optionalText,
  /**
   * `"true"` when the database existed before the stack (`database.existing`): the stack never
   * modifies, reboots or deletes it. Absent when the stack owns the database.
   */
  ExistingDatabase: optionalText,
  /**
   * `"true"` to drop the slot on Delete even while a consumer is attached
   * (`database.existing.dropActiveSlotOnDestroy`). Absent otherwise.
   */
  DropActiveSlotOnDelete: optionalText,
  /** Database host name. */
  Host: requiredText,
  /** Database port. */
  Port: requiredText,
  /** Database (dbname) to configure. */
  Database: requiredText,
  /** Secrets Manager ARN of the master user's secret. */
  MasterSecretArn: requiredText,
  /** Secrets Manager ARN of the replication user's secret. */
  ReplicationUserSecretArn: requiredText,
  /** The first published schema: it holds the demo and heartbeat tables. */
  Schema: requiredText,
  /**
   * JSON of replicationTablesSchema: `Schema`'s `[{ name, replicaIdentity }]` (identity a name
   * or `{ index }`) or `{ "wholeSchema": true, "replicaIdentity": … }` for every table of it; for
   * several schemas `{ "schemas": [{ "name", "tables" }] }` with `Schema` first.
   */
  Tables: requiredText,
  /** Replication user name. */
  User: requiredText,
  /** Logical replication slot name. */
  SlotName: requiredText,
  /** Publication name. */
  PublicationName: requiredText,
  /** `"true"` to create the tutorial's demo table. */
  CreateDemoTable: requiredText,
  /** Debezium heartbeat table; absent when none is configured. */
  HeartbeatTable: optionalText,
  /** The slot watchdog's login role; absent when there is no watchdog. */
  MonitoringUser: optionalText,
  /** Secrets Manager ARN of the watchdog role's secret; given exactly when `MonitoringUser` is. */
  MonitoringUserSecretArn: optionalText,
  /**
   * The pre-upgrade check's slot generation: it changes exactly when that check dropped the slot
   * for an engine upgrade, which makes this an Update that recreates it. Absent without the check.
   */
  SlotGeneration: optionalText,
  /** `"true"` to reboot an instance whose parameter group is `pending-reboot`. */
  RebootIfPending: requiredText,
  /** The database's removal policy: one of DATABASE_REMOVAL_POLICIES. */
  RemovalPolicy: requiredText,
});

/** The properties as the construct writes them. */
export type ReplicationSetupProperties = z.input<typeof replicationSetupPropertiesSchema>;

/** One table's replica identity in the `Tables` JSON: a name, or `{ "index": "<name>" }`. */
export const tableReplicaIdentitySchema = z.union([
  z.enum(REPLICA_IDENTITIES),
  z.object({ index: requiredText }),
]);

/**
 * `replication.tables: "*"`: every table of the schema, those that exist at deploy time and
 * those created later, each given `replicaIdentity` when the setup runs.
 */
export interface WholeSchemaTables {
  readonly wholeSchema: true;
  readonly replicaIdentity: ReplicaIdentityMode;
}

/** A listed table of one schema, with the identity the setup gives it. */
export interface ListedTable {
  readonly name: string;
  readonly replicaIdentity: TableReplicaIdentity;
}

/** What a schema publishes: the listed tables, or the whole schema. */
export type TableSelection = readonly ListedTable[] | WholeSchemaTables;

/** One published schema and its tables. */
export interface SchemaSelection {
  readonly name: string;
  readonly tables: TableSelection;
}

/** Whether a table selection is the whole schema rather than a list. */
export const isWholeSchema = (tables: TableSelection): tables is WholeSchemaTables =>
  !Array.isArray(tables);

/**
 * The `Tables` property for these schemas (the first is `Schema`). One schema keeps the shape
 * it always had, so that a stack deployed before several schemas existed sees no change.
 */
export const tablesProperty = (
  schemas: readonly SchemaSelection[],
): TableSelection | { readonly schemas: readonly SchemaSelection[] } =>
  schemas.length === 1 ? schemas[0].tables : { schemas };

const listedTablesSchema = z.array(
  z.object({ name: requiredText, replicaIdentity: tableReplicaIdentitySchema }),
);
const wholeSchemaTablesSchema = z.object({
  wholeSchema: z.literal(true),
  replicaIdentity: z.enum(REPLICA_IDENTITIES),
});
const tableSelectionSchema = z.pipe(
  z.unknown(),
  z.transform((value, ctx): TableSelection => {
    const result = z.safeParse(
      Array.isArray(value) ? listedTablesSchema : wholeSchemaTablesSchema,
      value,
    );
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      ctx.issues.push({ code: 'custom', message: issue.message, path: issue.path, input: value });
    }
    return z.NEVER;
  }),
);
const severalSchemasSchema = z.object({
  schemas: z
    .array(z.object({ name: requiredText, tables: tableSelectionSchema }))
    .check(z.minLength(2, 'must hold at least two schemas (one is written without "schemas")')),
});

/**
 * The `Tables` property's JSON: one schema's listed tables or `{ wholeSchema }`, or
 * `{ "schemas": [{ name, tables }] }` for several. Chosen by shape rather than with a union, so
 * that a wrong entry is named by its path (a failed union names none).
 */
export const replicationTablesSchema = z.pipe(
  z.unknown(),
  z.transform((value, ctx): TableSelection | { readonly schemas: readonly SchemaSelection[] } => {
    const several = typeof value === 'object' && value !== null && 'schemas' in value;
    const result = z.safeParse(several ? severalSchemasSchema : tableSelectionSchema, value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      ctx.issues.push({ code: 'custom', message: issue.message, path: issue.path, input: value });
    }
    return z.NEVER;
  }),
);

/** The schemas a parsed `Tables` property names, `Schema` (the first) included. */
export const schemaSelectionsOf = (
  schema: string,
  tables: z.output<typeof replicationTablesSchema>,
): readonly SchemaSelection[] =>
  'schemas' in tables ? tables.schemas : [{ name: schema, tables }];
