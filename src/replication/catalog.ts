import { Client, ClientBase, ClientConfig } from 'pg';
import { RDS_REPLICATION_ROLE, TABLES_IN_SCHEMA_VERSION, tablesOfInterest } from './planner';
import { identityIndexesOf } from './replica-identity';
import { CURRENT_WAL_POSITION, slotJsonSql, slotStateOf, type SlotJson } from './slot-row';
import type {
  CatalogSnapshot,
  DefaultPrivilegeEntry,
  DesiredReplicationState,
  PublicationState,
  IndexState,
  MonitoringRoleState,
  PartitionState,
  PublicSchemaState,
  QualifiedTable,
  ReplicaIdentityState,
  ReplicationTarget,
  TableState,
} from './types';

/** Tells whether `user` can log in with `password`. */
export type PasswordCheck = (user: string, password: string) => Promise<boolean>;

export interface ReadCatalogOptions {
  /**
   * How to check the user's password. Default: a login probe to the same server and database
   * as `client` (same TLS settings). Only used when a password is desired and the role exists.
   */
  readonly checkPassword?: PasswordCheck;
}

/** pg_class.relreplident as the names the planner and the doctor use. */
export const REPLICA_IDENTITIES: Readonly<Record<string, ReplicaIdentityState>> = {
  d: 'default',
  f: 'full',
  n: 'nothing',
  i: 'index',
};

/**
 * One round trip for the whole snapshot (batch reads: 500 tables must not mean 500 queries).
 * Only catalogs readable without superuser are used: pg_roles rather than pg_authid.
 * $1 the published schemas (the first holds the heartbeat table), $2 and $11 the tables' schemas
 * and names, $3 user, $4 publication, $5 slot, $6 rds_replication, $7, $8 and $12 the schemas
 * and tables whose replica identity names an index and those indexes, $9 the heartbeat table
 * (null for none), $10 the schemas whose every table is read as well, $13 the monitoring user
 * (null for none). With 10,000 tables it must
 * stay well inside a no-op run's 200 ms: no per-table subquery that a join can replace (EXPLAIN
 * ANALYZE it with that many tables).
 * Partitions come from pg_partition_tree and pg_partition_ancestors (PostgreSQL 12+).
 */
