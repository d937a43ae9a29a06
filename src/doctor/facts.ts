import type { ClientBase } from 'pg';
import type { ReplicationTarget } from '../replication';

/** A server setting and whether a changed value waits for a restart. */
export interface SettingState {
  readonly value: string;
  /** ALTER SYSTEM (or the config file) holds another value that applies at the next restart. */
  readonly pendingRestart: boolean;
}

/** A write privilege the replication user holds on a relation of the schema. */
export interface WritableRelation {
  readonly name: string;
  /** Subset of INSERT, UPDATE, DELETE, TRUNCATE. */
  readonly privileges: readonly string[];
  /** The user owns the relation (owners hold every privilege, REVOKE does not help). */
  readonly ownedByUser: boolean;
  /** Some of `privileges` are granted to PUBLIC, so revoking them from the user is not enough. */
  readonly grantedToPublic: boolean;
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
  /** The configured slot's retained WAL; undefined when the slot does not exist. */
  readonly slotWal?: {
    /** pg_current_wal_lsn() - restart_lsn: WAL the server keeps on disk for the slot. */
    readonly retainedBytes: number | null;
    /** pg_current_wal_lsn() - confirmed_flush_lsn: changes the consumer has not confirmed. */
    readonly unconfirmedBytes: number | null;
  };
  /** Write access of the replication user; undefined when the user does not exist. */
  readonly userWrites?: {
    readonly superuser: boolean;
    readonly databaseCreate: boolean;
    readonly schemaCreate: boolean;
    /** CREATE on the schema comes from PUBLIC (the `public` schema before PostgreSQL 15). */
    readonly schemaCreateViaPublic: boolean;
    /** CREATE on the `public` schema (every role has it before PostgreSQL 15). */
    readonly publicSchemaCreate: boolean;
    /** That CREATE comes from PUBLIC. */
    readonly publicSchemaCreateViaPublic: boolean;
    readonly relations: readonly WritableRelation[];
  };
}

/**
 * One round trip. Everything here is readable without superuser: pg_settings rows for these
 * parameters, pg_stat_ssl for our own backend, pg_stat_activity's backend_type, privilege
 * functions. $1 slot, $2 user, $3 schema.
 */
