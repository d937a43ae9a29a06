import type { ReplicaIdentity } from '../config';
import type { ReplicaIdentityMode } from '../contract/replication-setup';

/** One table to publish. */
export interface DesiredTable {
  /** Its schema, one of DesiredReplicationState.schemas (unquoted, like the name). */
  readonly schema: string;
  /** Table name (unquoted; quoted when it reaches SQL). */
  readonly name: string;
  /** REPLICA IDENTITY the table must have. */
  readonly replicaIdentity: ReplicaIdentity;
}

/** One published schema of a desired state. */
export interface DesiredSchema {
  readonly name: string;
  /**
   * `"*"`: publish every table of the schema, those created later too (FOR TABLES IN SCHEMA on
   * PostgreSQL 15+ as a superuser, else the tables that exist at each setup), giving the
   * existing ones this identity. Default: only the schema's entries in `tables`.
   */
  readonly wholeSchema?: { readonly replicaIdentity: ReplicaIdentityMode };
}

/**
 * The slot watchdog's login role: LOGIN and a password, read-only by default, a member of no
 * role and granted nothing. Its one statement (src/watchdog/slot-health.ts) reads catalog views
 * and functions every role may use, so it needs no more: not pg_monitor either, which would let
 * it see every session's queries.
 */
export interface DesiredMonitoringUser {
  readonly name: string;
  /** From its Secrets Manager secret. Never printed. */
  readonly password: string;
}

/** What the database must look like for Airbyte CDC: built from the environment's config. */
export interface DesiredReplicationState {
  /** The first published schema: it holds the demo and heartbeat tables. */
  readonly schema: string;
  /** Every published schema, `schema` first; each is created when missing. */
  readonly schemas: readonly DesiredSchema[];
  /**
   * Tables to publish, in config order, each in one of `schemas`. Each must exist (except the
   * demo/heartbeat table). Of a whole schema, the tables the catalog lists (see
   * withSchemaTables): none until then.
   */
  readonly tables: readonly DesiredTable[];
  /** Read-only login role Airbyte connects as. */
  readonly user: string;
  /** The role's password (from its Secrets Manager secret). Never printed. */
  readonly password: string;
  /** Logical replication slot (plugin pgoutput). */
  readonly slotName: string;
  /** Publication listing exactly `tables`. */
  readonly publicationName: string;
  /** Create the tutorial's `data_tbl` with rows (1,'a'), (2,'b') when it does not exist. */
  readonly createDemoTable: boolean;
  /**
   * Optional Debezium heartbeat table inside `schema`: created when missing, published, and the
   * only table the user may write (INSERT/UPDATE) so the heartbeat action query can run.
   */
  readonly heartbeatTable?: string;
  /**
   * The exact comment the user's role must carry, e.g. the custom resource's record of what it
   * created. Written in the transaction that creates the role and the publication, so that no
   * crash can leave an object the stack made without the record that says so. Default: the
   * comment is left as it is.
   */
  readonly roleComment?: string;
  /** The slot watchdog's login role. Default: none (no watchdog). */
  readonly monitoringUser?: DesiredMonitoringUser;
}

/** The names teardown needs: everything setup creates except schemas and data. */
export interface ReplicationTarget {
  readonly user: string;
  readonly slotName: string;
  readonly publicationName: string;
  /** The first published schema. */
  readonly schema: string;
  /** The slot watchdog's login role, dropped with the rest. Default: none. */
  readonly monitoringUser?: { readonly name: string };
}

/** pg_class.relreplident, spelled out. */
export type ReplicaIdentityState = 'default' | 'full' | 'nothing' | 'index';

/** A table by schema and name. */
export interface QualifiedTable {
  readonly schema: string;
  readonly name: string;
}

/** A table as the catalog knows it. */
export interface TableState {
  readonly schema: string;
  readonly name: string;
  readonly exists: boolean;
  readonly hasPrimaryKey: boolean;
  /** `default`, `full`, `nothing` or `index`; undefined when the table does not exist. */
  readonly replicaIdentity?: ReplicaIdentityState;
  /** With identity `index`: the index it uses (pg_index.indisreplident). */
  readonly replicaIdentityIndex?: string;
  /** A partitioned table (relkind `p`): its rows live in its partitions. Default: false. */
  readonly partitioned?: boolean;
  /** When the table is a partition: the tables it is a partition of, nearest first. */
  readonly partitionOf?: readonly QualifiedTable[];
  /**
   * A partitioned table's partitions at every level (pg_partition_tree): REPLICA IDENTITY does
   * not cascade to them, and PostgreSQL checks it on the partition that holds the row.
   */
  readonly partitions?: readonly PartitionState[];
}

/** One partition of a partitioned table, as its replica identity needs it. */
export interface PartitionState extends QualifiedTable {
  readonly replicaIdentity: ReplicaIdentityState;
  /** With identity `index`: the index it uses. */
  readonly replicaIdentityIndex?: string;
  /**
   * The partition's own index attached to the parent's configured identity index (partitioned
   * indexes have one per partition, usually named by PostgreSQL); undefined when it has none or
   * the parent's identity names no index.
   */
  readonly identityIndex?: string;
}