const CATALOG_QUERY = `
WITH
  target_schema AS (
    SELECT n.oid, n.nspname, s.position FROM unnest($1::text[]) WITH ORDINALITY AS s(name, position)
    JOIN pg_namespace n ON n.nspname = s.name),
  target_role AS (SELECT oid, rolcanlogin, rolreplication, rolsuper FROM pg_roles WHERE rolname = $3),
  me AS (SELECT oid, rolsuper FROM pg_roles WHERE rolname = current_user),
  wanted AS (SELECT DISTINCT w.schema_name, w.name FROM unnest($2::text[], $11::text[]) AS w(schema_name, name)),
  whole_schema AS (SELECT n.oid FROM pg_namespace n WHERE n.nspname = ANY ($10::text[])),
  -- The index each { index } replica identity names ($7 schema, $8 table, $12 index), whichever
  -- table of that schema has it.
  identity_index AS (
    SELECT w.schema_name, w.table_name, w.index_name, x.oid, t.relname AS owner, i.indisunique,
           i.indisvalid, i.indimmediate, i.indpred IS NOT NULL AS partial,
           i.indexprs IS NOT NULL OR 0 = ANY (i.indkey::int2[]) AS expression,
           key_columns.columns, key_columns.nullable_columns
    FROM unnest($7::text[], $8::text[], $12::text[]) AS w(schema_name, table_name, index_name)
    LEFT JOIN pg_namespace xn ON xn.nspname = w.schema_name
    LEFT JOIN pg_class x ON x.relnamespace = xn.oid
      AND x.relname = w.index_name AND x.relkind IN ('i', 'I')
    LEFT JOIN pg_index i ON i.indexrelid = x.oid
    LEFT JOIN pg_class t ON t.oid = i.indrelid
    -- The key columns (not INCLUDE ones) in index order, and which of them allow NULL.
    LEFT JOIN LATERAL (
      SELECT coalesce(json_agg(a.attname ORDER BY k.position), '[]') AS columns,
             coalesce(json_agg(a.attname ORDER BY k.position) FILTER (WHERE NOT a.attnotnull), '[]')
               AS nullable_columns
      FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE k.position <= i.indnkeyatts) key_columns ON true
  ),
  -- Per-table subqueries run only for the tables they concern (identity USING INDEX,
  -- partitions, partitioned tables): with 10,000 plain tables each one ran 10,000 times.
  found AS (
    SELECT c.oid, ts.nspname, c.relname, c.relreplident, c.relkind,
           c.relnamespace IN (SELECT oid FROM whole_schema) AS in_whole_schema,
           EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') AS has_pk,
           CASE WHEN c.relreplident = 'i' THEN (
             SELECT x.relname FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
              WHERE i.indrelid = c.oid AND i.indisreplident)
           END AS identity_index,
           -- pg_partition_ancestors lists the table itself first, then its parents up to the root.
           CASE WHEN c.relispartition THEN (
             SELECT json_agg(json_build_object('schema', an.nspname, 'name', ac.relname) ORDER BY a.position)
               FROM pg_partition_ancestors(c.oid) WITH ORDINALITY AS a(relid, position)
               JOIN pg_class ac ON ac.oid = a.relid JOIN pg_namespace an ON an.oid = ac.relnamespace
              WHERE a.relid <> c.oid)
           END AS partition_of,
           CASE WHEN c.relkind = 'p' THEN (
             SELECT coalesce(json_agg(json_build_object(
                      'schema', pn.nspname, 'name', pc.relname, 'identity', pc.relreplident,
                      'identityIndex', (SELECT x.relname FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
                                         WHERE i.indrelid = pc.oid AND i.indisreplident),
                      'attachedIndex', (SELECT x.relname FROM identity_index ii
                                          CROSS JOIN LATERAL pg_partition_tree(ii.oid) it
                                          JOIN pg_index i ON i.indexrelid = it.relid JOIN pg_class x ON x.oid = it.relid
                                         WHERE ii.schema_name = ts.nspname AND ii.table_name = c.relname
                                           AND i.indrelid = pc.oid))
                    ORDER BY pn.nspname, pc.relname), '[]')
               FROM pg_partition_tree(c.oid) pt
               JOIN pg_class pc ON pc.oid = pt.relid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
              WHERE pt.relid <> c.oid)
           END AS partitions
    FROM pg_class c JOIN target_schema ts ON ts.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND ((ts.nspname, c.relname) IN (SELECT schema_name, name FROM wanted)
        -- $10, whole schemas: every table but a partition whose parent is in the same schema
        -- (the publication sends its changes under the parent's name).
        OR (c.relnamespace IN (SELECT oid FROM whole_schema) AND NOT (c.relispartition AND EXISTS (
              SELECT 1 FROM pg_inherits h JOIN pg_class pc ON pc.oid = h.inhparent
               WHERE h.inhrelid = c.oid AND pc.relnamespace = c.relnamespace))))
  ),
  -- MATERIALIZED: else the planner runs the cheap-looking has_table_privilege below on every
  -- relation of the database (indexes and TOAST tables too) before filtering by schema.
  schema_relations AS MATERIALIZED (
    SELECT c.oid, ts.nspname, c.relname FROM pg_class c JOIN target_schema ts ON ts.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')),
  pub AS (SELECT * FROM pg_publication WHERE pubname = $4)
SELECT
  current_setting('server_version_num')::int AS server_version,
  current_setting('wal_level') AS wal_level,
  current_user AS current_user,
  (SELECT rolsuper FROM me) AS current_user_is_superuser,
  current_database() AS current_database,
  (SELECT coalesce(json_agg(s.name ORDER BY s.position), '[]')
     FROM unnest($1::text[]) WITH ORDINALITY AS s(name, position)
    WHERE s.name NOT IN (SELECT nspname FROM target_schema)) AS missing_schemas,
  -- json_agg of rows whose columns carry the keys: half the time of json_build_object per row.
  (SELECT coalesce(json_agg(t), '[]') FROM (
     SELECT nspname AS schema, relname AS name, has_pk AS "hasPrimaryKey", relreplident AS identity,
            identity_index AS "identityIndex", relkind = 'p' AS partitioned,
            partition_of AS "partitionOf", partitions, in_whole_schema AS "inWholeSchema"
       FROM found) t) AS tables,
  (SELECT coalesce(json_agg(json_build_object(
     'schema', schema_name, 'table', table_name, 'name', index_name, 'owner', owner,
     'unique', indisunique, 'valid', indisvalid, 'immediate', indimmediate, 'partial', partial,
     'expression', expression, 'columns', columns, 'nullableColumns', nullable_columns)), '[]')
     FROM identity_index) AS identity_indexes,
  EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $6) AS rds_replication_exists,
  (SELECT json_build_object(
     'canLogin', r.rolcanlogin,
     'replication', r.rolreplication,
     'superuser', r.rolsuper,
     'memberOfRdsReplication', EXISTS (
        SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
        WHERE g.rolname = $6 AND m.member = r.oid),
     'schemasWithoutUsage', (
        SELECT coalesce(json_agg(s.name ORDER BY s.position), '[]')
          FROM unnest($1::text[]) WITH ORDINALITY AS s(name, position)
          LEFT JOIN target_schema ts ON ts.nspname = s.name
         WHERE ts.oid IS NULL OR NOT has_schema_privilege(r.oid, ts.oid, 'USAGE')),
     'relationsWithoutSelect', (
        SELECT coalesce(json_agg(json_build_object('schema', c.nspname, 'name', c.relname)), '[]')
          FROM schema_relations c
         WHERE NOT has_table_privilege(r.oid, c.oid, 'SELECT')),
     'schemasWithoutDefaultSelect', (
        SELECT coalesce(json_agg(s.name ORDER BY s.position), '[]')
          FROM unnest($1::text[]) WITH ORDINALITY AS s(name, position)
          LEFT JOIN target_schema ts ON ts.nspname = s.name
         WHERE ts.oid IS NULL OR NOT EXISTS (
           SELECT 1 FROM pg_default_acl d, aclexplode(d.defaclacl) a
            WHERE d.defaclrole = (SELECT oid FROM me) AND d.defaclnamespace = ts.oid
              AND d.defaclobjtype = 'r' AND a.grantee = r.oid AND a.privilege_type = 'SELECT')),
     'heartbeatWritable', (
        SELECT json_object_agg(f.relname, has_table_privilege(r.oid, f.oid, 'INSERT') AND has_table_privilege(r.oid, f.oid, 'UPDATE'))
        FROM found f WHERE f.nspname = $1[1] AND f.relname = $9),
     'ownedObjects', (
        SELECT count(*) FROM pg_shdepend d
        WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = r.oid AND d.deptype = 'o'
          AND d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())),
     'currentUserHasPrivileges', pg_has_role(current_user, r.oid, 'USAGE'),
     'comment', shobj_description(r.oid, 'pg_authid'),
     'defaultPrivilegeGrantors', (
        SELECT coalesce(json_agg(DISTINCT jsonb_build_object('grantor', g.rolname, 'schema', n.nspname, 'objectType', d.defaclobjtype)), '[]')
        FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a
        JOIN pg_roles g ON g.oid = d.defaclrole LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
        WHERE a.grantee = r.oid)
   ) FROM target_role r) AS role,
  (SELECT json_build_object(
     'allTables', p.puballtables,
     'publishesAllOperations', p.pubinsert AND p.pubupdate AND p.pubdelete AND p.pubtruncate,
     'publishesViaPartitionRoot', p.pubviaroot,
     'tables', (
        SELECT coalesce(json_agg(t), '[]') FROM (
          SELECT n.nspname AS schema, c.relname AS name
          FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE pr.prpubid = p.oid) t)
   ) FROM pub p) AS publication,
  -- The slot as the watchdog reads it too (slot-row.ts).
  (SELECT ${slotJsonSql(CURRENT_WAL_POSITION)}
   FROM pg_replication_slots s WHERE s.slot_name = $5) AS slot,
  (SELECT json_build_object(
     'createGrantedToPublic', EXISTS (
        SELECT 1 FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
        WHERE a.grantee = 0 AND a.privilege_type = 'CREATE'))
   FROM pg_namespace n WHERE n.nspname = 'public') AS public_schema,
  (SELECT json_build_object(
     'canLogin', r.rolcanlogin, 'superuser', r.rolsuper, 'replication', r.rolreplication,
     'memberOf', (SELECT coalesce(json_agg(g.rolname ORDER BY g.rolname), '[]')
        FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid),
     -- rolconfig: the role's settings in every database (ALTER ROLE ... SET).
     'readOnlyByDefault', 'default_transaction_read_only=on' = ANY (coalesce(r.rolconfig, '{}')))
   FROM pg_roles r WHERE r.rolname = $13) AS monitoring_role
`;

