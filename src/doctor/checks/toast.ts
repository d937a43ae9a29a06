/**
 * TOAST and replica identity. An UPDATE that leaves a value stored out of line (TOASTed)
 * unchanged writes no copy of it to the WAL unless the table's REPLICA IDENTITY is FULL: pgoutput
 * then sends "unchanged" for the column, and Debezium (so Airbyte) delivers the placeholder
 * `__debezium_unavailable_value` instead of the value (test/debezium/replica-identity.test.ts).
 *
 * Which columns can be stored out of line follows PostgreSQL's TOAST code (heaptoast.c) for
 * 8 kB pages, the size RDS and every standard build use. TOAST acts only on a row wider than
 * TOAST_TUPLE_THRESHOLD (2032 bytes), moving out the largest value first, and only values larger
 * than the 24-byte pointer that replaces them. So a column is reported when it is
 * - variable-length with a storage other than `plain` (text, varchar, jsonb, bytea, arrays,
 *   numeric, ...), in a table that has a TOAST table (PostgreSQL gives one only to a table whose
 *   row can outgrow the threshold: `(id bigint, code varchar(100))` has none);
 * - of unbounded width, or bounded (varchar(n), numeric(p,s), ...) and yet able to be the largest
 *   value of a row wider than the threshold: `(id, title varchar(80), body text)` reports `body`
 *   only, since TOAST moves `body` first and the row then fits;
 * - for `main` storage (numeric's), able to be the largest `main` value of a row still wider than
 *   TOAST_TUPLE_TARGET_MAIN (8160 bytes) once every other large value is out: `numeric(38,10)`
 *   stays inline, unbounded `numeric` does not;
 * - outside the replica identity key (an unchanged key stored out of line is WAL-logged whole),
 *   and not a stored generated column (every UPDATE writes it anew).
 */
import {
  qualifiedName,
  sameTable,
  TableSet,
  type DesiredReplicationState,
} from '../../replication';
import type { StoredColumn, StoredRelation, TableStorage } from '../facts';
import type { FixStatement } from '../types';
import { safePlanFixSteps, statementsOf } from '../fixes';
import { pass, skip, warn, type CheckDefinition, type Verdict } from './definition';
import type { CheckContext } from './input';
import { displayName, TABLES_SETTING } from './shared';

/** MAXALIGN(TOAST_POINTER_SIZE): TOAST moves out only values larger than their pointer. */
const TOAST_POINTER_BYTES = 24;
/** TOAST_TUPLE_THRESHOLD for 8 kB pages: a row no wider is left as it is. */
const TOAST_TUPLE_THRESHOLD = 2032;
/** TOAST_TUPLE_TARGET_MAIN for 8 kB pages: `main` values move out only above this row width. */
const TOAST_TUPLE_TARGET_MAIN = 8160;
/** MAXALIGN(SizeofHeapTupleHeader). */
const HEAP_TUPLE_HEADER_BYTES = 24;
/** At most this much alignment padding before a column (double alignment): errs towards warning. */
const MAX_ALIGNMENT_PADDING = 7;

/** What the consumer sees, said once in the warning. */
export const UNAVAILABLE_VALUE_PLACEHOLDER = '__debezium_unavailable_value';

const isToastable = (column: StoredColumn): boolean =>
  column.variableLength && column.storage !== 'p';

/** Storage TOAST compresses and moves out in its first rounds (`main` comes last). */
const isExtendedOrExternal = (column: StoredColumn): boolean =>
  column.storage === 'x' || column.storage === 'e';

/**
 * The widest `relation`'s row can be while `candidate` (bounded, `maxBytes` wide) is the value
 * TOAST picks next: no other value of the same round is larger (else TOAST picks that one), and
 * for the `main` round every extended or external value larger than a pointer is already out.
 */
