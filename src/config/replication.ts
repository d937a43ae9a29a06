import { z } from 'zod';
import { MASTER_USERNAME } from '../contract/database';
import {
  isWholeSchema,
  REPLICA_IDENTITIES,
  tablesProperty,
  type SchemaSelection,
  type TableSelection,
  type WholeSchemaTables,
} from '../contract/replication-setup';
import { quotedIdentifier, roleName, schemaName, slotName } from './identifiers';

/** A REPLICA IDENTITY by name: what the section-wide default may be. */
export const replicaIdentityModeSchema = z.enum(REPLICA_IDENTITIES);

/** One table's REPLICA IDENTITY: a name, or the unique index to identify rows by. */
export const replicaIdentitySchema = z.union([
  replicaIdentityModeSchema,
  z.strictObject({
    /**
     * REPLICA IDENTITY USING INDEX: a unique, non-partial, non-deferrable index of the table on
     * plain NOT NULL columns (checked against the database before anything runs). For tables
     * without a primary key but with such a key.
     */
    index: quotedIdentifier,
  }),
]);
export type ReplicaIdentity = z.infer<typeof replicaIdentitySchema>;

/** A table to publish: its name, or its name with its own replica identity. */
const tableEntrySchema = z.union([
  quotedIdentifier,
  z.strictObject({
    /** Table name inside `schema`. */
    name: quotedIdentifier,
    /**
     * REPLICA IDENTITY for this table: `default`, `full` or `{ "index": "<name>" }`. Default: the
     * section's `replicaIdentity`.
     */
    replicaIdentity: replicaIdentitySchema.optional(),
  }),
]);

/** `replication.tables` meaning every table of the schema, now and later. */
export const WHOLE_SCHEMA = '*';

/** One schema's tables as written: a list of entries, or `"*"`. */
const tableSelectionSchema = z.union([
  // A string member that refuses an array by its type (a literal would not), so that a
  // wrong list entry is reported with its own path (see src/config/issues.ts).
  z.string().refine((value) => value === WHOLE_SCHEMA, {
    message: `must be "${WHOLE_SCHEMA}" (every table of the schema) or a list of tables`,
  }),
  z.array(tableEntrySchema).min(1, 'must list at least one table'),
]);
type TableSelectionInput = z.infer<typeof tableSelectionSchema>;

/** The schema and tables published when the section names neither. */
const DEFAULT_SCHEMA = 'datastore';
const DEFAULT_TABLES: TableSelectionInput = ['data_tbl'];

/**
 * The largest the custom resource's `Tables` property may be, as the template and the Lambda
 * event hold it (a JSON string inside JSON, quotes escaped). CloudFormation sends it to the setup
 * function in an asynchronous invocation (payload at most 1 MB), and an Update event carries it
 * twice (ResourceProperties and OldResourceProperties); the template itself is at most 1 MB.
 * Beyond this the deploy would fail long after synth, with a message naming none of it.
 */
export const MAX_TABLES_PROPERTY_BYTES = 400 * 1024;

/** Bytes of `tables` as the `Tables` property: JSON, then JSON-encoded again as a string. */
export const tablesPropertyBytes = (tables: unknown): number =>
  Buffer.byteLength(JSON.stringify(JSON.stringify(tables)));

/** Lists the problems of one schema's list (at `path`): `"*"` inside it, a table named twice. */
function checkTableList(
  tables: TableSelectionInput,
  path: readonly [string, ...string[]],
  ctx: z.RefinementCtx,
): void {
  const key = path[path.length - 1];
  if (typeof tables === 'string') return;
  const seen = new Set<string>();
  tables.forEach((entry, index) => {
    const name = typeof entry === 'string' ? entry : entry.name;
    if (name === WHOLE_SCHEMA) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, index],
        message: `"${WHOLE_SCHEMA}" cannot be combined with a list: write "${key}": "${WHOLE_SCHEMA}" (every table of the schema) or list the tables by name`,
      });
    }
    if (seen.has(name)) {
      ctx.addIssue({ code: 'custom', path: [...path, index], message: `lists "${name}" twice` });
    }
    seen.add(name);
  });
}