/** An index a table's `{ index }` replica identity names, with what REPLICA IDENTITY requires. */
export interface IndexState {
  readonly name: string;
  /** Table the index belongs to; undefined when the schema has no index of that name. */
  readonly table?: string;
  readonly unique: boolean;
  /** Has a WHERE clause. */
  readonly partial: boolean;
  /** Checked at each statement, not deferrable (pg_index.indimmediate). */
  readonly immediate: boolean;
  /** Indexes an expression rather than plain columns. */
  readonly expression: boolean;
  /** Usable (pg_index.indisvalid): false after a failed CREATE INDEX CONCURRENTLY or ON ONLY. */
  readonly valid: boolean;
  /** Indexed columns, in index order. */
  readonly columns: readonly string[];
  /** Indexed columns that allow NULL. */
  readonly nullableColumns: readonly string[];
}

/** The replication user as the catalog knows it (pg_roles: works without superuser). */
export interface RoleState {
  readonly canLogin: boolean;
  /** The REPLICATION attribute (plain PostgreSQL). */
  readonly replication: boolean;
  readonly superuser: boolean;
  /** Member of `rds_replication` (RDS, Aurora). */
  readonly memberOfRdsReplication: boolean;
  /**
   * Whether a login as the user with the desired password succeeds. pg_authid (the hashes) is
   * unreadable for the RDS master user, so we probe a real login instead; undefined when not
   * probed (teardown, or no password given).
   */
  readonly passwordCurrent?: boolean;
  /** Published schemas the user has no USAGE on (missing ones included). */
  readonly schemasWithoutUsage: readonly string[];
  /**
   * Tables, views, materialized views and foreign tables in the published schemas the user
   * cannot SELECT.
   */
  readonly relationsWithoutSelect: readonly QualifiedTable[];
  /**
   * Published schemas where the current user's default privileges do not give the user SELECT
   * on future tables (missing ones included).
   */
  readonly schemasWithoutDefaultSelect: readonly string[];
  /** INSERT and UPDATE on the heartbeat table. */
  readonly heartbeatWriteGranted: boolean;
  /** Objects in the current database owned by the user (normally 0). */
  readonly ownedObjects: number;
  /** The current user holds the user's privileges (needed by REASSIGN/DROP OWNED). */
  readonly currentUserHasPrivileges: boolean;
  /** Roles whose default privileges in this database grant something to the user. */
  readonly defaultPrivilegeGrantors: readonly DefaultPrivilegeEntry[];
  /** COMMENT ON ROLE; undefined when there is none. */
  readonly comment?: string;
}

/** The slot watchdog's role as the catalog shows it: what would make it more than a login. */
export interface MonitoringRoleState {
  readonly canLogin: boolean;
  readonly superuser: boolean;
  /** The REPLICATION attribute: it could open a replication connection and move the slot. */
  readonly replication: boolean;
  /** Roles it is a member of (each could give it data access). */
  readonly memberOf: readonly string[];
  /** `ALTER ROLE ... SET default_transaction_read_only = on` is in place. */
  readonly readOnlyByDefault: boolean;
  /** Whether a login with the desired password succeeds; undefined when not probed. */
  readonly passwordCurrent?: boolean;
}

/** One pg_default_acl entry that names the user as grantee. */
export interface DefaultPrivilegeEntry {
  readonly grantor: string;
  /** Schema of the entry; undefined for a database-wide entry. */
  readonly schema?: string;
  /** pg_default_acl.defaclobjtype: r (tables), S (sequences), f (functions), T (types), n (schemas). */
  readonly objectType: string;
}

export interface PublicationState {
  /** Created FOR ALL TABLES: cannot be narrowed with SET TABLE. */
  readonly allTables: boolean;
  /** Publishes insert, update, delete and truncate. */
  readonly publishesAllOperations: boolean;
  /**
   * publish_via_partition_root: a partition's changes are published under the name of its
   * published parent (else under the partition's own name, a stream Airbyte never configured).
   */
  readonly publishesViaPartitionRoot: boolean;
  /** Explicitly listed tables as `schema.table` pairs. */
  readonly tables: readonly QualifiedTable[];
  /** Schemas published whole (FOR TABLES IN SCHEMA, pg_publication_namespace; 15+). Default: none. */
  readonly schemas?: readonly string[];
}

