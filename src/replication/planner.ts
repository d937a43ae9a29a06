import { escapeIdentifier, escapeLiteral } from 'pg';
import {
  MissingPrimaryKeyError,
  MissingTableError,
  PartitionConflictError,
  PublicationConflictError,
  RoleConflictError,
  SlotConflictError,
  WalLevelError,
} from './errors';
import { DEMO_TABLE_NAME } from './demo-table';
import { withSchemaTables } from './desired-state';
import { createHeartbeatTableSql } from './heartbeat';
import { displayName as display, qualifiedName } from './names';
import { checkIdentityIndexes, replicaIdentitySteps } from './replica-identity';
import { scramSha256Verifier } from './scram';
import { invalidationCause, isInvalidated } from './slot-invalidation';
import type {
  CatalogSnapshot,
  DesiredReplicationState,
  PublicationState,
  QualifiedTable,
  ReplicationTarget,
  Step,
  TableState,
} from './types';

/** PostgreSQL 15 added FOR TABLES IN SCHEMA (and pg_publication_namespace, which 14 lacks). */
export const TABLES_IN_SCHEMA_VERSION = 150000;

/**
 * Whether the publication holds the configured schema whole (FOR TABLES IN SCHEMA), so that
 * tables created later are published without another setup. Otherwise it lists the tables that
 * exist at this setup, and the doctor names those created since. That needs PostgreSQL 15, and
 * PostgreSQL lets only a superuser publish a schema: RDS's master user is none (whether RDS
 * exempts rds_superuser is not verified here), so on RDS the list is what is safe to plan.
 */
export function publishesWholeSchema(
  catalog: Pick<CatalogSnapshot, 'serverVersion' | 'currentUserIsSuperuser'>,
  desired: Pick<DesiredReplicationState, 'wholeSchema'>,
): boolean {
  return (
    desired.wholeSchema !== undefined &&
    catalog.serverVersion >= TABLES_IN_SCHEMA_VERSION &&
    catalog.currentUserIsSuperuser
  );
}

export { DEMO_TABLE_NAME } from './demo-table';
/** The role RDS and Aurora grant for logical replication (plain PostgreSQL has none). */
export const RDS_REPLICATION_ROLE = 'rds_replication';
/** The only output plugin Airbyte's Debezium connector is configured for here. */
export const SLOT_PLUGIN = 'pgoutput';

const quote = escapeIdentifier;

/** CREATE on schema public from PUBLIC, failing with what to do when it does not take effect. */
const REVOKE_PUBLIC_CREATE_SQL = `DO $revoke$
BEGIN
  REVOKE CREATE ON SCHEMA public FROM PUBLIC;
  IF EXISTS (
    SELECT 1 FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
    WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'
  ) THEN
    RAISE EXCEPTION 'CREATE on schema public stays granted to PUBLIC: only its owner (%) or a superuser can revoke it',
      (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public')
      USING HINT = 'As that role, run once: REVOKE CREATE ON SCHEMA public FROM PUBLIC; then run the setup again';
  END IF;
END
$revoke$`;

export { qualifiedName } from './names';

/** Every table name setup reads from the catalog: configured, demo and heartbeat. */
export function tablesOfInterest(desired: DesiredReplicationState): string[] {
  const names = desired.tables.map((table) => table.name);
  if (desired.createDemoTable) names.push(DEMO_TABLE_NAME);
  if (desired.heartbeatTable !== undefined) names.push(desired.heartbeatTable);
  return [...new Set(names)];
}

/** Tables the publication must list: the configured ones plus the heartbeat table. */
function publishedTables(desired: DesiredReplicationState): string[] {
  const names = desired.tables.map((table) => table.name);
  if (desired.heartbeatTable !== undefined) names.push(desired.heartbeatTable);
  return [...new Set(names)];
}

/** Throws WalLevelError unless the server can decode WAL logically. */
export function assertLogicalWalLevel(catalog: Pick<CatalogSnapshot, 'walLevel'>): void {
  if (catalog.walLevel !== 'logical') throw new WalLevelError(catalog.walLevel);
}

