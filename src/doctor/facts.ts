import type { ClientBase } from 'pg';
import {
  REPLICA_IDENTITIES,
  type DesiredReplicationState,
  type QualifiedTable,
  type TableState,
} from '../replication';
import { readSlotHealth, type SlotHealth } from '../watchdog';

/** A server setting and whether a changed value waits for a restart. */
export interface SettingState {
  readonly value: string;
  /** ALTER SYSTEM (or the config file) holds another value that applies at the next restart. */
  readonly pendingRestart: boolean;
}

/** A write privilege the replication user holds on a relation of a published schema. */
export interface WritableRelation {
  readonly schema: string;
  readonly name: string;
  /** Subset of INSERT, UPDATE, DELETE, TRUNCATE. */
  readonly privileges: readonly string[];
  /** The user owns the relation (owners hold every privilege, REVOKE does not help). */
  readonly ownedByUser: boolean;
  /** Some of `privileges` are granted to PUBLIC, so revoking them from the user is not enough. */
  readonly grantedToPublic: boolean;
}

/** A stored column as TOAST decides on it (checks/toast.ts holds the rule). */
export interface StoredColumn {
  readonly name: string;
  /** pg_attribute.attstorage: `p` plain (never TOASTed), `x` extended, `e` external, `m` main. */
  readonly storage: 'p' | 'x' | 'e' | 'm';
  /** A varlena type (pg_attribute.attlen = -1): the only kind TOAST compresses or moves out. */
  readonly variableLength: boolean;
  /**
   * The largest value in bytes: the width of a fixed-length type, the bound of varchar(n),
   * char(n), bit(n), varbit(n), numeric(p,s), inet and cidr; null when the type has none
   * (text, unbounded varchar, jsonb, bytea, arrays, numeric without precision, domains, ...).
   */
  readonly maxBytes: number | null;
  /** Part of the replica identity key (the primary key under DEFAULT, the index under USING INDEX). */
  readonly inIdentityKey: boolean;
  /** A stored generated column: recomputed, so written anew, by every UPDATE. */
  readonly generated: boolean;
}

/** A relation that holds rows of a published table: the table, or a leaf partition of it. */
export interface StoredRelation {
  readonly schema: string;
  readonly name: string;
  readonly replicaIdentity: NonNullable<TableState['replicaIdentity']>;
  /**
   * It has a TOAST table (pg_class.reltoastrelid): PostgreSQL gives one only to a table whose row
   * can outgrow TOAST_TUPLE_THRESHOLD (about 2 kB), and without one nothing is stored out of line.
   */
  readonly hasToastTable: boolean;
  /** Columns in table order (dropped and virtual generated ones left out). */
  readonly columns: readonly StoredColumn[];
}

/** A schema the replication user may create objects in. */
export interface CreatableSchema {
  readonly name: string;
  /** CREATE comes from PUBLIC (the `public` schema before PostgreSQL 15). */
  readonly viaPublic: boolean;
}

/** Where a configured table's rows are stored. */
export interface TableStorage {
  /** The configured table's schema. */
  readonly schema: string;
  /** The configured table. */
  readonly name: string;
  /** The table itself, or every leaf partition of a partitioned table. */
  readonly relations: readonly StoredRelation[];
}

