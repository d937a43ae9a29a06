import {
  DEMO_TABLE_NAME,
  describeIdentity,
  describeIdentityState,
  partitionsLackingIdentity,
  tableHasIdentity,
  tableIn,
  TableSet,
} from '../../replication';
import { fail, pass, warn, type CheckDefinition, type Verdict } from './definition';
import type { CheckContext } from './input';
import { displayName, plannedFix, TABLES_SETTING } from './shared';

function tables(input: CheckContext): Verdict {
  const { catalog, desired, steps, refusal } = input;
  const problems: string[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  for (const table of desired.tables) {
    const state = tableIn(catalog, table);
    const name = displayName(table.schema, table.name);
    if (!state?.exists) {
      problems.push(`${name} does not exist`);
      const isDemoTable =
        desired.createDemoTable &&
        table.schema === desired.schema &&
        table.name === DEMO_TABLE_NAME;
      if (!isDemoTable) {
        notes.push(
          `Create ${name} in database "${catalog.currentDatabase}", or remove it from ${TABLES_SETTING} in cdk.json.`,
        );
      }
    } else if (state.replicaIdentity === 'nothing') {
      problems.push(
        `${name} has REPLICA IDENTITY NOTHING (updates and deletes fail once published)`,
      );
    } else if (state.replicaIdentity === 'default' && !state.hasPrimaryKey) {
      problems.push(`${name} has no primary key and REPLICA IDENTITY DEFAULT`);
      notes.push(
        `Or add a primary key to ${name} and keep REPLICA IDENTITY DEFAULT; with FULL, set "replicaIdentity": "full" for it in ${TABLES_SETTING} so the setup keeps it.`,
      );
    } else if (!tableHasIdentity(state, table.replicaIdentity)) {
      warnings.push(
        `${name} has REPLICA IDENTITY ${describeIdentityState(state.replicaIdentity, state.replicaIdentityIndex)}, the configuration says ${describeIdentity(table.replicaIdentity)}`,
      );
      if (!state.hasPrimaryKey) {
        // Without a key the planner refuses "default": the SQL fix would break the next deploy.
        notes.push(
          `${name} has no primary key: set "replicaIdentity": "full" for it in ${TABLES_SETTING} (the setup refuses DEFAULT without a key), or add a primary key.`,
        );
      }
    }
  }
  const fix = plannedFix(
    steps,
    ['create-schema', 'create-demo-table', 'set-replica-identity'],
    refusal ? [...notes, refusal] : notes,
  );
  if (problems.length > 0) return fail([...problems, ...warnings].join('; '), fix);
  if (warnings.length > 0) return warn(warnings.join('; '), fix);
  return pass(
    desired.tables
      .map((table) => {
        const state = tableIn(catalog, table);
        return `${displayName(table.schema, table.name)} (${state?.hasPrimaryKey ? 'primary key' : 'no primary key'}, ${describeIdentityState(state?.replicaIdentity, state?.replicaIdentityIndex)})`;
      })
      .join(', '),
  );
}

/**
 * Partitioned tables: the publication sends their partitions' changes under the parent's name,
 * every partition has the parent's replica identity (it does not cascade, so a partition created
 * after the deploy has DEFAULT), and no partition is published beside its parent.
 */
function partitions(input: CheckContext): Verdict {
  const { catalog, desired, steps, refusal } = input;
  const configured = new TableSet(desired.tables);
  const problems: string[] = [];
  const parents: string[] = [];
  for (const table of desired.tables) {
    const state = tableIn(catalog, table);
    if (!state?.exists) continue;
    const name = displayName(table.schema, table.name);
    // Its parent may be published from another schema.
    const parent = state.partitionOf?.find((ancestor) => configured.has(ancestor));
    if (parent) {
      problems.push(
        `${name} is a partition of ${displayName(parent.schema, parent.name)}, which is published too`,
      );
    }
    if (!state.partitioned) continue;
    parents.push(`${name} (${state.partitions?.length ?? 0} partition(s))`);
    for (const partition of partitionsLackingIdentity(state, table.replicaIdentity)) {
      problems.push(
        `partition ${displayName(partition.schema, partition.name)} of ${name} has REPLICA IDENTITY ${describeIdentityState(partition.replicaIdentity, partition.replicaIdentityIndex)}, not ${describeIdentity(table.replicaIdentity)} (created after the last deploy?)`,
      );
    }
  }
  const publication = catalog.publication;
  if (parents.length > 0 && publication && !publication.publishesViaPartitionRoot) {
    problems.push(
      `publication "${desired.publicationName}" has publish_via_partition_root off, so partitions' changes arrive under the partitions' names, which Airbyte does not stream`,
    );
  }
  if (problems.length > 0) {
    return fail(
      problems.join('; '),
      plannedFix(
        steps,
        ['set-replica-identity', 'set-publication-partition-root'],
        refusal ? [refusal] : [],
      ),
    );
  }
  return pass(parents.length > 0 ? parents.join(', ') : 'no partitioned table is published');
}

/** The configured tables themselves. */
export const TABLE_CHECKS = [
  {
    id: 'tables',
    title: 'each table exists with a primary key, REPLICA IDENTITY FULL or a unique index identity',
    evaluate: tables,
  },
  {
    id: 'partitions',
    title: "partitioned tables publish under the parent's name, every partition with its identity",
    evaluate: partitions,
  },
] as const satisfies readonly CheckDefinition<CheckContext>[];
