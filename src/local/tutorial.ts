import type { ClientBase } from 'pg';
import { DEMO_TABLE_NAME, qualifiedName } from '../replication';
import type { CapturedChange } from './change-stream';

/** One of the tutorial's changes to the demo table and what CDC must capture for it. */
export interface TutorialChange {
  /** What the change does, for printing. */
  readonly description: string;
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly op: CapturedChange['op'];
  /** Columns the captured old row must hold (whatever the replica identity), or null. */
  readonly before: Readonly<Record<string, string>> | null;
  /** Columns the captured new row must hold, or null. */
  readonly after: Readonly<Record<string, string>> | null;
}

/**
 * The tutorial's three changes to `data_tbl` (rows (1,'a'), (2,'b') to start with). Expected
 * values are text: pgoutput sends text and bigint stays a string so it cannot lose precision.
 */
export function tutorialChanges(schema: string): TutorialChange[] {
  const table = qualifiedName(schema, DEMO_TABLE_NAME);
  return [
    {
      description: "insert (3,'c')",
      sql: `INSERT INTO ${table} (id, val) VALUES ($1, $2)`,
      params: [3, 'c'],
      op: 'insert',
      before: null,
      after: { id: '3', val: 'c' },
    },
    {
      description: 'delete id 2',
      sql: `DELETE FROM ${table} WHERE id = $1`,
      params: [2],
      op: 'delete',
      before: { id: '2' },
      after: null,
    },
    {
      description: "update id 1 to 'd'",
      sql: `UPDATE ${table} SET val = $2 WHERE id = $1`,
      params: [1, 'd'],
      op: 'update',
      before: null,
      after: { id: '1', val: 'd' },
    },
  ];
}

/** Run each change in its own transaction, as three separate application writes would. */
export async function runTutorialChanges(
  client: ClientBase,
  changes: readonly TutorialChange[],
  onChange?: (change: TutorialChange) => void,
): Promise<void> {
  for (const change of changes) {
    onChange?.(change);
    await client.query(change.sql, [...change.params]);
  }
}

function holds(
  row: Record<string, unknown> | null,
  expected: Readonly<Record<string, string>> | null,
): boolean {
  if (expected === null) return true;
  return row !== null && Object.entries(expected).every(([column, value]) => row[column] === value);
}

/** Whether `captured` is the CDC record of `change` on `schema`.data_tbl. */
export function matchesChange(
  captured: CapturedChange,
  change: TutorialChange,
  schema: string,
): boolean {
  return (
    captured.op === change.op &&
    captured.schema === schema &&
    captured.table === DEMO_TABLE_NAME &&
    holds(captured.before, change.before) &&
    holds(captured.after, change.after)
  );
}

/** The tutorial changes with no matching captured change, in order (empty: all captured). */
export function missingChanges(
  captured: readonly CapturedChange[],
  changes: readonly TutorialChange[],
  schema: string,
): TutorialChange[] {
  const unmatched = [...captured];
  return changes.filter((change) => {
    const index = unmatched.findIndex((candidate) => matchesChange(candidate, change, schema));
    if (index < 0) return true;
    unmatched.splice(index, 1);
    return false;
  });
}