/** What the doctor needs beyond the replication catalog snapshot. Plain JSON. */
export interface ServerFacts {
  /** `server_version`, e.g. `17.6`. */
  readonly serverVersion: string;
  readonly walLevel: SettingState;
  readonly maxReplicationSlots: SettingState;
  readonly maxWalSenders: SettingState;
  /** `rds.logical_replication` when the server knows it (RDS, Aurora); undefined elsewhere. */
  readonly rdsLogicalReplication?: string;
  /** The server is Amazon RDS or Aurora (the rds_superuser role exists). */
  readonly isRds: boolean;
  /**
   * Aurora PostgreSQL's own version (`aurora_version()`, e.g. `16.4.1`): the server is Aurora,
   * whose parameters live in the DB cluster parameter group. Undefined on any other PostgreSQL.
   */
  readonly auroraVersion?: string;
  /** Replication slots of any kind, in every database. */
  readonly slotsUsed: number;
  /** Inactive slots other than ours, candidates for clean-up. */
  readonly otherInactiveSlots: readonly { name: string; database: string | null }[];
  /** WAL sender processes running now. */
  readonly walSendersUsed: number;
  /** TLS of the doctor's own connection (pg_stat_ssl). */
  readonly connectionSsl: { readonly ssl: boolean; readonly version: string | null };
  /** The server's `ssl` setting. */
  readonly serverSsl: boolean;
  /**
   * The configured slot as the slot watchdog reads it (retained WAL, safe WAL size, wal_status,
   * time inactive): the same reader, so the doctor shows the watchdog's figures.
   */
  readonly slotHealth: SlotHealth;
  /** Write access of the replication user; undefined when the user does not exist. */
  readonly userWrites?: {
    readonly superuser: boolean;
    readonly databaseCreate: boolean;
    /**
     * The published schemas, then `public` (where every role may create before PostgreSQL 15),
     * that the user has CREATE on, in config order.
     */
    readonly creatableSchemas: readonly CreatableSchema[];
    /** In the published schemas, by schema in config order, then by name. */
    readonly relations: readonly WritableRelation[];
  };
  /**
   * The configured tables that exist, with how their rows are stored (for the TOAST check), by
   * schema, then by name.
   */
  readonly tableStorage: readonly TableStorage[];
}

/**
 * Aurora PostgreSQL's version, or NULL on any other PostgreSQL: Aurora has the function
 * `aurora_version()`. Calling a function that does not exist fails the whole statement when it is
 * planned, so the call is a string that query_to_xml plans and runs only when the function exists.
 */
export const AURORA_VERSION_SQL = `CASE WHEN to_regprocedure('aurora_version()') IS NOT NULL
    THEN (xpath('/row/v/text()', query_to_xml('SELECT aurora_version()::text AS v', false, true, '')))[1]::text
  END`;

/**
 * One round trip (the slot's health is the watchdog's own, second, statement). Everything here
 * is readable without superuser: pg_settings rows for these parameters, pg_stat_ssl for our own
 * backend, pg_stat_activity's backend_type, privilege functions. $1 slot, $2 user, $3 the
 * published schemas, $4 the configured tables' keys (configuredTableKey). With 10,000 tables it
 * must stay well under a second (EXPLAIN ANALYZE it with that many): no per-table subquery that
 * a join can replace, no plan on a wrong estimate. Partitions come from pg_partition_tree and
 * generated columns from attgenerated (PostgreSQL 12+).
 */
