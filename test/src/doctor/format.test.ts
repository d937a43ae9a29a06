import { formatReport, type CheckResult, type DoctorReport } from '../../../src/doctor';
import { connectionResult } from '../../../src/doctor/checks';

const target = { host: 'db.example.com', port: 5432, database: 'app', user: 'postgres' };

const report = (checks: CheckResult[]): DoctorReport => ({ target, checks });

/** The lines after the blank line that ends the checks: the summary and what to do next. */
const closing = (text: string): string[] => text.split('\n\n').at(-1)!.split('\n');

const connected = connectionResult({ target });
const refused = connectionResult({
  target,
  error: 'Connection to PostgreSQL at db.example.com:5432 was refused: nothing listens there.',
});
const missingSlot: CheckResult = {
  id: 'slot-exists',
  title: 'replication slot "airbyte_slot" exists',
  status: 'fail',
  detail: 'no such slot',
  fix: {
    sql: [{ sql: "SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput');" }],
    notes: [],
  },
};
const walLevel: CheckResult = {
  id: 'wal-level',
  title: 'wal_level = logical',
  status: 'fail',
  detail: 'wal_level is "replica"',
  fix: { sql: [], notes: ['Set rds.logical_replication=1 in the parameter group and reboot.'] },
};

describe('formatReport: the summary and the closing line', () => {
  it('a refused connection: "1 check", and what to check instead of statements to run', () => {
    const [summary, next, ...rest] = closing(formatReport(report([refused])));
    expect(summary).toBe('1 check: 0 ✅  0 ⚠️  1 ❌  0 ➖ (not applicable)');
    expect(next).not.toMatch(/statements/);
    expect(next).toMatch(/^Fix the connection/);
    expect(next).toMatch(/host and port/);
    expect(next).toMatch(/security group, network path to db\.example\.com:5432/);
    expect(next).toMatch(/password of "postgres" \(--password-env, or the stack's secret\)/);
    expect(rest).toEqual([]);
  });

  it('failures with statements: run them as the master user, with the psql line', () => {
    const [summary, next] = closing(formatReport(report([connected, missingSlot])));
    expect(summary).toBe('2 checks: 1 ✅  0 ⚠️  1 ❌  0 ➖ (not applicable)');
    expect(next).toBe(
      'Run the statements under each ❌ as the master user (psql -h db.example.com -p 5432 -d app -U <master user>), top to bottom, then run the doctor again.',
    );
  });

  it('statements and notes: both are asked for', () => {
    const [, next] = closing(formatReport(report([connected, walLevel, missingSlot])));
    expect(next).toMatch(/^Run the statements under each ❌ .*, do what the → notes say, then/);
  });

  it('failures with notes only: no statements are mentioned', () => {
    const [, next] = closing(formatReport(report([connected, walLevel])));
    expect(next).toBe('Do what the → notes under each ❌ say, then run the doctor again.');
  });

  it('a failure with neither statements nor notes: its own line says what to fix', () => {
    const bare: CheckResult = {
      id: 'server-version',
      title: 'PostgreSQL 14 or later',
      status: 'fail',
      detail: 'PostgreSQL 12',
    };
    const [, next] = closing(formatReport(report([connected, bare])));
    expect(next).toBe('Fix what each ❌ says, then run the doctor again.');
  });

  it('nothing failed: the summary alone', () => {
    expect(closing(formatReport(report([connected])))).toEqual([
      '1 check: 1 ✅  0 ⚠️  0 ❌  0 ➖ (not applicable)',
    ]);
  });
});
