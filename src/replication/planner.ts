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
import {
  checkMonitoringRole,
  monitoringRoleSteps,
  monitoringRoleTeardownSteps,
} from './monitoring-role';
import { displayName as display, qualifiedName, schemasNamed } from './names';
import { tableIn, TableSet } from './lookup';
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
 * The schemas the publication holds whole (FOR TABLES IN SCHEMA), so that tables created in them
 * later are published without another setup: those configured `"*"`, where the server allows it.
 * Otherwise the publication lists the tables that exist at this setup, and the doctor names those
 * created since. That needs PostgreSQL 15, and PostgreSQL lets only a superuser publish a schema:
 * RDS's master user is none (whether RDS exempts rds_superuser is not verified here), so on RDS
 * the list is what is safe to plan.
 */
export function wholeSchemasPublished(
  catalog: Pick<CatalogSnapshot, 'serverVersion' | 'currentUserIsSuperuser'>,
  desired: Pick<DesiredReplicationState, 'schemas'>,
): string[] {
  if (catalog.serverVersion < TABLES_IN_SCHEMA_VERSION || !catalog.currentUserIsSuperuser) {
    return [];
  }
  return desired.schemas
    .filter((schema) => schema.wholeSchema !== undefined)
    .map((schema) => schema.name);
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

/** Distinct tables, first occurrence kept. */
function distinctTables(tables: readonly QualifiedTable[]): QualifiedTable[] {
  const seen = new TableSet();
  return tables.filter((table) => seen.add(table));
}

/** The demo table, in the first schema. */
const demoTableOf = (desired: DesiredReplicationState): QualifiedTable => ({
  schema: desired.schema,
  name: DEMO_TABLE_NAME,
});

/** The heartbeat table, in the first schema; undefined when none is configured. */
export const heartbeatTableOf = (
  desired: Pick<DesiredReplicationState, 'schema' | 'heartbeatTable'>,
): QualifiedTable | undefined =>
  desired.heartbeatTable === undefined
    ? undefined
    : { schema: desired.schema, name: desired.heartbeatTable };

/** Every table setup reads from the catalog: configured, demo and heartbeat. */
export function tablesOfInterest(desired: DesiredReplicationState): QualifiedTable[] {
  const heartbeat = heartbeatTableOf(desired);
  return distinctTables([
    ...desired.tables,
    ...(desired.createDemoTable ? [demoTableOf(desired)] : []),
    ...(heartbeat ? [heartbeat] : []),
  ]);
}

/** Tables the publication must hold: the configured ones plus the heartbeat table. */
export function publishedTables(desired: DesiredReplicationState): QualifiedTable[] {
  const heartbeat = heartbeatTableOf(desired);
  return distinctTables([...desired.tables, ...(heartbeat ? [heartbeat] : [])]);
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
function createdTables(catalog: CatalogSnapshot, desired: DesiredReplicationState): TableSet {
  const created = new TableSet();
  const heartbeat = heartbeatTableOf(desired);
  for (const table of [
    ...(desired.createDemoTable ? [demoTableOf(desired)] : []),
    ...(heartbeat ? [heartbeat] : []),
  ]) {
    if (!tableIn(catalog, table)?.exists) created.add(table);
  }
  return created;
}

/** Existing tables and tables this plan creates (with a primary key, identity default). */
function effectiveTable(
  catalog: CatalogSnapshot,
  created: TableSet,
  table: QualifiedTable,
): TableState {
  const { schema, name } = table;
  if (created.size > 0 && created.has(table))
    return { schema, name, exists: true, hasPrimaryKey: true, replicaIdentity: 'default' };
  return tableIn(catalog, table) ?? { schema, name, exists: false, hasPrimaryKey: false };
}

// The checks and the plan below visit every configured table a fixed number of times, with
// Set/record lookups only: a plan for 10,000 tables must take milliseconds (npm run bench).
function checkTables(
  catalog: CatalogSnapshot,
  desired: DesiredReplicationState,
  created: TableSet,
  published: readonly QualifiedTable[],
): void {
  const missing = desired.tables.filter((table) => !effectiveTable(catalog, created, table).exists);
  if (missing.length > 0) throw new MissingTableError(missing, catalog.currentDatabase);
  // A pre-existing heartbeat table is published too, with its identity left at default.
  const heartbeat = heartbeatTableOf(desired);
  const withoutKey = [
    ...desired.tables,
    ...(heartbeat && !new TableSet(desired.tables).has(heartbeat)
      ? [{ ...heartbeat, replicaIdentity: 'default' as const }]
      : []),
  ].filter(
    (table) =>
      table.replicaIdentity === 'default' && !effectiveTable(catalog, created, table).hasPrimaryKey,
  );
  if (withoutKey.length > 0) throw new MissingPrimaryKeyError(withoutKey);
  checkIdentityIndexes(catalog, desired.tables);
  checkPartitionConflicts(catalog, published);
}

/** Refuses publishing a partitioned table together with one of its partitions. */
function checkPartitionConflicts(
  catalog: CatalogSnapshot,
  published: readonly QualifiedTable[],
): void {
  // Only partitions can conflict: most pipelines have none, and then no set is built.
  const partitions = published.filter((table) => tableIn(catalog, table)?.partitionOf);
  if (partitions.length === 0) return;
  const publishedSet = new TableSet(published);
  const conflicts = partitions.flatMap((table) => {
    const parent = tableIn(catalog, table)?.partitionOf?.find((ancestor) =>
      publishedSet.has(ancestor),
    );
    return parent
      ? [
          {
            partition: display(table.schema, table.name),
            parent: display(parent.schema, parent.name),
          },
        ]
      : [];
  });
  if (conflicts.length > 0) throw new PartitionConflictError(conflicts);
}

/** Whether `current` holds exactly the `wanted` tables. */
function sameTables(
  current: readonly QualifiedTable[],
  wanted: readonly QualifiedTable[],
): boolean {
  const currentSet = new TableSet(current);
  return currentSet.size === wanted.length && wanted.every((table) => currentSet.has(table));
}

/** Whether `current` holds exactly the `wanted` schemas whole. */
function sameSchemas(current: readonly string[], wanted: readonly string[]): boolean {
  const currentSet = new Set(current);
  return currentSet.size === wanted.length && wanted.every((schema) => currentSet.has(schema));
}

/**
 * What the publication must hold: the schemas it publishes whole and the tables it lists (those
 * outside these schemas). Without whole schemas, every published table is listed.
 */
export function publicationObjects(
  catalog: Pick<CatalogSnapshot, 'serverVersion' | 'currentUserIsSuperuser' | 'schemaTables'>,
  configured: DesiredReplicationState,
): { readonly schemas: readonly string[]; readonly tables: readonly QualifiedTable[] } {
  const desired = withSchemaTables(configured, catalog);
  return objectsToPublish(catalog, desired, publishedTables(desired));
}

/** publicationObjects for a desired state with its schemas' tables filled in. */
function objectsToPublish(
  catalog: Pick<CatalogSnapshot, 'serverVersion' | 'currentUserIsSuperuser'>,
  desired: DesiredReplicationState,
  published: readonly QualifiedTable[],
): ReturnType<typeof publicationObjects> {
  const schemas = wholeSchemasPublished(catalog, desired);
  if (schemas.length === 0) return { schemas, tables: published };
  const whole = new Set(schemas);
  return { schemas, tables: published.filter((table) => !whole.has(table.schema)) };
}

/** Whether the publication holds exactly `wanted` (schemas whole and listed tables). */
export function publicationHolds(
  current: PublicationState,
  wanted: ReturnType<typeof publicationObjects>,
): boolean {
  return (
    sameSchemas(current.schemas ?? [], wanted.schemas) && sameTables(current.tables, wanted.tables)
  );
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
  checkMonitoringRole(catalog, desired);
  checkSlot(catalog, desired);
  const created = createdTables(catalog, desired);
  const published = publishedTables(desired);
  checkTables(catalog, desired, created, published);
  if (catalog.publication?.allTables) {
    throw new PublicationConflictError(
      `Publication "${desired.publicationName}" exists FOR ALL TABLES and cannot be narrowed to the configured tables: drop it (DROP PUBLICATION) if nothing else uses it, or choose another replication.publicationName.`,
    );
  }

  const steps: Step[] = [];
  const user = quote(desired.user);
  const role = catalog.role;
  const schemaNames = desired.schemas.map((schema) => schema.name);

  for (const missing of catalog.missingSchemas) {
    steps.push({
      kind: 'create-schema',
      description: `create schema "${missing}"`,
      sql: `CREATE SCHEMA IF NOT EXISTS ${quote(missing)}`,
    });
  }
  if (created.has(demoTableOf(desired))) {
    const table = qualifiedName(desired.schema, DEMO_TABLE_NAME);
    steps.push({
      kind: 'create-demo-table',
      description: `create demo table ${display(desired.schema, DEMO_TABLE_NAME)} with rows (1,'a'), (2,'b')`,
      // Rows go in only in the step that creates the table, so re-runs never re-insert them.
      sql: `CREATE TABLE IF NOT EXISTS ${table} (id bigint PRIMARY KEY, val varchar); INSERT INTO ${table} (id, val) VALUES (1, 'a'), (2, 'b') ON CONFLICT (id) DO NOTHING`,
    });
  }
  const heartbeat = heartbeatTableOf(desired);
  if (desired.heartbeatTable !== undefined && heartbeat && created.has(heartbeat)) {
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

  steps.push(...monitoringRoleSteps(catalog, desired));

  // One statement each for every schema that needs it, in config order.
  const inOrder = (needed: Iterable<string>): string[] => {
    const set = new Set(needed);
    return schemaNames.filter((name) => set.has(name));
  };
  const quotedList = (names: readonly string[]): string => names.map(quote).join(', ');
  const withoutUsage = role ? inOrder(role.schemasWithoutUsage) : schemaNames;
  if (withoutUsage.length > 0) {
    steps.push({
      kind: 'grant-schema-usage',
      description: `grant USAGE on ${schemasNamed(withoutUsage)} to "${desired.user}"`,
      sql: `GRANT USAGE ON SCHEMA ${quotedList(withoutUsage)} TO ${user}`,
    });
  }
  const withoutSelect = role
    ? inOrder([
        ...role.relationsWithoutSelect.map((relation) => relation.schema),
        ...(created.size > 0 ? [desired.schema] : []),
      ])
    : schemaNames;
  if (withoutSelect.length > 0) {
    steps.push({
      kind: 'grant-select',
      description: `grant SELECT on all tables in ${schemasNamed(withoutSelect)} to "${desired.user}"`,
      sql: `GRANT SELECT ON ALL TABLES IN SCHEMA ${quotedList(withoutSelect)} TO ${user}`,
    });
  }
  const withoutDefaultSelect = role ? inOrder(role.schemasWithoutDefaultSelect) : schemaNames;
  if (withoutDefaultSelect.length > 0) {
    steps.push({
      kind: 'grant-default-select',
      description: `let "${desired.user}" SELECT tables "${catalog.currentUser}" creates in ${schemasNamed(withoutDefaultSelect)} later`,
      // Default privileges belong to the role that creates the tables: the master user.
      sql: `ALTER DEFAULT PRIVILEGES FOR ROLE ${quote(catalog.currentUser)} IN SCHEMA ${quotedList(withoutDefaultSelect)} GRANT SELECT ON TABLES TO ${user}`,
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
    steps.push(...replicaIdentitySteps(table, effectiveTable(catalog, created, table)));
  }

  const wanted = objectsToPublish(catalog, desired, published);
  // Built only for a statement that names the objects: a no-op run of 10,000 needs none.
  const objectList = (): string =>
    [
      ...(wanted.schemas.length > 0 ? [`TABLES IN SCHEMA ${quotedList(wanted.schemas)}`] : []),
      ...(wanted.tables.length > 0
        ? [`TABLE ${wanted.tables.map((t) => qualifiedName(t.schema, t.name)).join(', ')}`]
        : []),
    ].join(', ');
  const contents = (): string =>
    [
      ...(wanted.schemas.length > 0
        ? [`every table in ${schemasNamed(wanted.schemas)}, now and later`]
        : []),
      ...(wanted.tables.length > 0 || wanted.schemas.length === 0
        ? [`${wanted.tables.length} listed table(s)`]
        : []),
    ].join(' and ');
  const publication = quote(desired.publicationName);
  const empty = wanted.schemas.length === 0 && wanted.tables.length === 0;
  if (!catalog.publication) {
    steps.push({
      kind: 'create-publication',
      description: `create publication "${desired.publicationName}" for ${contents()}`,
      // Via the root: changes in every partition arrive under the published parent's name,
      // the one stream Airbyte configures for a partitioned table.
      sql: `CREATE PUBLICATION ${publication}${empty ? '' : ` FOR ${objectList()}`} WITH (publish_via_partition_root = true)`,
    });
  } else {
    const current = catalog.publication;
    if (!publicationHolds(current, wanted)) {
      steps.push(
        !empty
          ? {
              kind: 'set-publication-tables',
              description: `make publication "${desired.publicationName}" publish ${contents()}`,
              sql: `ALTER PUBLICATION ${publication} SET ${objectList()}`,
            }
          : {
              // SET needs at least one object; only 14 gets here (its publications hold no schema).
              kind: 'set-publication-tables',
              description: `remove every table from publication "${desired.publicationName}" (the whole schemas configured have none)`,
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
  if (options.keepUser) return steps;
  // The watchdog's role first: it holds no privilege and owns nothing, whatever the user does.
  steps.push(...monitoringRoleTeardownSteps(catalog, target));
  if (!role) return steps;
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
