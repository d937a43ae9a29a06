import type { PostgresMajor } from '../src/local/postgres-binaries';
import { runMajors, type MajorsEnvironment, type SuitesResult } from './majors';

const SUITES = ['test/a.test.ts', 'test/b.test.ts'];

/**
 * A MajorsEnvironment whose jest runs take `seconds[major]` of a clock that moves only then,
 * whose binaries are there except for `missing`, and whose downloads print two lines.
 */
function fakeEnvironment(
  results: Partial<Record<PostgresMajor, SuitesResult>>,
  seconds: Partial<Record<PostgresMajor, number>>,
  missing: readonly PostgresMajor[] = [],
): MajorsEnvironment & { readonly lines: string[]; readonly downloads: PostgresMajor[] } {
  let time = 0;
  const lines: string[] = [];
  const downloads: PostgresMajor[] = [];
  return {
    lines,
    downloads,
    print: (line) => void lines.push(line),
    now: () => time,
    hasBinaries: (major) => !missing.includes(major) || downloads.includes(major),
    ensureBinaries: async (major, print) => {
      downloads.push(major);
      print(`downloading PostgreSQL ${major}: what, how big, where, once`);
      print(`Downloaded PostgreSQL ${major}`);
    },
    runSuites: (major, suites) => {
      expect(suites).toEqual(SUITES);
      time += (seconds[major] ?? 0) * 1000;
      return results[major] ?? { passed: true, tests: { passed: 0, failed: 0 } };
    },
  };
}

const PASSED: SuitesResult = { passed: true, tests: { passed: 165, failed: 0 } };

describe('npm run test:majors progress', () => {
  it('says what runs, how far the whole is, a first-use download, and each result with its time', async () => {
    const environment = fakeEnvironment(
      { '15': PASSED, '16': { passed: false, tests: { passed: 162, failed: 3 } }, '18': PASSED },
      { '15': 35.2, '16': 41.6, '18': 30 },
      ['15'],
    );

    const outcomes = await runMajors(['15', '16', '18'], 1, SUITES, environment);

    expect(environment.lines).toEqual([
      '2 PostgreSQL-backed suites on PostgreSQL 15, 16, 18: 3 jest runs, one at a time',
      '1/3 major 15: downloading PostgreSQL 15 (first use) …',
      '  downloading PostgreSQL 15: what, how big, where, once',
      '  Downloaded PostgreSQL 15',
      '1/3 major 15: running 2 PostgreSQL-backed suites …',
      '1/3 major 15: 165 tests passed in 35 s',
      '2/3 major 16: running 2 PostgreSQL-backed suites …',
      '2/3 major 16: FAILED: 3 of 165 tests failed in 42 s',
      '3/3 major 18: running 2 PostgreSQL-backed suites …',
      '3/3 major 18: 165 tests passed in 30 s',
    ]);
    expect(environment.downloads).toEqual(['15']);
    expect(outcomes.map(({ major, passed, seconds }) => [major, passed, seconds])).toEqual([
      ['15', true, 35.2],
      ['16', false, 41.6],
      ['18', true, 30],
    ]);
  });

  it('numbers repeated runs, downloads once, and says when jest reported no tests at all', async () => {
    const environment = fakeEnvironment(
      { '14': { passed: false, tests: { passed: 0, failed: 0 } } },
      { '14': 5 },
      ['14'],
    );

    await runMajors(['14'], 2, SUITES, environment);

    expect(environment.lines).toEqual([
      '2 PostgreSQL-backed suites on PostgreSQL 14, 2 times each: 2 jest runs, one at a time',
      '1/2 major 14 (run 1 of 2): downloading PostgreSQL 14 (first use) …',
      '  downloading PostgreSQL 14: what, how big, where, once',
      '  Downloaded PostgreSQL 14',
      '1/2 major 14 (run 1 of 2): running 2 PostgreSQL-backed suites …',
      '1/2 major 14 (run 1 of 2): FAILED: jest reported no tests (its output is above) in 5 s',
      '2/2 major 14 (run 2 of 2): running 2 PostgreSQL-backed suites …',
      '2/2 major 14 (run 2 of 2): FAILED: jest reported no tests (its output is above) in 5 s',
    ]);
    expect(environment.downloads).toEqual(['14']);
  });
});