/** One schema's tables normalised to `{ name, replicaIdentity }`, or the whole schema. */
function normalisedSelection(
  tables: TableSelectionInput,
  replicaIdentity: z.infer<typeof replicaIdentityModeSchema>,
): TableSelection {
  if (typeof tables === 'string') {
    return { wholeSchema: true, replicaIdentity } satisfies WholeSchemaTables;
  }
  return tables.map((entry) =>
    typeof entry === 'string'
      ? { name: entry, replicaIdentity }
      : { name: entry.name, replicaIdentity: entry.replicaIdentity ?? replicaIdentity },
  );
}

interface SelectionFields {
  readonly schema?: string;
  readonly tables?: TableSelectionInput;
  readonly schemas?: Readonly<Record<string, TableSelectionInput>>;
  readonly replicaIdentity: z.infer<typeof replicaIdentityModeSchema>;
}

/** The published schemas of either form, in config order, tables normalised. */
function publishedSchemas(fields: SelectionFields): readonly SchemaSelection[] {
  const selections: [string, TableSelectionInput][] =
    fields.schemas === undefined
      ? [[fields.schema ?? DEFAULT_SCHEMA, fields.tables ?? DEFAULT_TABLES]]
      : Object.entries(fields.schemas);
  return selections.map(([name, selection]) => ({
    name,
    tables: normalisedSelection(selection, fields.replicaIdentity),
  }));
}

/** Refuses selections whose `Tables` property would not fit the setup function's event. */
function checkTablesPropertySize(
  schemas: readonly SchemaSelection[],
  severalSchemasForm: boolean,
  ctx: z.RefinementCtx,
): void {
  const bytes = tablesPropertyBytes(tablesProperty(schemas));
  if (bytes <= MAX_TABLES_PROPERTY_BYTES) return;
  const count = schemas.reduce(
    (sum, selection) => sum + (isWholeSchema(selection.tables) ? 0 : selection.tables.length),
    0,
  );
  const fitting = Math.floor((MAX_TABLES_PROPERTY_BYTES / bytes) * count);
  ctx.addIssue({
    code: 'custom',
    path: [severalSchemasForm ? 'schemas' : 'tables'],
    message: `lists ${count} tables, ${Math.ceil(bytes / 1024)} KiB as the replication setup's Tables property; at most ${MAX_TABLES_PROPERTY_BYTES / 1024} KiB fit, because CloudFormation's Update event carries the property twice and the setup function's event is limited to 1 MB. List at most about ${fitting} tables of these name lengths per environment, publish whole schemas ("*"), or split them across environments`,
  });
}

/** The heartbeat table `replication.heartbeatTable` names when the section does not. */
const DEFAULT_HEARTBEAT_TABLE = 'airbyte_heartbeat';

/**
 * `replication.heartbeatTable`: a table name, or `false` for none (the section's transform turns
 * `false` into an absent field, the shape every consumer of the config reads).
 */
const heartbeatTableSchema = z
  .union(
    [
      quotedIdentifier,
      // A boolean member that refuses a string by its type (a literal would not), so that a
      // wrong name is reported with its own rule (see src/config/issues.ts), and `true` with this.
      z.boolean().refine((value) => !value, {
        message: 'must be a table name or false (no heartbeat table); true names no table',
      }),
    ],
    { error: 'must be a table name or false (no heartbeat table)' },
  )
  .default(DEFAULT_HEARTBEAT_TABLE);