const FACTS_QUERY = `
WITH
  settings AS (
    SELECT name, setting, pending_restart FROM pg_settings
    WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders')),
  target_schema AS (
    SELECT n.oid, n.nspname, s.position FROM unnest($3::text[]) WITH ORDINALITY AS s(name, position)
    JOIN pg_namespace n ON n.nspname = s.name),
  max_bytes_per_char AS (
    SELECT pg_encoding_max_length(encoding) AS bytes FROM pg_database WHERE datname = current_database()),
  -- Each table by its key (configuredTableKey), a filter PostgreSQL hashes: a join to the
  -- unnested (schema, name) pairs is estimated at a handful of rows, and the nested loops planned
  -- on that take minutes for 10,000 tables.
  configured AS (
    SELECT c.oid, ts.nspname, c.relname, c.relkind
    FROM pg_class c JOIN target_schema ts ON ts.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND char_length(ts.nspname) || ':' || ts.nspname || c.relname = ANY ($4::text[])),
  -- MATERIALIZED: else the planner may run the privilege functions below on every relation of
  -- the database (indexes and TOAST tables too) before filtering by schema.
  schema_relations AS MATERIALIZED (
    SELECT c.oid, c.relname, c.relowner, c.relacl, ts.nspname, ts.position
    FROM pg_class c JOIN target_schema ts ON ts.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')),
  -- Where the rows are: the table, or the leaf partitions of a partitioned one (which has no
  -- storage, and whose replica identity does not cascade to them). With the attnums of each
  -- one's replica identity key: the primary key under DEFAULT, the index under USING INDEX.
  stored AS (
    SELECT t.nspname AS configured_schema, t.relname AS configured, h.oid, n.nspname, h.relname, h.relreplident,
           h.reltoastrelid <> 0 AS has_toast,
           coalesce((
             SELECT i.indkey::int2[] FROM pg_index i
             WHERE i.indrelid = h.oid
               AND CASE h.relreplident WHEN 'd' THEN i.indisprimary WHEN 'i' THEN i.indisreplident ELSE false END
             LIMIT 1), '{}') AS key_attnums
    FROM configured t
    CROSS JOIN LATERAL (
      SELECT t.oid AS relid WHERE t.relkind = 'r'
      UNION ALL
      SELECT relid FROM pg_partition_tree(t.oid) WHERE t.relkind = 'p' AND isleaf) r
    JOIN pg_class h ON h.oid = r.relid AND h.relkind = 'r'
    JOIN pg_namespace n ON n.oid = h.relnamespace),
  stored_relations AS (
    SELECT s.configured_schema, s.configured, json_agg(json_build_object(
             'schema', s.nspname, 'name', s.relname, 'identity', s.relreplident, 'hasToastTable', s.has_toast,
             'columns', (
               SELECT coalesce(json_agg(json_build_object(
                        'name', a.attname, 'storage', a.attstorage, 'variableLength', a.attlen = -1,
                        -- PostgreSQL's type_maximum_size() (varchar, char, bit, varbit), plus the
                        -- bounds it does not know: numeric(p,s) (8-byte header, 2 bytes per 4
                        -- digits and one spare) and inet/cidr (4 + 18 bytes).
                        'maxBytes', CASE
                          WHEN a.attlen > 0 THEN a.attlen
                          WHEN a.atttypid IN ('inet'::regtype, 'cidr'::regtype) THEN 22
                          WHEN a.atttypmod < 0 THEN NULL
                          WHEN a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype)
                            THEN (a.atttypmod - 4) * (SELECT bytes FROM max_bytes_per_char) + 4
                          WHEN a.atttypid IN ('bit'::regtype, 'varbit'::regtype) THEN (a.atttypmod + 7) / 8 + 8
                          WHEN a.atttypid = 'numeric'::regtype
                            THEN 8 + 2 * ((((a.atttypmod - 4) >> 16) & 65535) / 4 + 2)
                        END,
                        'inIdentityKey', a.attnum = ANY (s.key_attnums),
                        'generated', a.attgenerated <> '')
                      ORDER BY a.attnum), '[]')
               FROM pg_attribute a
               -- 'v' (virtual generated, PostgreSQL 18) is not stored.
               WHERE a.attrelid = s.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> 'v'))
           ORDER BY s.nspname, s.relname) AS relations
    FROM stored s GROUP BY s.configured_schema, s.configured)
SELECT
  current_setting('server_version') AS server_version,
  (SELECT json_object_agg(name, json_build_object('value', setting, 'pendingRestart', pending_restart)) FROM settings) AS settings,
  current_setting('rds.logical_replication', true) AS rds_logical_replication,
  EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') AS is_rds,
  ${AURORA_VERSION_SQL} AS aurora_version,
  (SELECT count(*)::int FROM pg_replication_slots) AS slots_used,
  (SELECT coalesce(json_agg(json_build_object('name', slot_name, 'database', database) ORDER BY slot_name), '[]')
     FROM pg_replication_slots WHERE NOT active AND slot_name <> $1) AS other_inactive_slots,
  (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'walsender') AS wal_senders_used,
  (SELECT json_build_object('ssl', ssl, 'version', version) FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS connection_ssl,
  current_setting('ssl') = 'on' AS server_ssl,
  (SELECT json_build_object(
     'superuser', r.rolsuper,
     'databaseCreate', has_database_privilege(r.oid, current_database(), 'CREATE'),
     'creatableSchemas', (
        SELECT coalesce(json_agg(json_build_object(
                 'name', n.nspname,
                 'viaPublic', EXISTS (
                   SELECT 1 FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                   WHERE a.grantee = 0 AND a.privilege_type = 'CREATE'))
               ORDER BY s.position), '[]')
        FROM (SELECT name, min(position) AS position
                FROM unnest($3::text[] || 'public'::text) WITH ORDINALITY AS u(name, position)
               GROUP BY name) s
        JOIN pg_namespace n ON n.nspname = s.name
        WHERE has_schema_privilege(r.oid, n.oid, 'CREATE')),
     'relations', (
        SELECT coalesce(json_agg(json_build_object(
                 'schema', c.nspname, 'name', c.relname, 'privileges', w.privileges,
                 'ownedByUser', c.relowner = r.oid,
                 'grantedToPublic', EXISTS (
                   SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
                   WHERE a.grantee = 0 AND a.privilege_type = ANY (w.privileges)))
               ORDER BY c.position, c.relname), '[]')
        FROM schema_relations c
        CROSS JOIN LATERAL (
          SELECT array_remove(ARRAY[
            CASE WHEN has_table_privilege(r.oid, c.oid, 'INSERT') THEN 'INSERT' END,
            CASE WHEN has_table_privilege(r.oid, c.oid, 'UPDATE') THEN 'UPDATE' END,
            CASE WHEN has_table_privilege(r.oid, c.oid, 'DELETE') THEN 'DELETE' END,
            CASE WHEN has_table_privilege(r.oid, c.oid, 'TRUNCATE') THEN 'TRUNCATE' END], NULL) AS privileges) w
        WHERE cardinality(w.privileges) > 0)
   ) FROM pg_roles r WHERE r.rolname = $2) AS user_writes,
  (SELECT coalesce(json_agg(json_build_object(
            'schema', configured_schema, 'name', configured, 'relations', relations)
          ORDER BY configured_schema, configured), '[]')
   FROM stored_relations) AS table_storage
`;