function widestRowWhenPicked(
  relation: StoredRelation,
  candidate: StoredColumn,
  maxBytes: number,
): number {
  const sameRound = (column: StoredColumn): boolean =>
    isToastable(column) &&
    (candidate.storage === 'm' ? column.storage === 'm' : isExtendedOrExternal(column));
  const widthOf = (column: StoredColumn): number => {
    if (column === candidate) return maxBytes;
    const width = column.maxBytes ?? Infinity;
    if (sameRound(column)) return Math.min(width, maxBytes);
    if (candidate.storage === 'm' && isExtendedOrExternal(column)) {
      return Math.min(width, TOAST_POINTER_BYTES);
    }
    return width;
  };
  return relation.columns.reduce(
    (bytes, column) => bytes + widthOf(column) + MAX_ALIGNMENT_PADDING,
    HEAP_TUPLE_HEADER_BYTES + Math.ceil(relation.columns.length / 8),
  );
}

/** Whether TOAST may move this column's values out of line (see the rules above). */
function canGoOutOfLine(column: StoredColumn, relation: StoredRelation): boolean {
  if (!isToastable(column) || column.inIdentityKey || column.generated) return false;
  if (column.maxBytes === null) return true;
  if (column.maxBytes <= TOAST_POINTER_BYTES) return false;
  const threshold = column.storage === 'm' ? TOAST_TUPLE_TARGET_MAIN : TOAST_TUPLE_THRESHOLD;
  return widestRowWhenPicked(relation, column, column.maxBytes) > threshold;
}

/**
 * The columns of a relation whose unchanged values an UPDATE would not send: none under FULL,
 * or NOTHING (whose updates fail once published: the tables check says so).
 */
export function columnsLostOnUpdate(relation: StoredRelation): string[] {
  if (relation.replicaIdentity === 'full' || relation.replicaIdentity === 'nothing') return [];
  if (!relation.hasToastTable) return [];
  return relation.columns
    .filter((column) => canGoOutOfLine(column, relation))
    .map((column) => column.name);
}

/** A configured table with the relations (itself, or partitions) that would lose values. */
interface LossyTable {
  readonly schema: string;
  readonly name: string;
  readonly partitioned: boolean;
  readonly relations: readonly { relation: StoredRelation; columns: string[] }[];
}

function lossyTable(table: TableStorage): LossyTable | undefined {
  const relations = table.relations
    .map((relation) => ({ relation, columns: columnsLostOnUpdate(relation) }))
    .filter((entry) => entry.columns.length > 0);
  if (relations.length === 0) return undefined;
  const partitioned = !table.relations.some((relation) => sameTable(relation, table));
  return { schema: table.schema, name: table.name, partitioned, relations };
}

/** `"datastore"."docs" (body, meta)`, with the partitions for a partitioned table. */
function describeLossy(table: LossyTable): string {
  const columns = [...new Set(table.relations.flatMap((entry) => entry.columns))];
  const where = table.partitioned
    ? `; partitions ${table.relations.map((entry) => displayName(entry.relation.schema, entry.relation.name)).join(', ')}`
    : '';
  const identities = [
    ...new Set(
      table.relations.map(({ relation }) =>
        relation.replicaIdentity === 'index'
          ? 'USING INDEX'
          : relation.replicaIdentity.toUpperCase(),
      ),
    ),
  ];
  return `${displayName(table.schema, table.name)} (${columns.join(', ')}${where}) under REPLICA IDENTITY ${identities.join('/')}`;
}

/**
 * The statements that give these tables FULL: the planner's own ALTER TABLEs (partitions
 * included) for the tables configured otherwise, as the setup will run them once cdk.json says
 * `full`; for the rest (already configured FULL but not yet deployed, or when the planner refuses
 * to plan) one ALTER TABLE per relation that loses values.
 */