function checkRole(catalog: CatalogSnapshot, desired: DesiredReplicationState): void {
  if (desired.user === catalog.currentUser) {
    throw new RoleConflictError(
      `The replication user "${desired.user}" is the user running the setup: choose another replication.user in cdk.json (the replication user must be a separate read-only role).`,
    );
  }
  if (catalog.role?.superuser) {
    throw new RoleConflictError(
      `Role "${desired.user}" exists and is a superuser; the replication user must be read-only. Choose another replication.user, or run ALTER ROLE ... NOSUPERUSER yourself if that role is meant for Airbyte.`,
    );
  }
}

function checkSlot(catalog: CatalogSnapshot, desired: DesiredReplicationState): void {
  const slot = catalog.slot;
  if (!slot) return;
  const drop = `drop it with SELECT pg_drop_replication_slot('${desired.slotName}') if nothing uses it, or choose another replication.slotName`;
  if (slot.plugin !== SLOT_PLUGIN) {
    throw new SlotConflictError(
      desired.slotName,
      `Replication slot "${desired.slotName}" exists as a ${slot.slotType} slot with plugin ${slot.plugin ?? 'none'}, not ${SLOT_PLUGIN}: ${drop}.`,
    );
  }
  if (slot.database !== catalog.currentDatabase) {
    throw new SlotConflictError(
      desired.slotName,
      `Replication slot "${desired.slotName}" exists for database "${slot.database}", not "${catalog.currentDatabase}": ${drop}.`,
    );
  }
  if (isInvalidated(slot)) {
    throw new SlotConflictError(
      desired.slotName,
      `Replication slot "${desired.slotName}" was invalidated (${invalidationCause(slot)}), so changes since its position are lost: ${drop}, then re-deploy and run a full resync of the Airbyte connection.`,
    );
  }
}

/** Tables the plan creates, so later steps treat them as existing. */
function createdTables(catalog: CatalogSnapshot, desired: DesiredReplicationState): Set<string> {
  const created = new Set<string>();
  if (desired.createDemoTable && !catalog.tables[DEMO_TABLE_NAME]?.exists)
    created.add(DEMO_TABLE_NAME);
  if (desired.heartbeatTable !== undefined && !catalog.tables[desired.heartbeatTable]?.exists) {
    created.add(desired.heartbeatTable);
  }
  return created;
}

/** Existing tables and tables this plan creates (with a primary key, identity default). */
function effectiveTable(catalog: CatalogSnapshot, created: Set<string>, name: string): TableState {
  if (created.has(name))
    return { name, exists: true, hasPrimaryKey: true, replicaIdentity: 'default' };
  return catalog.tables[name] ?? { name, exists: false, hasPrimaryKey: false };
}

// The checks and the plan below visit every configured table a fixed number of times, with
// Set/record lookups only: a plan for 10,000 tables must take milliseconds (npm run bench).
function checkTables(
  catalog: CatalogSnapshot,
  desired: DesiredReplicationState,
  created: Set<string>,
  published: readonly string[],
): void {
  const missing = desired.tables
    .filter((table) => !effectiveTable(catalog, created, table.name).exists)
    .map((table) => table.name);
  if (missing.length > 0)
    throw new MissingTableError(desired.schema, missing, catalog.currentDatabase);
  // A pre-existing heartbeat table is published too, with its identity left at default.
  const heartbeat =
    desired.heartbeatTable !== undefined &&
    !desired.tables.some((t) => t.name === desired.heartbeatTable)
      ? [{ name: desired.heartbeatTable, replicaIdentity: 'default' as const }]
      : [];
  const withoutKey = [...desired.tables, ...heartbeat]
    .filter(
      (table) =>
        table.replicaIdentity === 'default' &&
        !effectiveTable(catalog, created, table.name).hasPrimaryKey,
    )
    .map((table) => table.name);
  if (withoutKey.length > 0) throw new MissingPrimaryKeyError(desired.schema, withoutKey);
  checkIdentityIndexes(catalog, desired.schema, desired.tables);
  checkPartitionConflicts(catalog, desired.schema, published);
}

