import {
  DEMO_TABLE_NAME,
  heartbeatTableOf,
  isInvalidated,
  planReplicationSetup,
  planReplicationTeardown,
  publicationObjects,
  ReplicationSetupError,
  SLOT_PLUGIN,
  tableIn,
  sameTable,
  type CatalogSnapshot,
  type DesiredReplicationState,
  type QualifiedTable,
  type Step,
  type StepKind,
} from '../replication';
import type { FixStatement } from './types';

import { printableSql } from '../replication/printable';

export { PASSWORD_VARIABLE, printableSql } from '../replication/printable';

/** Whether a planned table will exist once the plan ran (configured and present, or created). */
function willExist(
  catalog: CatalogSnapshot,
  desired: DesiredReplicationState,
  table: QualifiedTable,
): boolean {
  if (tableIn(catalog, table)?.exists) return true;
  // The setup creates the demo and heartbeat tables, both in the first schema.
  const heartbeat = heartbeatTableOf(desired);
  return (
    (desired.createDemoTable &&
      table.schema === desired.schema &&
      table.name === DEMO_TABLE_NAME) ||
    (heartbeat !== undefined && sameTable(table, heartbeat))
  );
}

/** The slot cannot be reused: wrong plugin or database, or invalidated. */
export function slotIsUnusable(catalog: CatalogSnapshot): boolean {
  const slot = catalog.slot;
  return (
    slot !== undefined &&
    (slot.plugin !== SLOT_PLUGIN ||
      slot.database !== catalog.currentDatabase ||
      isInvalidated(slot))
  );
}

/**
 * What the setup would still run, planned so that one problem does not hide the others' fixes:
 * the planner refuses states it cannot reach safely (wal_level, a foreign slot, a missing table),
 * and each of those has its own check and explanation. So this plans as if
 * - wal_level were logical (server settings have their own fixes);
 * - an unusable slot or a FOR ALL TABLES publication were already dropped (their checks print
 *   the drop; the plan then holds the re-creation);
 * - missing tables were left out of the configuration (their check names them);
 * - a table without primary key were configured with replica identity FULL (the SQL fix; adding
 *   a key is the alternative the check mentions);
 * - a superuser replication role were not (the read-only check prints NOSUPERUSER), and the
 *   doctor were not connected as the replication user (fixes are for the master user).
 * Throws only if the planner still refuses, with its message.
 */
export function planFixSteps(catalog: CatalogSnapshot, desired: DesiredReplicationState): Step[] {
  const tables = desired.tables
    .filter((table) => willExist(catalog, desired, table))
    .map((table) => {
      const state = tableIn(catalog, table);
      return table.replicaIdentity === 'default' && state?.exists && !state.hasPrimaryKey
        ? { ...table, replicaIdentity: 'full' as const }
        : table;
    });
  const plannable: CatalogSnapshot = {
    ...catalog,
    walLevel: 'logical',
    currentUser: catalog.currentUser === desired.user ? 'CURRENT_USER' : catalog.currentUser,
    role: catalog.role && { ...catalog.role, superuser: false },
    slot: slotIsUnusable(catalog) ? undefined : catalog.slot,
    publication: catalog.publication?.allTables ? undefined : catalog.publication,
  };
  const plannedState = { ...desired, tables };
  const steps = planReplicationSetup(plannable, plannedState);
  const namesSchemas = publicationObjects(plannable, plannedState).schemas.length > 0;
  if (tables.length > 0 || desired.heartbeatTable !== undefined || namesSchemas) return steps;
  // No configured table exists: the publication statements would name nothing.
  return steps.filter(
    (step) => step.kind !== 'create-publication' && step.kind !== 'set-publication-tables',
  );
}

/** planFixSteps, or the planner's refusal as the reason no statement can be offered. */
export function safePlanFixSteps(
  catalog: CatalogSnapshot,
  desired: DesiredReplicationState,
): { steps: Step[]; refusal?: string } {
  try {
    return { steps: planFixSteps(catalog, desired) };
  } catch (error) {
    if (error instanceof ReplicationSetupError) return { steps: [], refusal: error.message };
    throw error;
  }
}

/** The statements of `steps` whose kind is one of `kinds`, printable. */
export function statementsOf(steps: readonly Step[], kinds: readonly StepKind[]): FixStatement[] {
  return steps
    .filter((step) => kinds.includes(step.kind))
    .flatMap((step) => {
      const sql = printableSql(step);
      return sql === undefined ? [] : [{ sql }];
    });
}

/** Whether any of `steps` sets a password (the fix then needs the psql variable). */
export function setsPassword(steps: readonly Step[], kinds: readonly StepKind[]): boolean {
  return steps.some((step) => kinds.includes(step.kind) && step.sensitive);
}

/**
 * The teardown planner's statements that drop the configured slot (disconnecting its consumer
 * first) or the publication; `database` set when the slot lives in another database, where
 * pg_drop_replication_slot must run.
 */
export function dropStatements(
  catalog: CatalogSnapshot,
  desired: DesiredReplicationState,
  what: 'slot' | 'publication',
): FixStatement[] {
  const slotDatabase = catalog.slot?.database ?? catalog.currentDatabase;
  // The teardown planner only drops a slot of the database it is connected to: plan as if there.
  const view: CatalogSnapshot =
    what === 'slot' ? { ...catalog, currentDatabase: slotDatabase } : catalog;
  const kinds: StepKind[] =
    what === 'slot' ? ['terminate-walsender', 'drop-slot'] : ['drop-publication'];
  const statements = statementsOf(
    planReplicationTeardown(view, desired, { keepUser: true }),
    kinds,
  );
  return what === 'slot' && slotDatabase !== catalog.currentDatabase
    ? statements.map((statement) => ({ ...statement, database: slotDatabase }))
    : statements;
}