export interface SlotState {
  /** Output plugin; null for a physical slot. */
  readonly plugin: string | null;
  readonly slotType: string;
  /** Database the slot decodes; null for a physical slot. */
  readonly database: string | null;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly confirmedFlushLsn: string | null;
  /** `reserved`, `extended`, `unreserved` or `lost` (invalidated: max_slot_wal_keep_size). */
  readonly walStatus: string | null;
  /** PostgreSQL 17+: since when no consumer has streamed the slot; undefined before 17. */
  readonly inactiveSince?: string | null;
  /**
   * PostgreSQL 17+: why the slot was invalidated (`wal_removed`, `rows_removed`,
   * `wal_level_insufficient`; 18: `idle_timeout`), null while it is valid; undefined before 17.
   */
  readonly invalidationReason?: string | null;
  /**
   * `safe_wal_size`: bytes of WAL that can still be written before the slot is in danger of
   * `lost`. Null when the slot is lost or max_slot_wal_keep_size is -1 (unlimited); may be
   * negative once the slot is `unreserved`.
   */
  readonly safeWalSizeBytes: number | null;
  /** Current WAL position minus `confirmed_flush_lsn`: changes the consumer has not confirmed. */
  readonly confirmedLagBytes: number | null;
  /** Current WAL position minus `restart_lsn`: WAL the server keeps on disk for the slot. */
  readonly retainedBytes: number | null;
  /**
   * PostgreSQL 17+: whole seconds since `inactive_since`, by the server's clock at the read; null
   * while a consumer streams the slot. Undefined before 17, which does not record when a slot
   * became inactive (unknown, not zero).
   */
  readonly inactiveSeconds?: number | null;
}

/** Who may create objects in the database's `public` schema (PostgreSQL < 15 lets everyone). */
export interface PublicSchemaState {
  /** PUBLIC (every role) holds CREATE on it. */
  readonly createGrantedToPublic: boolean;
}

/** A plain, JSON-serialisable snapshot of everything the planners look at. */
export interface CatalogSnapshot {
  readonly serverVersion: number;
  readonly walLevel: string;
  /** The role we are connected as (the RDS master user): grantor of the default privileges. */
  readonly currentUser: string;
  readonly currentUserIsSuperuser: boolean;
  readonly currentDatabase: string;
  /** The desired state's schemas that do not exist. */
  readonly missingSchemas: readonly string[];
  /**
   * Every table setup cares about (configured, demo, heartbeat), by schema, then by name: look
   * one up with tableIn.
   */
  readonly tables: Readonly<Record<string, Readonly<Record<string, TableState>>>>;
  /**
   * Of each schema the desired state publishes whole: its tables (relkind r and p) except
   * partitions whose parent is in the schema (published through it), by name; undefined when
   * none is whole. Each has its entry in `tables`.
   */
  readonly schemaTables?: Readonly<Record<string, readonly string[]>>;
  /**
   * The indexes that `{ index }` replica identities name, by the table's schema, then its name;
   * undefined when none is named.
   */
  readonly identityIndexes?: Readonly<Record<string, Readonly<Record<string, IndexState>>>>;
  /** undefined when the user does not exist. */
  readonly role?: RoleState;
  /** The monitoring user's role; undefined when it does not exist or none is wanted. */
  readonly monitoringRole?: MonitoringRoleState;
  /** A role named `rds_replication` exists (RDS, Aurora): grant it instead of REPLICATION. */
  readonly rdsReplicationRoleExists: boolean;
  /** undefined when the publication does not exist. */
  readonly publication?: PublicationState;
  /** undefined when the slot does not exist. */
  readonly slot?: SlotState;
  /** undefined when the database has no `public` schema. */
  readonly publicSchema?: PublicSchemaState;
}

export type SetupStepKind =
  | 'create-schema'
  | 'create-demo-table'
  | 'create-heartbeat-table'
  | 'create-role'
  | 'update-role'
  | 'grant-schema-usage'
  | 'grant-select'
  | 'grant-default-select'
  | 'grant-heartbeat-write'
  | 'grant-rds-replication'
  | 'grant-replication-attribute'
  | 'set-replica-identity'
  | 'create-publication'
  | 'set-publication-tables'
  | 'set-publication-operations'
  | 'set-publication-partition-root'
  | 'revoke-public-create'
  | 'comment-role'
  | 'create-monitoring-role'
  | 'update-monitoring-role'
  | 'set-monitoring-role-read-only'
  | 'create-slot';

export type TeardownStepKind =
  | 'terminate-walsender'
  | 'drop-slot'
  | 'drop-publication'
  | 'revoke-default-privileges'
  | 'grant-role-to-current-user'
  | 'reassign-owned'
  | 'drop-owned'
  | 'drop-role'
  | 'drop-monitoring-role';

export type StepKind = SetupStepKind | TeardownStepKind;

/** One statement of a plan. */
export interface Step {
  readonly kind: StepKind;
  /** What the step does, safe to print and log (never contains a secret). */
  readonly description: string;
  /** The statement, identifiers quoted. Print only when `sensitive` is not set. */
  readonly sql: string;
  /** Bind parameters for `sql`. */
  readonly params?: readonly unknown[];
  /** `sql` holds a secret (a password verifier): never print or log it. */
  readonly sensitive?: boolean;
  /**
   * Only a superuser may run it here (PostgreSQL < 16 reserves the REPLICATION attribute to
   * superusers) and the current user is none: the setup refuses the plan, naming these steps.
   */
  readonly requiresSuperuser?: boolean;
  /**
   * Must run outside a transaction block: creating a logical slot waits for every transaction
   * that has written, including ours, to finish; terminating/dropping acts on other sessions.
   */
  readonly outsideTransaction?: boolean;
}