/** Refuses publishing a partitioned table together with one of its partitions. */
function checkPartitionConflicts(
  catalog: CatalogSnapshot,
  schema: string,
  published: readonly string[],
): void {
  const publishedSet = new Set(published);
  const conflicts = published.flatMap((name) => {
    const parent = catalog.tables[name]?.partitionOf?.find(
      (ancestor) => ancestor.schema === schema && publishedSet.has(ancestor.name),
    );
    return parent
      ? [{ partition: display(schema, name), parent: display(parent.schema, parent.name) }]
      : [];
  });
  if (conflicts.length > 0) throw new PartitionConflictError(conflicts);
}

/** Whether the publication lists exactly `wanted`, all in `schema`. */
function sameTables(
  current: readonly QualifiedTable[],
  schema: string,
  wanted: readonly string[],
): boolean {
  // A table in another schema is never wanted: its presence alone makes the lists differ.
  const currentInSchema = new Set<string>();
  for (const table of current) {
    if (table.schema !== schema) return false;
    currentInSchema.add(table.name);
  }
  return currentInSchema.size === wanted.length && wanted.every((n) => currentInSchema.has(n));
}

/** Whether the publication holds `schema` whole and nothing else (FOR TABLES IN SCHEMA). */
export function publishesOnlySchema(current: PublicationState, schema: string): boolean {
  const schemas = current.schemas ?? [];
  return schemas.length === 1 && schemas[0] === schema && current.tables.length === 0;
}

/**
 * The statements still needed to bring the database from `catalog` to `desired`, in dependency
 * order; empty when there is nothing to do. Pure: no I/O (the password verifier gets a fresh
 * random salt). Throws a ReplicationSetupError when the state cannot be reached safely.
 */