interface CatalogRow {
  server_version: number;
  wal_level: string;
  current_user: string;
  current_user_is_superuser: boolean;
  current_database: string;
  missing_schemas: string[];
  tables: {
    schema: string;
    name: string;
    inWholeSchema: boolean;
    hasPrimaryKey: boolean;
    identity: string;
    identityIndex: string | null;
    partitioned: boolean;
    partitionOf: QualifiedTable[] | null;
    partitions:
      | {
          schema: string;
          name: string;
          identity: string;
          identityIndex: string | null;
          attachedIndex: string | null;
        }[]
      | null;
  }[];
  identity_indexes: {
    schema: string;
    table: string;
    name: string;
    owner: string | null;
    unique: boolean | null;
    valid: boolean | null;
    immediate: boolean | null;
    partial: boolean | null;
    expression: boolean | null;
    columns: string[] | null;
    nullableColumns: string[] | null;
  }[];
  rds_replication_exists: boolean;
  role: {
    canLogin: boolean;
    replication: boolean;
    superuser: boolean;
    memberOfRdsReplication: boolean;
    schemasWithoutUsage: string[];
    relationsWithoutSelect: QualifiedTable[];
    schemasWithoutDefaultSelect: string[];
    heartbeatWritable: Record<string, boolean> | null;
    ownedObjects: number;
    currentUserHasPrivileges: boolean;
    defaultPrivilegeGrantors: { grantor: string; schema: string | null; objectType: string }[];
    comment: string | null;
  } | null;
  publication: PublicationState | null;
  slot: SlotJson | null;
  public_schema: PublicSchemaState | null;
  monitoring_role: Omit<MonitoringRoleState, 'passwordCurrent'> | null;
}

