/**
 * npm run test:majors [-- --major 14 [--major 15 ...]] [--repeat N]: every PostgreSQL-backed
 * suite on each PostgreSQL major RDS runs (14 to 18), one server binary at a time (PG_MAJOR, read
 * by test/support/postgres.ts), then a table major -> result -> tests -> seconds. The binaries
 * of a major other than 17 are fetched once, before its suites start, so the download shows its
 * progress here rather than inside a test worker. Exits 1 if any run failed.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import {
  ensurePostgresBinaries,
  findPostgresBinaries,
  isPostgresMajor,
  POSTGRES_MAJORS,
  type PostgresMajor,
} from '../src/local/postgres-binaries';
import { PG_MAJOR_ENV_VAR } from './support/postgres';

const ROOT = path.join(__dirname, '..');
/** What marks a suite as PostgreSQL-backed: it starts a server, or runs a command that does. */
const STARTS_POSTGRES =
  /usePostgres\(|startPostgres\(|startTestPostgres\(|runLocal\(|cli', 'local\.ts'|'cli', 'doctor\.ts'/;
/** The Debezium suite has its own command (npm run test:debezium) and needs Java. */
const OWN_COMMAND = path.join('test', 'debezium');

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return file.endsWith(OWN_COMMAND) ? [] : testFiles(file);
    return file.endsWith('.test.ts') ? [file] : [];
  });
}

/** The suites that start PostgreSQL, relative to the project. */
export function postgresSuites(root = ROOT): string[] {
  return testFiles(path.join(root, 'test'))
    .filter((file) => STARTS_POSTGRES.test(readFileSync(file, 'utf8')))
    .map((file) => path.relative(root, file))
    .sort();
}

/** What one jest run of the suites on one major came to. */
export interface SuitesResult {
  /** jest exited 0. */
  readonly passed: boolean;
  /** From jest's report; zeros when jest wrote none (it failed to start: its stderr says why). */
  readonly tests: { readonly passed: number; readonly failed: number };
}

export interface Outcome extends SuitesResult {
  readonly major: PostgresMajor;
  readonly run: number;
  readonly seconds: number;
}

/** Run the suites on `major` in a jest of their own; its output is shown when it fails. */
function runSuites(major: PostgresMajor, suites: readonly string[]): SuitesResult {
  const scratch = mkdtempSync(path.join(tmpdir(), 'test-majors-'));
  const report = path.join(scratch, 'report.json');
  const jest = spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest'),
      '--ci',
      '--silent',
      '--json',
      `--outputFile=${report}`,
      ...suites,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, [PG_MAJOR_ENV_VAR]: major },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      // Jest's failure output can be long; the default 1 MiB would end it with ENOBUFS.
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  let tests = { passed: 0, failed: 0 };
  try {
    const summary = JSON.parse(readFileSync(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
    };
    tests = { passed: summary.numPassedTests, failed: summary.numFailedTests };
  } catch {
    // No report: jest itself failed; its stderr below says why.
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const passed = jest.status === 0;
  if (!passed) process.stderr.write(jest.stderr.slice(-20000));
  return { passed, tests };
}

/** What runMajors works with: the real ones in main(), fakes in test/majors.test.ts. */
export interface MajorsEnvironment {
  /** Progress lines. */
  readonly print: (line: string) => void;
  /** Milliseconds since some fixed point, to time each run. */
  readonly now: () => number;
  /** Whether the binaries of `major` are on this machine already (no download needed). */
  readonly hasBinaries: (major: PostgresMajor) => boolean;
  /** Make the binaries of `major` available, telling `print` about a download. */
  readonly ensureBinaries: (major: PostgresMajor, print: (line: string) => void) => Promise<void>;
  readonly runSuites: (major: PostgresMajor, suites: readonly string[]) => SuitesResult;
}

/** `15 tests passed`, or `FAILED: 2 of 15 tests failed`, or why there is no count. */
function resultText({ passed, tests }: SuitesResult): string {
  const total = tests.passed + tests.failed;
  if (passed) return `${tests.passed} tests passed`;
  if (total === 0) return 'FAILED: jest reported no tests (its output is above)';
  return `FAILED: ${tests.failed} of ${total} tests failed`;
}

/**
 * Run `suites` on each major `repeat` times, one jest at a time, saying before each run what
 * runs and how far the whole is (`2/4 major 15: ...`), before a download that the binaries of
 * the major are fetched first, and after each run how it went and how long it took.
 */
export async function runMajors(
  majors: readonly PostgresMajor[],
  repeat: number,
  suites: readonly string[],
  environment: MajorsEnvironment,
): Promise<Outcome[]> {
  const { print, now } = environment;
  const total = majors.length * repeat;
  print(
    `${suites.length} PostgreSQL-backed suites on PostgreSQL ${majors.join(', ')}${repeat > 1 ? `, ${repeat} times each` : ''}: ${total} jest run${total === 1 ? '' : 's'}, one at a time`,
  );
  const outcomes: Outcome[] = [];
  for (const major of majors) {
    for (let run = 1; run <= repeat; run++) {
      const label = `${outcomes.length + 1}/${total} major ${major}${repeat > 1 ? ` (run ${run} of ${repeat})` : ''}`;
      if (run === 1 && !environment.hasBinaries(major)) {
        print(`${label}: downloading PostgreSQL ${major} (first use) …`);
        // Before its suites start, so that the download shows its progress here rather than
        // inside a test worker.
        await environment.ensureBinaries(major, (line) => print(`  ${line}`));
      }
      print(`${label}: running ${suites.length} PostgreSQL-backed suites …`);
      const started = now();
      const result = environment.runSuites(major, suites);
      const seconds = (now() - started) / 1000;
      outcomes.push({ major, run, ...result, seconds });
      print(`${label}: ${resultText(result)} in ${Math.round(seconds)} s`);
    }
  }
  return outcomes;
}

function table(outcomes: readonly Outcome[]): string {
  const rows = [
    ['PostgreSQL', 'run', 'result', 'tests passed', 'failed', 'seconds'],
    ...outcomes.map((outcome) => [
      outcome.major,
      String(outcome.run),
      outcome.passed ? 'passed' : 'FAILED',
      String(outcome.tests.passed),
      String(outcome.tests.failed),
      outcome.seconds.toFixed(1),
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  return [
    line(rows[0]),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      major: { type: 'string', multiple: true },
      repeat: { type: 'string', default: '1' },
    },
  });
  const majors = values.major ?? [...POSTGRES_MAJORS];
  const unknown = majors.filter((major) => !isPostgresMajor(major));
  if (unknown.length > 0) {
    process.stderr.write(
      `--major ${unknown.join(', ')}: the majors are ${POSTGRES_MAJORS.join(', ')}\n`,
    );
    return 2;
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) {
    process.stderr.write('--repeat must be a whole number of at least 1\n');
    return 2;
  }
  const suites = postgresSuites();
  const loadAtStart = loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
  const started = process.hrtime.bigint();
  const outcomes = await runMajors(majors.filter(isPostgresMajor), repeat, suites, {
    print: (line) => process.stdout.write(`${line}\n`),
    now: () => Number(process.hrtime.bigint() / 1_000_000n),
    hasBinaries: (major) => findPostgresBinaries(major) !== undefined,
    ensureBinaries: async (major, print) => {
      await ensurePostgresBinaries(major, { print });
    },
    runSuites,
  });
  const total = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`\n${table(outcomes)}\n`);
  process.stdout.write(
    `${suites.length} PostgreSQL-backed suites, ${outcomes.length} run(s) in ${total.toFixed(0)} s on ${cpus().length} CPUs (load average ${loadAtStart} at start, ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')} at the end)\n`,
  );
  const passed = outcomes.reduce((sum, outcome) => sum + outcome.tests.passed, 0);
  const failed = outcomes.reduce((sum, outcome) => sum + outcome.tests.failed, 0);
  // The plain closing line CI reads.
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return outcomes.every((outcome) => outcome.passed) ? 0 : 1;
}

// Run as `npm run test:majors`; imported by its test, it only exports.
if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
