/**
 * How `npm run bench` prints its figures: the medians per case (a table count in a number of
 * schemas), beside the psql -f baseline when it ran, and the load the machine was under (other
 * work on it skews them).
 */
import { cpus, loadavg } from 'os';

/** The medians of one case, in milliseconds. */
export interface SetupTimings {
  /** Tables published, over all schemas. */
  readonly tables: number;
  /** Schemas the tables are spread over. */
  readonly schemas: number;
  /** Steps the full plan held. */
  readonly steps: number;
  readonly setup: number;
  readonly noop: number;
  readonly teardown: number;
  /** `psql -f` of the hand-written SQL; undefined when that baseline was skipped. */
  readonly psql?: number;
}

export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const ms = (value: number): string => `${value.toFixed(1)} ms`;

/** `2 CPUs, load average 0.52/0.61/0.70 over 1/5/15 min`. */
export function machineLoad(
  load: readonly number[] = loadavg(),
  cpuCount: number = cpus().length,
): string {
  const averages = load.map((value) => value.toFixed(2)).join('/');
  return `${cpuCount} CPUs, load average ${averages} over 1/5/15 min`;
}

/** A case as targets name it: `10000 tables`, or `10000 tables in 100 schemas`. */
export function caseName(timing: Pick<SetupTimings, 'tables' | 'schemas'>): string {
  const tables = `${timing.tables} ${timing.tables === 1 ? 'table' : 'tables'}`;
  return timing.schemas === 1 ? tables : `${tables} in ${timing.schemas} schemas`;
}

/** `setup / psql`, as `1.23x`. */
export const ratio = (setup: number, psql: number): string => `${(setup / psql).toFixed(2)}x`;

/**
 * The figures as a table, one row per case; the psql column, and the setup's ratio to
 * it, only when psql ran.
 */
export function timingTable(timings: readonly SetupTimings[]): string[] {
  const withPsql = timings.some((timing) => timing.psql !== undefined);
  const header = ['tables', 'schemas', 'steps', 'setup (full plan)', 'no-op re-run', 'teardown'];
  if (withPsql) header.push('psql -f baseline', 'setup / psql');
  const rows = timings.map((timing) => {
    const row = [
      String(timing.tables),
      String(timing.schemas),
      String(timing.steps),
      ms(timing.setup),
      ms(timing.noop),
      ms(timing.teardown),
    ];
    if (withPsql) {
      row.push(
        timing.psql === undefined ? '-' : ms(timing.psql),
        timing.psql === undefined ? '-' : ratio(timing.setup, timing.psql),
      );
    }
    return row;
  });
  return alignedTable(header, rows);
}

/** Rows under a header, right-aligned in columns. */
function alignedTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => cell.padStart(widths[column])).join(' | ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)];
}

/** A figure against its target; `met` undefined when it could not be measured (no psql). */
export interface TargetCheck {
  /** What the target is, e.g. `10000 tables: setup <= 2x psql -f`. */
  readonly target: string;
  /** What was measured, e.g. `1.15x`. */
  readonly measured: string;
  readonly met: boolean | undefined;
}

/** One line per target: `met`, `NOT met` or `not measured`, with the figure. */
export function targetLines(checks: readonly TargetCheck[]): string[] {
  return checks.map((check) => {
    const verdict = check.met === undefined ? 'not measured' : check.met ? 'met' : 'NOT met';
    return `${verdict.padEnd(12)} ${check.target} (measured: ${check.measured})`;
  });
}