/** A table row of the query as the planners see it. */
function tableState(table: CatalogRow['tables'][number]): TableState {
  const partitions = table.partitions?.map((partition): PartitionState => ({
    schema: partition.schema,
    name: partition.name,
    replicaIdentity: REPLICA_IDENTITIES[partition.identity],
    ...(partition.identityIndex === null ? {} : { replicaIdentityIndex: partition.identityIndex }),
    ...(partition.attachedIndex === null ? {} : { identityIndex: partition.attachedIndex }),
  }));
  return {
    schema: table.schema,
    name: table.name,
    exists: true,
    hasPrimaryKey: table.hasPrimaryKey,
    replicaIdentity: REPLICA_IDENTITIES[table.identity],
    ...(table.identityIndex === null ? {} : { replicaIdentityIndex: table.identityIndex }),
    ...(table.partitioned ? { partitioned: true } : {}),
    ...(table.partitionOf === null ? {} : { partitionOf: table.partitionOf }),
    ...(partitions === undefined ? {} : { partitions }),
  };
}

/** An index row of the query; an index that is not there belongs to no table. */
function indexState(index: CatalogRow['identity_indexes'][number]): IndexState {
  return {
    name: index.name,
    ...(index.owner === null ? {} : { table: index.owner }),
    unique: index.unique ?? false,
    valid: index.valid ?? false,
    immediate: index.immediate ?? false,
    partial: index.partial ?? false,
    expression: index.expression ?? false,
    columns: index.columns ?? [],
    nullableColumns: index.nullableColumns ?? [],
  };
}

/**
 * The schemas a publication holds whole. A second round trip, only on 15+ and only when the
 * publication exists: the main query must parse on 14, which has no pg_publication_namespace.
 */
async function publishedSchemas(
  client: ClientBase,
  serverVersion: number,
  publicationName: string,
): Promise<string[]> {
  if (serverVersion < TABLES_IN_SCHEMA_VERSION) return [];
  const { rows } = await client.query<{ name: string }>(
    `SELECT n.nspname AS name FROM pg_publication_namespace pn
       JOIN pg_publication p ON p.oid = pn.pnpubid JOIN pg_namespace n ON n.oid = pn.pnnspid
      WHERE p.pubname = $1 ORDER BY n.nspname`,
    [publicationName],
  );
  return rows.map((schema) => schema.name);
}

function isDesiredState(
  value: DesiredReplicationState | ReplicationTarget,
): value is DesiredReplicationState {
  return 'password' in value && 'tables' in value;
}

/** The connection settings `client` was created with (pg keeps them, its typings do not say so). */
function connectionSettingsOf(client: ClientBase): ClientConfig {
  const params = (
    client as unknown as { connectionParameters: ClientConfig & { ssl?: ClientConfig['ssl'] } }
  ).connectionParameters;
  return {
    host: params.host,
    port: params.port,
    database: params.database,
    ssl: params.ssl,
    connectionTimeoutMillis: 10000,
  };
}

/**
 * The default password check: log in as the user. Invalid password (28P01) means "not current";
 * any other refusal (no pg_hba entry for the user, connection limit) also counts as not current,
 * so setup re-sets the password, which is harmless.
 */
export function loginProbe(client: ClientBase): PasswordCheck {
  const settings = connectionSettingsOf(client);
  return async (user, password) => {
    const probe = new Client({ ...settings, user, password });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return true;
    } catch {
      return false;
    } finally {
      await probe.end().catch(() => undefined);
    }
  };
}

/**
 * Read everything setup and teardown decide on, in one query (plus a login probe when checking a
 * password). Pass the desired state for setup, or just the names for teardown.
 */
