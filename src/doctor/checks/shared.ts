import type { Step, StepKind } from '../../replication';
import { PASSWORD_VARIABLE, setsPassword, statementsOf } from '../fixes';
import type { FixStatement } from '../types';

export { displayName, schemasNamed } from '../../replication/names';

/** `"name"`, as the messages name a role, publication or slot. */
export const quoted = (name: string): string => `"${name}"`;

/** Where cdk.json lists the published tables, in either of its forms. */
export const TABLES_SETTING = 'replication.tables (or replication.schemas)';

/** Planner statements for some step kinds, and the psql note when one sets the password. */
export function plannedFix(
  steps: readonly Step[],
  kinds: readonly StepKind[],
  notes: readonly string[] = [],
): { sql: FixStatement[]; notes: string[] } {
  const passwordNote = setsPassword(steps, kinds)
    ? [
        `In psql, set the replication user's password first (from its secret; it is never printed): \\set ${PASSWORD_VARIABLE} '...'`,
      ]
    : [];
  const superuserNote = steps.some((step) => kinds.includes(step.kind) && step.requiresSuperuser)
    ? [
        'PostgreSQL before 16 lets only a superuser give the REPLICATION attribute or change a role that has it: run these as a superuser.',
      ]
    : [];
  return {
    sql: statementsOf(steps, kinds),
    notes: [...passwordNote, ...superuserNote, ...notes],
  };
}
