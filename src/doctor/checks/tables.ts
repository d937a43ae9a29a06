import { DEMO_TABLE_NAME } from '../../replication';
import { fail, pass, warn, type CheckDefinition, type Verdict } from './definition';
import type { CheckContext } from './input';
import { display, plannedFix } from './shared';

function tables(input: CheckContext): Verdict {
  const { catalog, desired, steps, refusal } = input;
  const problems: string[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  for (const table of desired.tables) {
    const state = catalog.tables[table.name];
    const name = display(desired.schema, table.name);
    if (!state?.exists) {
      problems.push(`${name} does not exist`);
      if (!(desired.createDemoTable && table.name === DEMO_TABLE_NAME)) {
        notes.push(
          `Create ${name} in database "${catalog.currentDatabase}", or remove it from replication.tables in cdk.json.`,
        );
      }
    } else if (state.replicaIdentity === 'nothing') {
      problems.push(
        `${name} has REPLICA IDENTITY NOTHING (updates and deletes fail once published)`,
      );
    } else if (state.replicaIdentity === 'default' && !state.hasPrimaryKey) {
      problems.push(`${name} has no primary key and REPLICA IDENTITY DEFAULT`);
      notes.push(
        `Or add a primary key to ${name} and keep REPLICA IDENTITY DEFAULT; with FULL, set "replicaIdentity": "full" for it in replication.tables so the setup keeps it.`,
      );
    } else if (
      state.replicaIdentity !== table.replicaIdentity &&
      state.replicaIdentity !== 'index'
    ) {
      warnings.push(
        `${name} has REPLICA IDENTITY ${state.replicaIdentity?.toUpperCase()}, the configuration says ${table.replicaIdentity.toUpperCase()}`,
      );
      if (!state.hasPrimaryKey) {
        // Without a key the planner refuses "default": the SQL fix would break the next deploy.
        notes.push(
          `${name} has no primary key: set "replicaIdentity": "full" for it in replication.tables (the setup refuses DEFAULT without a key), or add a primary key.`,
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
      .map(
        (table) =>
          `${display(desired.schema, table.name)} (${catalog.tables[table.name]?.hasPrimaryKey ? 'primary key' : 'no primary key'}, ${catalog.tables[table.name]?.replicaIdentity?.toUpperCase()})`,
      )
      .join(', '),
  );
}

/** The configured tables themselves. */
export const TABLE_CHECKS = [
  {
    id: 'tables',
    title: 'each table exists with a primary key or REPLICA IDENTITY FULL',
    evaluate: tables,
  },
] as const satisfies readonly CheckDefinition<CheckContext>[];
