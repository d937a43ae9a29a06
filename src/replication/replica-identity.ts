import { escapeIdentifier } from 'pg';
import type { ReplicaIdentity } from '../config';
import { ReplicaIdentityIndexError } from './errors';
import { identityIndexIn, tableIn } from './lookup';
import { displayName, qualifiedName } from './names';
import type {
  CatalogSnapshot,
  DesiredReplicationState,
  DesiredTable,
  IndexState,
  PartitionState,
  QualifiedTable,
  ReplicaIdentityState,
  Step,
  TableState,
} from './types';

const sqlName = (table: QualifiedTable): string => qualifiedName(table.schema, table.name);
const displayTable = (table: QualifiedTable): string => displayName(table.schema, table.name);

/** The index a replica identity names; undefined for `default` and `full`. */
export function identityIndexName(identity: ReplicaIdentity): string | undefined {
  return typeof identity === 'string' ? undefined : identity.index;
}

/** The identity as ALTER TABLE spells it after REPLICA IDENTITY, for messages. */
export function describeIdentity(identity: ReplicaIdentity): string {
  return typeof identity === 'string' ? identity.toUpperCase() : `USING INDEX "${identity.index}"`;
}

/** The identity a relation has, as describeIdentity spells it; `NOTHING` included. */
export function describeIdentityState(
  state: ReplicaIdentityState | undefined,
  index: string | undefined,
): string {
  if (state === undefined) return 'unknown (no such table)';
  return state === 'index' ? `USING INDEX "${index ?? 'unknown'}"` : state.toUpperCase();
}

/** The configured tables whose identity names an index, with that index. */
export function identityIndexesOf(
  desired: Pick<DesiredReplicationState, 'tables'>,
): { schema: string; table: string; index: string }[] {
  return desired.tables.flatMap((table) => {
    const index = identityIndexName(table.replicaIdentity);
    return index === undefined ? [] : [{ schema: table.schema, table: table.name, index }];
  });
}

/**
 * Whether a relation's identity is the wanted one. `index` is the index the relation must use
 * when `wanted` names one: the configured index for the table itself, the index attached to it
 * for a partition.
 */
function identityIs(
  state: ReplicaIdentityState | undefined,
  currentIndex: string | undefined,
  wanted: ReplicaIdentity,
  index: string | undefined,
): boolean {
  if (typeof wanted === 'string') return state === wanted;
  return state === 'index' && currentIndex === index;
}

/** Whether a table has the configured identity itself (its partitions aside). */
export function tableHasIdentity(state: TableState, wanted: ReplicaIdentity): boolean {
  return identityIs(
    state.replicaIdentity,
    state.replicaIdentityIndex,
    wanted,
    identityIndexName(wanted),
  );
}

/** Whether a partition has the identity its parent is configured with. */
export function partitionHasIdentity(partition: PartitionState, wanted: ReplicaIdentity): boolean {
  return identityIs(
    partition.replicaIdentity,
    partition.replicaIdentityIndex,
    wanted,
    partition.identityIndex,
  );
}

/** The partitions of a table that lack its configured identity (none for a plain table). */
export function partitionsLackingIdentity(
  state: TableState,
  wanted: ReplicaIdentity,
): PartitionState[] {
  return (state.partitions ?? []).filter((partition) => !partitionHasIdentity(partition, wanted));
}