export async function readCatalog(
  client: ClientBase,
  target: DesiredReplicationState | ReplicationTarget,
  options: ReadCatalogOptions = {},
): Promise<CatalogSnapshot> {
  const desired = isDesiredState(target) ? target : undefined;
  const schemas = desired ? desired.schemas.map((schema) => schema.name) : [target.schema];
  const wholeSchemas = desired
    ? desired.schemas.filter((schema) => schema.wholeSchema !== undefined).map((s) => s.name)
    : [];
  const interesting = desired ? tablesOfInterest(desired) : [];
  const indexed = desired ? identityIndexesOf(desired) : [];
  const monitoringUser = target.monitoringUser?.name;
  const { rows } = await client.query<CatalogRow>(CATALOG_QUERY, [
    schemas,
    interesting.map((table) => table.schema),
    target.user,
    target.publicationName,
    target.slotName,
    RDS_REPLICATION_ROLE,
    indexed.map((entry) => entry.schema),
    indexed.map((entry) => entry.table),
    desired?.heartbeatTable ?? null,
    wholeSchemas,
    interesting.map((table) => table.name),
    indexed.map((entry) => entry.index),
    monitoringUser ?? null,
  ]);
  const row = rows[0];
  const tables: Record<string, Record<string, TableState>> = {};
  const inSchema = (schema: string): Record<string, TableState> => (tables[schema] ??= {});
  for (const table of interesting) {
    inSchema(table.schema)[table.name] = {
      schema: table.schema,
      name: table.name,
      exists: false,
      hasPrimaryKey: false,
    };
  }
  for (const table of row.tables) inSchema(table.schema)[table.name] = tableState(table);
  let schemaTables: Record<string, string[]> | undefined;
  if (wholeSchemas.length > 0) {
    // The query found every table of these schemas (partitions of a parent in the same schema
    // aside): all of them are the schema's, demo and heartbeat tables included.
    schemaTables = Object.fromEntries(wholeSchemas.map((schema) => [schema, [] as string[]]));
    for (const table of row.tables) {
      if (table.inWholeSchema) schemaTables[table.schema]?.push(table.name);
    }
  }
  const identityIndexes: Record<string, Record<string, IndexState>> = {};
  for (const index of row.identity_indexes) {
    (identityIndexes[index.schema] ??= {})[index.table] = indexState(index);
  }

  let role: CatalogSnapshot['role'];
  if (row.role) {
    const { heartbeatWritable, defaultPrivilegeGrantors, ownedObjects, comment, ...rest } =
      row.role;
    let passwordCurrent: boolean | undefined;
    if (desired) {
      const check = options.checkPassword ?? loginProbe(client);
      passwordCurrent = rest.canLogin && (await check(desired.user, desired.password));
    }
    role = {
      ...rest,
      ...(comment === null ? {} : { comment }),
      passwordCurrent,
      ownedObjects: Number(ownedObjects),
      heartbeatWriteGranted:
        desired?.heartbeatTable !== undefined &&
        heartbeatWritable?.[desired.heartbeatTable] === true,
      defaultPrivilegeGrantors: defaultPrivilegeGrantors.map((entry): DefaultPrivilegeEntry => ({
        grantor: entry.grantor,
        objectType: entry.objectType,
        ...(entry.schema === null ? {} : { schema: entry.schema }),
      })),
    };
  }

  let monitoringRole: MonitoringRoleState | undefined;
  if (row.monitoring_role) {
    const wanted = desired?.monitoringUser;
    const check = options.checkPassword ?? loginProbe(client);
    monitoringRole = {
      ...row.monitoring_role,
      ...(wanted && row.monitoring_role.canLogin
        ? { passwordCurrent: await check(wanted.name, wanted.password) }
        : {}),
    };
  }

  return {
    serverVersion: row.server_version,
    walLevel: row.wal_level,
    currentUser: row.current_user,
    currentUserIsSuperuser: row.current_user_is_superuser,
    currentDatabase: row.current_database,
    missingSchemas: row.missing_schemas,
    tables,
    ...(schemaTables === undefined ? {} : { schemaTables }),
    ...(indexed.length > 0 ? { identityIndexes } : {}),
    role,
    ...(monitoringRole ? { monitoringRole } : {}),
    rdsReplicationRoleExists: row.rds_replication_exists,
    publication: row.publication
      ? {
          ...row.publication,
          schemas: await publishedSchemas(client, row.server_version, target.publicationName),
        }
      : undefined,
    slot: row.slot ? slotStateOf(row.slot) : undefined,
    publicSchema: row.public_schema ?? undefined,
  };
}