export const replicationSchema = z
  .strictObject({
    /**
     * Schema that holds the published tables (created if missing); with `schemas`, leave it out.
     * Default: `datastore`.
     */
    schema: schemaName.optional(),
    /**
     * Tables to publish, each a name in `schema` or `{ "name", "replicaIdentity" }`; or `"*"`
     * (the string, not in a list): every table of `schema`, now and later. With `schemas`, leave
     * it out. Default: `["data_tbl"]` (the tutorial's table).
     */
    tables: tableSelectionSchema.optional(),
    /**
     * Several schemas in one pipeline, instead of `schema` and `tables`: each schema's name with
     * its tables written as `tables` is, e.g. `{ "sales": ["orders", "items"], "crm": "*" }`. The
     * first holds the demo and heartbeat tables. Default: none (`schema` and `tables`).
     */
    schemas: z.record(schemaName, tableSelectionSchema).optional(),
    /** Read-only user Airbyte logs in as. Default: `airbyte`. */
    user: roleName
      .refine((name) => name !== MASTER_USERNAME, {
        message: `must not be the master user "${MASTER_USERNAME}": the setup would hand Airbyte the master login and change its password`,
      })
      .default('airbyte'),
    /** Logical replication slot Debezium reads (plugin pgoutput). Default: `airbyte_slot`. */
    slotName: slotName.default('airbyte_slot'),
    /** Publication naming the tables to stream. Default: `airbyte_publication`. */
    publicationName: quotedIdentifier.default('airbyte_publication'),
    /**
     * REPLICA IDENTITY for every table without its own: `default` (primary key in the WAL's
     * before-image) or `full` (whole old row; needed for tables without a primary key).
     * Default: `default`.
     */
    replicaIdentity: replicaIdentityModeSchema.default('default'),
    /**
     * Create the tutorial's `data_tbl (id bigint primary key, val varchar)` in `schema` with rows
     * (1,'a'), (2,'b') on first deploy. Default: false (cdk.json turns it on for dev).
     */
    createDemoTable: z.boolean().default(false),
    /**
     * `max_slot_wal_keep_size` in GiB: WAL a slot may hold before PostgreSQL invalidates it,
     * protecting the disk from a stalled Airbyte. Must be below the allocated storage.
     * Default: 4.
     */
    maxSlotWalKeepSizeGiB: z.number().int().min(1).default(4),
    /**
     * `idle_replication_slot_timeout` in hours (PostgreSQL 18 and later): a slot that no consumer
     * streamed for this long is invalidated, a safety valve next to maxSlotWalKeepSizeGiB for a
     * pipeline that was abandoned. Must exceed the longest gap between Airbyte syncs, or a
     * healthy slot is lost. Default: none (off).
     */
    idleSlotTimeoutHours: z.number().int().min(1).optional(),
    /**
     * A Debezium heartbeat table in `schema` (created, published, and the only table the
     * replication user may write): Airbyte's heartbeat query updates it so that the slot advances
     * even when the published tables are idle. On by default because RDS writes WAL to its own
     * `rdsadmin` database every few minutes, which a slot of a quiet database cannot confirm.
     * `false`: none, for a database where no table may be added. Default: `airbyte_heartbeat`.
     */
    heartbeatTable: heartbeatTableSchema,
    /**
     * When the parameter group is `pending-reboot` (logical replication not yet on), reboot the
     * instance during deploy instead of failing with the command to run. Default: false.
     */
    rebootIfPending: z.boolean().default(false),
    /**
     * Acknowledge that a major engine upgrade may drop the slot (from PostgreSQL before 17, or
     * from 17 on when it holds changes Airbyte has not confirmed): the pre-upgrade step drops it,
     * the setup recreates it, and Airbyte resyncs, copying every published table again. Without
     * it such an upgrade fails before anything changes. Default: false.
     */
    allowSlotRecreation: z.boolean().default(false),
  })
  .superRefine((replication, ctx) => {
    if (replication.schemas === undefined) {
      checkTableList(replication.tables ?? DEFAULT_TABLES, ['tables'], ctx);
    } else {
      const alongside = (['schema', 'tables'] as const).filter(
        (key) => replication[key] !== undefined,
      );
      if (alongside.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['schemas'],
          message: `replaces ${alongside.join(' and ')}: write every schema with its tables inside "schemas" (e.g. "schemas": { "${replication.schema ?? DEFAULT_SCHEMA}": ["${DEFAULT_TABLES[0]}"] }) and remove ${alongside.map((key) => `"${key}"`).join(' and ')}`,
        });
      }
      const entries = Object.entries(replication.schemas);
      if (entries.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['schemas'],
          message: 'must name at least one schema with its tables',
        });
        return;
      }
      for (const [schema, tables] of entries) checkTableList(tables, ['schemas', schema], ctx);
    }
    checkTablesPropertySize(publishedSchemas(replication), replication.schemas !== undefined, ctx);
  })
  .transform((replication) => {
    // The two input forms give way to their normalised result.
    const { schema, tables, schemas: written, heartbeatTable, ...rest } = replication;
    const schemas = publishedSchemas({ schema, tables, schemas: written, ...rest });
    return {
      ...rest,
      // `false` (refined above to be the only boolean) leaves no heartbeat table.
      ...(typeof heartbeatTable === 'string' ? { heartbeatTable } : {}),
      /** The first published schema: it holds the demo and heartbeat tables. */
      schema: schemas[0].name,
      /** Every published schema in config order, its tables normalised. */
      schemas,
    };
  });

export type ReplicationConfig = z.infer<typeof replicationSchema>;