/** What is wrong with `index` as the replica identity of `table`; empty when nothing is. */
function indexProblems(
  table: QualifiedTable,
  indexName: string,
  index: IndexState | undefined,
  partitions: readonly PartitionState[],
): string[] {
  const name = `"${indexName}"`;
  if (index?.table === undefined) {
    return [
      `schema "${table.schema}" has no index ${name}: create a unique index on NOT NULL columns of ${displayTable(table)}, or correct replicaIdentity.index in replication.tables`,
    ];
  }
  if (index.table !== table.name) {
    return [
      `index ${name} belongs to table ${displayTable({ schema: table.schema, name: index.table })}: name an index of ${displayTable(table)}`,
    ];
  }
  const problems: string[] = [];
  const pick = 'or pick another index';
  if (!index.unique) {
    problems.push(
      `index ${name} is not unique: create a unique one (CREATE UNIQUE INDEX), ${pick}`,
    );
  }
  if (index.partial) {
    problems.push(
      `index ${name} is partial (it has a WHERE clause), so some rows have no key: ${pick}`,
    );
  }
  if (!index.immediate) {
    problems.push(
      `index ${name} is deferrable (its constraint is checked at commit): re-create the constraint NOT DEFERRABLE, ${pick}`,
    );
  }
  if (index.expression) {
    problems.push(`index ${name} indexes an expression, not plain columns: ${pick}`);
  }
  if (!index.valid) {
    problems.push(
      `index ${name} is invalid (a failed CREATE INDEX CONCURRENTLY, or created ON ONLY a partitioned table whose partitions' indexes are not all attached): REINDEX INDEX ${escapeIdentifier(table.schema)}.${escapeIdentifier(indexName)}, attach the missing partition indexes, ${pick}`,
    );
  }
  for (const column of index.nullableColumns) {
    problems.push(
      `column ${column} is nullable: ALTER TABLE ${sqlName(table)} ALTER COLUMN ${escapeIdentifier(column)} SET NOT NULL, ${pick}`,
    );
  }
  for (const partition of partitions.filter((p) => p.identityIndex === undefined)) {
    problems.push(
      `partition ${displayTable(partition)} has no index attached to ${name}: ALTER INDEX ... ATTACH PARTITION its matching index, ${pick}`,
    );
  }
  return problems;
}

/**
 * Refuses, before anything runs, every `{ index }` identity the catalog says PostgreSQL would
 * reject (or that would leave rows without a key): one message naming each table and index.
 * Tables that do not exist are left to the missing-table check.
 */
export function checkIdentityIndexes(
  catalog: CatalogSnapshot,
  tables: readonly DesiredTable[],
): void {
  const refusals = tables.flatMap((table) => {
    const indexName = identityIndexName(table.replicaIdentity);
    const state = tableIn(catalog, table);
    if (indexName === undefined || !state?.exists) return [];
    const qualified = { schema: table.schema, name: table.name };
    const problems = indexProblems(
      qualified,
      indexName,
      identityIndexIn(catalog, table),
      state.partitions ?? [],
    );
    return problems.length === 0
      ? []
      : [
          `${displayTable(qualified)} cannot use index "${indexName}" as its replica identity: ${problems.join('; ')}`,
        ];
  });
  if (refusals.length > 0) throw new ReplicaIdentityIndexError(refusals);
}

/** `REPLICA IDENTITY ...` for ALTER TABLE. */
function identityClause(identity: ReplicaIdentity): string {
  if (typeof identity !== 'string') {
    return `REPLICA IDENTITY USING INDEX ${escapeIdentifier(identity.index)}`;
  }
  return `REPLICA IDENTITY ${identity === 'full' ? 'FULL' : 'DEFAULT'}`;
}

/**
 * The ALTER TABLE steps that give `table` its configured identity, and every partition of it
 * too: REPLICA IDENTITY does not cascade, and PostgreSQL checks (and WAL-logs the old key by) the
 * identity of the partition that holds the row. An index identity uses, on each partition, the
 * partition's index attached to the configured one. Nothing when all match.
 */
export function replicaIdentitySteps(table: DesiredTable, state: TableState): Step[] {
  const wanted = table.replicaIdentity;
  // The common case, and the whole of a no-op run over 10,000 tables: nothing to build.
  if (state.partitions === undefined && tableHasIdentity(state, wanted)) return [];
  const parent = { schema: table.schema, name: table.name };
  const step = (relation: QualifiedTable, identity: ReplicaIdentity, what: string): Step => ({
    kind: 'set-replica-identity',
    description: `set REPLICA IDENTITY ${describeIdentity(identity)} on ${what}`,
    sql: `ALTER TABLE ${sqlName(relation)} ${identityClause(identity)}`,
  });
  const steps: Step[] = [];
  if (!tableHasIdentity(state, wanted)) steps.push(step(parent, wanted, displayTable(parent)));
  for (const partition of partitionsLackingIdentity(state, wanted)) {
    const own: ReplicaIdentity =
      typeof wanted === 'string' || partition.identityIndex === undefined
        ? wanted
        : { index: partition.identityIndex };
    steps.push(
      step(partition, own, `partition ${displayTable(partition)} of ${displayTable(parent)}`),
    );
  }
  return steps;
}