const FACTS_QUERY = `
WITH
  settings AS (
    SELECT name, setting, pending_restart FROM pg_settings
    WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders')),
  current_lsn AS (
    SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn),
  target_schema AS (SELECT oid FROM pg_namespace WHERE nspname = $3)
SELECT
  current_setting('server_version') AS server_version,
  (SELECT json_object_agg(name, json_build_object('value', setting, 'pendingRestart', pending_restart)) FROM settings) AS settings,
  current_setting('rds.logical_replication', true) AS rds_logical_replication,
  EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') AS is_rds,
  (SELECT count(*)::int FROM pg_replication_slots) AS slots_used,
  (SELECT coalesce(json_agg(json_build_object('name', slot_name, 'database', database) ORDER BY slot_name), '[]')
     FROM pg_replication_slots WHERE NOT active AND slot_name <> $1) AS other_inactive_slots,
  (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'walsender') AS wal_senders_used,
  (SELECT json_build_object('ssl', ssl, 'version', version) FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS connection_ssl,
  current_setting('ssl') = 'on' AS server_ssl,
  (SELECT json_build_object(
     'retainedBytes', pg_wal_lsn_diff((SELECT lsn FROM current_lsn), restart_lsn)::bigint,
     'unconfirmedBytes', pg_wal_lsn_diff((SELECT lsn FROM current_lsn), confirmed_flush_lsn)::bigint)
   FROM pg_replication_slots WHERE slot_name = $1) AS slot_wal,
  (SELECT json_build_object(
     'superuser', r.rolsuper,
     'databaseCreate', has_database_privilege(r.oid, current_database(), 'CREATE'),
     'schemaCreate', coalesce((SELECT has_schema_privilege(r.oid, s.oid, 'CREATE') FROM target_schema s), false),
     'schemaCreateViaPublic', coalesce((
        SELECT bool_or(a.grantee = 0 AND a.privilege_type = 'CREATE')
        FROM pg_namespace n CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
        WHERE n.oid = (SELECT oid FROM target_schema)), false),
     'publicSchemaCreate', coalesce((
        SELECT has_schema_privilege(r.oid, n.oid, 'CREATE') FROM pg_namespace n WHERE n.nspname = 'public'), false),
     'publicSchemaCreateViaPublic', coalesce((
        SELECT bool_or(a.grantee = 0 AND a.privilege_type = 'CREATE')
        FROM pg_namespace n CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
        WHERE n.nspname = 'public'), false),
     'relations', (
        SELECT coalesce(json_agg(json_build_object(
                 'name', c.relname, 'privileges', w.privileges, 'ownedByUser', c.relowner = r.oid,
                 'grantedToPublic', EXISTS (
                   SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
                   WHERE a.grantee = 0 AND a.privilege_type = ANY (w.privileges)))
               ORDER BY c.relname), '[]')
        FROM pg_class c
        CROSS JOIN LATERAL (
          SELECT array_remove(ARRAY[
            CASE WHEN has_table_privilege(r.oid, c.oid, 'INSERT') THEN 'INSERT' END,
            CASE WHEN has_table_privilege(r.oid, c.oid, 'UPDATE') THEN 'UPDATE' END,
            CASE WHEN has_table_privilege(r.oid, c.oid, 'DELETE') THEN 'DELETE' END,
            CASE WHEN has_table_privilege(r.oid, c.oid, 'TRUNCATE') THEN 'TRUNCATE' END], NULL) AS privileges) w
        WHERE c.relnamespace = (SELECT oid FROM target_schema) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND cardinality(w.privileges) > 0)
   ) FROM pg_roles r WHERE r.rolname = $2) AS user_writes
`;

interface FactsRow {
  server_version: string;
  settings: Record<string, SettingState>;
  rds_logical_replication: string | null;
  is_rds: boolean;
  slots_used: number;
  other_inactive_slots: { name: string; database: string | null }[];
  wal_senders_used: number;
  connection_ssl: { ssl: boolean; version: string | null } | null;
  server_ssl: boolean;
  slot_wal: {
    retainedBytes: number | string | null;
    unconfirmedBytes: number | string | null;
  } | null;
  user_writes: ServerFacts['userWrites'] | null;
}

const toNumber = (value: number | string | null): number | null =>
  value === null ? null : Number(value);

/** Read the server settings, TLS, slot WAL and the user's write access in one query. */
export async function readServerFacts(
  client: ClientBase,
  target: Pick<ReplicationTarget, 'slotName' | 'user' | 'schema'>,
): Promise<ServerFacts> {
  const { rows } = await client.query<FactsRow>(FACTS_QUERY, [
    target.slotName,
    target.user,
    target.schema,
  ]);
  const row = rows[0];
  return {
    serverVersion: row.server_version,
    walLevel: row.settings.wal_level,
    maxReplicationSlots: row.settings.max_replication_slots,
    maxWalSenders: row.settings.max_wal_senders,
    ...(row.rds_logical_replication === null
      ? {}
      : { rdsLogicalReplication: row.rds_logical_replication }),
    isRds: row.is_rds,
    slotsUsed: row.slots_used,
    otherInactiveSlots: row.other_inactive_slots,
    walSendersUsed: row.wal_senders_used,
    connectionSsl: row.connection_ssl ?? { ssl: false, version: null },
    serverSsl: row.server_ssl,
    ...(row.slot_wal
      ? {
          slotWal: {
            retainedBytes: toNumber(row.slot_wal.retainedBytes),
            unconfirmedBytes: toNumber(row.slot_wal.unconfirmedBytes),
          },
        }
      : {}),
    ...(row.user_writes ? { userWrites: row.user_writes } : {}),
  };
}
