/**
 * How `npm run bench` prints its figures: the medians per table count, beside the psql -f
 * baseline when it ran, and the load the machine was under (other work on it skews them).
 */
import { cpus, loadavg } from 'os';

/** The medians of one table count, in milliseconds. */
export interface SetupTimings {
  readonly tables: number;
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

/** The figures as a table, one row per table count; the psql column only when psql ran. */
export function timingTable(timings: readonly SetupTimings[]): string[] {
  const withPsql = timings.some((timing) => timing.psql !== undefined);
  const header = ['tables', 'steps', 'setup (full plan)', 'no-op re-run', 'teardown'];
  if (withPsql) header.push('psql -f baseline');
  const rows = timings.map((timing) => {
    const row = [
      String(timing.tables),
      String(timing.steps),
      ms(timing.setup),
      ms(timing.noop),
      ms(timing.teardown),
    ];
    if (withPsql) row.push(timing.psql === undefined ? '-' : ms(timing.psql));
    return row;
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => cell.padStart(widths[column])).join(' | ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)];
}