export function planReplicationSetup(
  catalog: CatalogSnapshot,
  configured: DesiredReplicationState,
): Step[] {
  const desired = withSchemaTables(configured, catalog);
  assertLogicalWalLevel(catalog);
  checkRole(catalog, desired);
  checkSlot(catalog, desired);
  const created = createdTables(catalog, desired);
  const wanted = publishedTables(desired);
  checkTables(catalog, desired, created, wanted);
  if (catalog.publication?.allTables) {
    throw new PublicationConflictError(
      `Publication "${desired.publicationName}" exists FOR ALL TABLES and cannot be narrowed to the configured tables: drop it (DROP PUBLICATION) if nothing else uses it, or choose another replication.publicationName.`,
    );
  }

  const steps: Step[] = [];
  const schema = quote(desired.schema);
  const user = quote(desired.user);
  const role = catalog.role;

  if (!catalog.schemaExists) {
    steps.push({
      kind: 'create-schema',
      description: `create schema "${desired.schema}"`,
      sql: `CREATE SCHEMA IF NOT EXISTS ${schema}`,
    });
  }
  if (created.has(DEMO_TABLE_NAME)) {
    const table = qualifiedName(desired.schema, DEMO_TABLE_NAME);
    steps.push({
      kind: 'create-demo-table',
      description: `create demo table ${display(desired.schema, DEMO_TABLE_NAME)} with rows (1,'a'), (2,'b')`,
      // Rows go in only in the step that creates the table, so re-runs never re-insert them.
      sql: `CREATE TABLE IF NOT EXISTS ${table} (id bigint PRIMARY KEY, val varchar); INSERT INTO ${table} (id, val) VALUES (1, 'a'), (2, 'b') ON CONFLICT (id) DO NOTHING`,
    });
  }
  if (desired.heartbeatTable !== undefined && created.has(desired.heartbeatTable)) {
    steps.push({
      kind: 'create-heartbeat-table',
      description: `create heartbeat table ${display(desired.schema, desired.heartbeatTable)}`,
      sql: createHeartbeatTableSql(desired.schema, desired.heartbeatTable),
    });
  }

  const passwordClause = (): string =>
    `PASSWORD ${escapeLiteral(scramSha256Verifier(desired.password))}`;
  // Before 16, only a superuser may give the REPLICATION attribute or change a role that has it;
  // RDS and Aurora grant rds_replication instead, which the master may.
  const attributeNeedsSuperuser =
    !catalog.rdsReplicationRoleExists &&
    !catalog.currentUserIsSuperuser &&
    catalog.serverVersion < 160000;
  if (!role) {
    steps.push(
      attributeNeedsSuperuser
        ? {
            kind: 'create-role',
            description: `create login role "${desired.user}" with REPLICATION and its password`,
            sql: `CREATE ROLE ${user} WITH LOGIN REPLICATION ${passwordClause()}`,
            sensitive: true,
            requiresSuperuser: true,
          }
        : {
            kind: 'create-role',
            description: `create login role "${desired.user}" with its password`,
            sql: `CREATE ROLE ${user} WITH LOGIN ${passwordClause()}`,
            sensitive: true,
          },
    );
  } else if (!role.canLogin || role.passwordCurrent === false) {
    steps.push({
      kind: 'update-role',
      description: `set LOGIN and the current password on role "${desired.user}"`,
      sql: `ALTER ROLE ${user} WITH LOGIN ${passwordClause()}`,
      sensitive: true,
      ...(attributeNeedsSuperuser && role.replication ? { requiresSuperuser: true } : {}),
    });
  }

  if (!role?.schemaUsage) {
    steps.push({
      kind: 'grant-schema-usage',
      description: `grant USAGE on schema "${desired.schema}" to "${desired.user}"`,
      sql: `GRANT USAGE ON SCHEMA ${schema} TO ${user}`,
    });
  }
  if (!role || role.relationsWithoutSelect.length > 0 || created.size > 0) {
    steps.push({
      kind: 'grant-select',
      description: `grant SELECT on all tables in schema "${desired.schema}" to "${desired.user}"`,
      sql: `GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${user}`,
    });
  }
  if (!role?.defaultSelectGranted) {
    steps.push({
      kind: 'grant-default-select',
      description: `let "${desired.user}" SELECT tables "${catalog.currentUser}" creates in "${desired.schema}" later`,
      // Default privileges belong to the role that creates the tables: the master user.
      sql: `ALTER DEFAULT PRIVILEGES FOR ROLE ${quote(catalog.currentUser)} IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${user}`,
    });
  }
  if (desired.heartbeatTable !== undefined && !role?.heartbeatWriteGranted) {
    steps.push({
      kind: 'grant-heartbeat-write',
      description: `grant INSERT, UPDATE on heartbeat table ${display(desired.schema, desired.heartbeatTable)} to "${desired.user}"`,
      sql: `GRANT INSERT, UPDATE ON TABLE ${qualifiedName(desired.schema, desired.heartbeatTable)} TO ${user}`,
    });
  }

  if (catalog.rdsReplicationRoleExists) {
    if (!role?.memberOfRdsReplication) {
      steps.push({
        kind: 'grant-rds-replication',
        description: `grant ${RDS_REPLICATION_ROLE} to "${desired.user}"`,
        sql: `GRANT ${quote(RDS_REPLICATION_ROLE)} TO ${user}`,
      });
    }
  } else if (role && !role.replication) {
    steps.push({
      kind: 'grant-replication-attribute',
      description: `give "${desired.user}" the REPLICATION attribute`,
      sql: `ALTER ROLE ${user} WITH REPLICATION`,
      ...(attributeNeedsSuperuser ? { requiresSuperuser: true } : {}),
    });
  } else if (!role && !attributeNeedsSuperuser) {
    steps.push({
      kind: 'grant-replication-attribute',
      description: `give "${desired.user}" the REPLICATION attribute`,
      sql: `ALTER ROLE ${user} WITH REPLICATION`,
    });
  }

  // Before 15 every role may create tables in "public": the replication user would not be
  // read-only. 15 revokes that by default; do the same (AWS recommends it for RDS too). The
  // statement checks its own effect: a REVOKE by a non-owner only warns and changes nothing.
  if (catalog.serverVersion < 150000 && catalog.publicSchema?.createGrantedToPublic) {
    steps.push({
      kind: 'revoke-public-create',
      description: `revoke CREATE on schema "public" from PUBLIC, as PostgreSQL 15 does by default, so that "${desired.user}" stays read-only`,
      sql: REVOKE_PUBLIC_CREATE_SQL,
    });
  }

  for (const table of desired.tables) {
    steps.push(
      ...replicaIdentitySteps(desired.schema, table, effectiveTable(catalog, created, table.name)),
    );
  }

  // Built only for a statement that lists the tables: a no-op run of 10,000 needs none.
  const tableList = (): string =>
    wanted.map((name) => qualifiedName(desired.schema, name)).join(', ');
  const publication = quote(desired.publicationName);
  const publishesSchema = publishesWholeSchema(catalog, desired);
  if (!catalog.publication) {
    const objects = publishesSchema
      ? ` FOR TABLES IN SCHEMA ${schema}`
      : wanted.length > 0
        ? ` FOR TABLE ${tableList()}`
        : '';
    steps.push({
      kind: 'create-publication',
      description: publishesSchema
        ? `create publication "${desired.publicationName}" for every table in schema "${desired.schema}", now and later`
        : `create publication "${desired.publicationName}" for ${wanted.length} table(s)`,
      // Via the root: changes in every partition arrive under the published parent's name,
      // the one stream Airbyte configures for a partitioned table.
      sql: `CREATE PUBLICATION ${publication}${objects} WITH (publish_via_partition_root = true)`,
    });
  } else {
    const current = catalog.publication;
    if (publishesSchema) {
      if (!publishesOnlySchema(current, desired.schema)) {
        steps.push({
          kind: 'set-publication-tables',
          description: `make publication "${desired.publicationName}" publish every table in schema "${desired.schema}", now and later`,
          sql: `ALTER PUBLICATION ${publication} SET TABLES IN SCHEMA ${schema}`,
        });
      }
    } else if (
      (current.schemas?.length ?? 0) > 0 ||
      !sameTables(current.tables, desired.schema, wanted)
    ) {
      steps.push(
        wanted.length > 0
          ? {
              kind: 'set-publication-tables',
              description: `set the tables of publication "${desired.publicationName}" to the ${wanted.length} configured table(s)`,
              sql: `ALTER PUBLICATION ${publication} SET TABLE ${tableList()}`,
            }
          : {
              // SET TABLE needs at least one table; only 14 gets here (its publications hold no schema).
              kind: 'set-publication-tables',
              description: `remove every table from publication "${desired.publicationName}" (schema "${desired.schema}" has none)`,
              sql: `ALTER PUBLICATION ${publication} DROP TABLE ${current.tables.map((table) => qualifiedName(table.schema, table.name)).join(', ')}`,
            },
      );
    }
    if (!catalog.publication.publishesAllOperations) {
      steps.push({
        kind: 'set-publication-operations',
        description: `make publication "${desired.publicationName}" publish insert, update, delete and truncate`,
        sql: `ALTER PUBLICATION ${publication} SET (publish = 'insert, update, delete, truncate')`,
      });
    }
    if (!catalog.publication.publishesViaPartitionRoot) {
      steps.push({
        kind: 'set-publication-partition-root',
        description: `make publication "${desired.publicationName}" publish partitions' changes under their parent's name`,
        sql: `ALTER PUBLICATION ${publication} SET (publish_via_partition_root = true)`,
      });
    }
  }

  // Last in the transaction that creates the role and the publication: both commit with it.
  if (desired.roleComment !== undefined && role?.comment !== desired.roleComment) {
    steps.push({
      kind: 'comment-role',
      description: `record on role "${desired.user}" which objects the stack made`,
      sql: `COMMENT ON ROLE ${user} IS ${escapeLiteral(desired.roleComment)}`,
    });
  }

  if (!catalog.slot) {
    steps.push({
      kind: 'create-slot',
      description: `create logical replication slot "${desired.slotName}" (plugin ${SLOT_PLUGIN})`,
      sql: `SELECT pg_create_logical_replication_slot($1, '${SLOT_PLUGIN}')`,
      params: [desired.slotName],
      outsideTransaction: true,
    });
  }
  return steps;
}

