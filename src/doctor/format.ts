import { CONNECTION_CHECK } from './checks/connection';
import type { CheckResult, CheckStatus, DoctorReport } from './types';
import { formatUpgradePlan } from './upgrade';

const SYMBOLS: Readonly<Record<CheckStatus, string>> = {
  pass: '✅',
  warn: '⚠️',
  fail: '❌',
  skip: '➖',
};

/** Bytes as `1.5 GiB (1610612736 bytes)`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}

export interface Summary {
  readonly pass: number;
  readonly warn: number;
  readonly fail: number;
  readonly skip: number;
}

export function summarize(checks: readonly CheckResult[]): Summary {
  const count = (status: CheckStatus) => checks.filter((check) => check.status === status).length;
  return { pass: count('pass'), warn: count('warn'), fail: count('fail'), skip: count('skip') };
}

/**
 * 0 when nothing failed; warnings fail only with `failOnWarning` (they describe something that
 * works now, such as a slot lagging behind, which a scheduled sync usually resolves).
 */
export function exitCodeOf(report: DoctorReport, failOnWarning = false): number {
  const summary = summarize(report.checks);
  return summary.fail > 0 || (failOnWarning && summary.warn > 0) ? 1 : 0;
}

const INDENT = '     ';

/** psql's \connect with the name quoted like an identifier. */
const connectCommand = (database: string): string => `\\connect "${database.replace(/"/g, '""')}"`;

function fixLines(check: CheckResult, database: string): string[] {
  if (!check.fix) return [];
  const lines: string[] = [];
  let current = database;
  for (const statement of check.fix.sql) {
    const wanted = statement.database ?? database;
    if (wanted !== current) {
      lines.push(`${INDENT}${connectCommand(wanted)}`);
      current = wanted;
    }
    lines.push(`${INDENT}${statement.sql}`);
  }
  if (current !== database) lines.push(`${INDENT}${connectCommand(database)}`);
  for (const note of check.fix.notes) lines.push(`${INDENT}→ ${note}`);
  return lines;
}

/** `1 check`, `2 checks`. */
const checkCount = (count: number): string => `${count} ${count === 1 ? 'check' : 'checks'}`;

/**
 * What to do after reading the report, or undefined when nothing failed. It asks to run
 * statements only when a ❌ printed some: a failed connection has none, and other failures may
 * have only notes (a parameter group to change, a reboot).
 */
function nextStep(report: DoctorReport): string | undefined {
  const failed = report.checks.filter((check) => check.status === 'fail');
  if (failed.length === 0) return undefined;
  const { target } = report;
  if (failed.some((check) => check.id === CONNECTION_CHECK.id)) {
    return `Fix the connection, then run the doctor again: check the host and port, that the database is running and reachable from this machine (security group, network path to ${target.host}:${target.port}), and the password of "${target.user}" (--password-env, or the stack's secret).`;
  }
  const withStatements = failed.some((check) => (check.fix?.sql.length ?? 0) > 0);
  const withNotes = failed.some((check) => (check.fix?.notes.length ?? 0) > 0);
  const psql = `psql -h ${target.host} -p ${target.port} -d ${target.database} -U <master user>`;
  if (withStatements) {
    return `Run the statements under each ❌ as the master user (${psql}), top to bottom${withNotes ? ', do what the → notes say' : ''}, then run the doctor again.`;
  }
  if (withNotes) return 'Do what the → notes under each ❌ say, then run the doctor again.';
  return 'Fix what each ❌ says, then run the doctor again.';
}

/** One line per check, the fix indented below a ❌ or ⚠️, then a summary and what to do next. */
export function formatReport(report: DoctorReport): string {
  const { target } = report;
  const lines = [`Doctor: ${target.host}:${target.port}/${target.database} as "${target.user}"`];
  for (const check of report.checks) {
    lines.push(`${SYMBOLS[check.status]} ${check.title}: ${check.detail}`);
    lines.push(...fixLines(check, target.database));
  }
  const summary = summarize(report.checks);
  lines.push(
    '',
    `${checkCount(report.checks.length)}: ${summary.pass} ✅  ${summary.warn} ⚠️  ${summary.fail} ❌  ${summary.skip} ➖ (not applicable)`,
  );
  const next = nextStep(report);
  if (next !== undefined) lines.push(next);
  if (report.upgrade) lines.push('', ...formatUpgradePlan(report.upgrade));
  return lines.join('\n');
}

/** The report for machines: the same checks, statuses and fixes, plus the summary. */
export function reportJson(report: DoctorReport, failOnWarning = false): string {
  return JSON.stringify(
    {
      ...report,
      ok: exitCodeOf(report, failOnWarning) === 0,
      summary: summarize(report.checks),
    },
    null,
    2,
  );
}