function fullIdentityStatements(input: CheckContext, lossy: readonly LossyTable[]): FixStatement[] {
  const direct = (table: LossyTable): FixStatement[] =>
    table.relations.map((entry) => ({
      sql: `ALTER TABLE ${qualifiedName(entry.relation.schema, entry.relation.name)} REPLICA IDENTITY FULL;`,
    }));
  const toSwitch = new TableSet(
    input.desired.tables.filter((table) => table.replicaIdentity !== 'full'),
  );
  const lossyKeys = new TableSet(lossy);
  const desired: DesiredReplicationState = {
    ...input.desired,
    tables: input.desired.tables.map((table) =>
      toSwitch.has(table) && lossyKeys.has(table)
        ? { ...table, replicaIdentity: 'full' as const }
        : table,
    ),
  };
  const { steps, refusal } = safePlanFixSteps(input.catalog, desired);
  if (refusal !== undefined) return lossy.flatMap(direct);
  // What the setup would run anyway is the tables check's fix, not this one's.
  const already = new Set(statementsOf(input.steps, ['set-replica-identity']).map((s) => s.sql));
  const planned = statementsOf(steps, ['set-replica-identity']).filter(
    (statement) => !already.has(statement.sql),
  );
  const others = lossy.filter((table) => !toSwitch.has(table)).flatMap(direct);
  return [
    ...planned,
    ...others.filter((statement) => !planned.some((p) => p.sql === statement.sql)),
  ];
}

function toast(input: CheckContext): Verdict {
  const { desired, facts } = input;
  if (facts.tableStorage.length === 0) return skip('none of the configured tables exists');
  const lossy = facts.tableStorage.flatMap((table) => lossyTable(table) ?? []);
  if (lossy.length === 0) {
    return pass(
      facts.tableStorage
        .map((table) => {
          const allFull = table.relations.every((relation) => relation.replicaIdentity === 'full');
          return `${displayName(table.schema, table.name)} (${allFull ? 'FULL' : 'no column stored out of line'})`;
        })
        .join(', '),
    );
  }
  const lossyKeys = new TableSet(lossy);
  const lossyConfigured = desired.tables.filter((table) => lossyKeys.has(table));
  const named = (tables: readonly { schema: string; name: string }[]): string =>
    tables.map((table) => displayName(table.schema, table.name)).join(', ');
  const configuredDefault = lossyConfigured.filter((table) => table.replicaIdentity !== 'full');
  const configuredFull = lossyConfigured.filter((table) => table.replicaIdentity === 'full');
  return warn(
    `${lossy.map(describeLossy).join('; ')}: these columns can be stored out of line (TOAST), and an UPDATE that leaves such a value unchanged sends no value for it: Debezium and Airbyte deliver "${UNAVAILABLE_VALUE_PLACEHOLDER}" instead (Airbyte writes it into the destination, over the real value in deduplicated sync modes)`,
    {
      sql: fullIdentityStatements(input, lossy),
      notes: [
        ...(configuredDefault.length > 0
          ? [
              `Set "replicaIdentity": "full" for ${named(configuredDefault)} in ${TABLES_SETTING} in cdk.json: every deploy sets the configured identity, so the statements alone are undone by the next one.`,
            ]
          : []),
        ...(configuredFull.length > 0
          ? [
              `The configuration already says FULL for ${named(configuredFull)}: the next deploy sets it (or run the statements now).`,
            ]
          : []),
        'The trade-off: FULL writes the whole old row to the WAL on every UPDATE and DELETE of these tables (more WAL, more slot lag and disk while the consumer is behind). Keep DEFAULT and accept this warning when updates always set these columns or their values stay small; see "TOAST and replica identity" in docs/replication-setup.md.',
      ],
    },
  );
}

/** Columns that an UPDATE may leave out of the change (TOAST under REPLICA IDENTITY DEFAULT). */
export const TOAST_CHECKS = [
  {
    id: 'toast',
    title: 'columns that can be stored out of line (TOAST) arrive whole on update',
    evaluate: toast,
  },
] as const satisfies readonly CheckDefinition<CheckContext>[];