interface FactsRow {
  server_version: string;
  settings: Record<string, SettingState>;
  rds_logical_replication: string | null;
  is_rds: boolean;
  aurora_version: string | null;
  slots_used: number;
  other_inactive_slots: { name: string; database: string | null }[];
  wal_senders_used: number;
  connection_ssl: { ssl: boolean; version: string | null } | null;
  server_ssl: boolean;
  user_writes: ServerFacts['userWrites'] | null;
  table_storage: {
    schema: string;
    name: string;
    relations: (Omit<StoredRelation, 'replicaIdentity'> & { identity: string })[];
  }[];
}

/**
 * A table as one text the query matches in one hashed lookup: the schema's length in characters
 * (char_length, whatever the server encoding), the schema, then the name, so that no two
 * (schema, name) pairs give the same key.
 */
const configuredTableKey = (table: QualifiedTable): string =>
  `${[...table.schema].length}:${table.schema}${table.name}`;

/**
 * Read the server settings, TLS, the user's write access and the configured tables' storage in
 * one query, then the slot's health with the watchdog's reader.
 */
export async function readServerFacts(
  client: ClientBase,
  target: Pick<DesiredReplicationState, 'slotName' | 'user'> & {
    readonly schemas: readonly { readonly name: string }[];
    readonly tables: readonly QualifiedTable[];
  },
): Promise<ServerFacts> {
  const { rows } = await client.query<FactsRow>(FACTS_QUERY, [
    target.slotName,
    target.user,
    target.schemas.map((schema) => schema.name),
    target.tables.map(configuredTableKey),
  ]);
  const row = rows[0];
  const slotHealth = await readSlotHealth(client, target.slotName);
  return {
    serverVersion: row.server_version,
    walLevel: row.settings.wal_level,
    maxReplicationSlots: row.settings.max_replication_slots,
    maxWalSenders: row.settings.max_wal_senders,
    ...(row.rds_logical_replication === null
      ? {}
      : { rdsLogicalReplication: row.rds_logical_replication }),
    isRds: row.is_rds,
    ...(row.aurora_version === null ? {} : { auroraVersion: row.aurora_version }),
    slotsUsed: row.slots_used,
    otherInactiveSlots: row.other_inactive_slots,
    walSendersUsed: row.wal_senders_used,
    connectionSsl: row.connection_ssl ?? { ssl: false, version: null },
    serverSsl: row.server_ssl,
    slotHealth,
    ...(row.user_writes ? { userWrites: row.user_writes } : {}),
    tableStorage: row.table_storage.map((table) => ({
      schema: table.schema,
      name: table.name,
      relations: table.relations.map(({ identity, ...relation }) => ({
        ...relation,
        replicaIdentity: REPLICA_IDENTITIES[identity],
      })),
    })),
  };
}