export interface TeardownOptions {
  /**
   * Drop only slot and publication, keep the user and its grants: for the clean-up of a replaced
   * resource (renamed slot/publication) whose user the new resource still uses. Default: false.
   */
  readonly keepUser?: boolean;
}

/**
 * The statements that remove what setup made: slot (after terminating its walsender), publication,
 * the user's privileges and the user. Schema and data stay. Whatever is already gone is skipped.
 * A slot of that name in another database is not ours and is left alone.
 */
export function planReplicationTeardown(
  catalog: CatalogSnapshot,
  target: ReplicationTarget,
  options: TeardownOptions = {},
): Step[] {
  const steps: Step[] = [];
  const slot = catalog.slot;
  if (slot && slot.database === catalog.currentDatabase) {
    if (slot.active) {
      steps.push({
        kind: 'terminate-walsender',
        description: `disconnect the session streaming slot "${target.slotName}"`,
        // Waits (up to 5 s) for the walsender to exit so the slot is released before the drop.
        sql: 'SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL',
        params: [target.slotName],
        outsideTransaction: true,
      });
    }
    steps.push({
      kind: 'drop-slot',
      description: `drop replication slot "${target.slotName}" (its unread changes are discarded)`,
      // Filtered through the view so a slot dropped meanwhile counts as done.
      sql: 'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
      params: [target.slotName],
      outsideTransaction: true,
    });
  }
  if (catalog.publication) {
    steps.push({
      kind: 'drop-publication',
      description: `drop publication "${target.publicationName}"`,
      sql: `DROP PUBLICATION IF EXISTS ${quote(target.publicationName)}`,
    });
  }
  const role = catalog.role;
  if (!role || options.keepUser) return steps;
  const user = quote(target.user);
  // Our own entries are revoked explicitly; DROP OWNED below removes those of other grantors.
  for (const entry of role.defaultPrivilegeGrantors.filter(
    (e) => e.grantor === catalog.currentUser,
  )) {
    const objects = DEFAULT_ACL_OBJECTS[entry.objectType];
    if (!objects) continue;
    steps.push({
      kind: 'revoke-default-privileges',
      description: `revoke default privileges of "${entry.grantor}"${entry.schema === undefined ? '' : ` in schema "${entry.schema}"`} from "${target.user}"`,
      sql: `ALTER DEFAULT PRIVILEGES FOR ROLE ${quote(entry.grantor)}${entry.schema === undefined ? '' : ` IN SCHEMA ${quote(entry.schema)}`} REVOKE ALL ON ${objects} FROM ${user}`,
    });
  }
  if (!catalog.currentUserIsSuperuser && !role.currentUserHasPrivileges) {
    steps.push({
      kind: 'grant-role-to-current-user',
      description: `make "${catalog.currentUser}" a member of "${target.user}" so it may revoke the user's privileges`,
      // REASSIGN/DROP OWNED need the privileges of the role; the creator holds ADMIN on it.
      sql: `GRANT ${user} TO ${quote(catalog.currentUser)}`,
    });
  }
  if (role.ownedObjects > 0) {
    steps.push({
      kind: 'reassign-owned',
      description: `hand the ${role.ownedObjects} object(s) "${target.user}" owns in this database to "${catalog.currentUser}" (kept, not dropped)`,
      sql: `REASSIGN OWNED BY ${user} TO ${quote(catalog.currentUser)}`,
    });
  }
  steps.push({
    kind: 'drop-owned',
    description: `revoke every privilege "${target.user}" holds in this database`,
    // After the REASSIGN the user owns nothing here, so this only revokes privileges (default
    // privileges of any grantor included).
    sql: `DROP OWNED BY ${user}`,
  });
  steps.push({
    kind: 'drop-role',
    description: `drop role "${target.user}"`,
    sql: `DROP ROLE IF EXISTS ${user}`,
  });
  return steps;
}

/** pg_default_acl.defaclobjtype -> the object class ALTER DEFAULT PRIVILEGES names. */
const DEFAULT_ACL_OBJECTS: Readonly<Record<string, string>> = {
  r: 'TABLES',
  S: 'SEQUENCES',
  f: 'FUNCTIONS',
  T: 'TYPES',
  n: 'SCHEMAS',
};

/** A plan as printable lines: descriptions always, SQL only when not sensitive. */
export function formatPlan(steps: readonly Step[]): string {
  if (steps.length === 0) return 'Nothing to do.';
  return steps
    .map(
      (step, index) =>
        `${index + 1}. ${step.description}\n   ${step.sensitive ? '(statement hidden: it contains a password verifier)' : step.sql}`,
    )
    .join('\n');
}
