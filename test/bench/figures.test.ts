import { caseName, machineLoad, median, targetLines, timingTable } from '../../bench/figures';

const timings = [
  { tables: 1, schemas: 1, steps: 8, setup: 36.71, noop: 18.7, teardown: 118.2 },
  { tables: 500, schemas: 1, steps: 507, setup: 300.44, noop: 53.25, teardown: 107.3 },
  { tables: 10000, schemas: 100, steps: 10007, setup: 4012.3, noop: 150.04, teardown: 96.1 },
];

describe('timingTable', () => {
  it('without the psql baseline: no psql column; the schemas the tables lie in beside their count', () => {
    expect(timingTable(timings)).toEqual([
      'tables | schemas | steps | setup (full plan) | no-op re-run | teardown',
      '-------|---------|-------|-------------------|--------------|---------',
      '     1 |       1 |     8 |           36.7 ms |      18.7 ms | 118.2 ms',
      '   500 |       1 |   507 |          300.4 ms |      53.3 ms | 107.3 ms',
      ' 10000 |     100 | 10007 |         4012.3 ms |     150.0 ms |  96.1 ms',
    ]);
  });

  it('with it: the psql -f column beside the setup, and the ratio of the two', () => {
    const withPsql = timings.map((timing, index) => ({
      ...timing,
      psql: [270.9, 150.2, 2006.15][index],
    }));
    expect(timingTable(withPsql)).toEqual([
      'tables | schemas | steps | setup (full plan) | no-op re-run | teardown | psql -f baseline | setup / psql',
      '-------|---------|-------|-------------------|--------------|----------|------------------|-------------',
      '     1 |       1 |     8 |           36.7 ms |      18.7 ms | 118.2 ms |         270.9 ms |        0.14x',
      '   500 |       1 |   507 |          300.4 ms |      53.3 ms | 107.3 ms |         150.2 ms |        2.00x',
      ' 10000 |     100 | 10007 |         4012.3 ms |     150.0 ms |  96.1 ms |        2006.2 ms |        2.00x',
    ]);
  });
});

describe('caseName', () => {
  it('names the tables alone in one schema, and the schemas too when there are several', () => {
    expect(caseName({ tables: 1, schemas: 1 })).toBe('1 table');
    expect(caseName({ tables: 500, schemas: 1 })).toBe('500 tables');
    expect(caseName({ tables: 10000, schemas: 100 })).toBe('10000 tables in 100 schemas');
  });
});

describe('targetLines', () => {
  it('says met, NOT met or not measured, with the figure', () => {
    expect(
      targetLines([
        { target: '10000 tables: setup <= 2x psql -f', measured: '0.95x', met: true },
        { target: '10000 tables: no-op re-run <= 200 ms', measured: '219.6 ms', met: false },
        { target: '1 table added: setup <= 2x psql -f', measured: 'no psql', met: undefined },
      ]),
    ).toEqual([
      'met          10000 tables: setup <= 2x psql -f (measured: 0.95x)',
      'NOT met      10000 tables: no-op re-run <= 200 ms (measured: 219.6 ms)',
      'not measured 1 table added: setup <= 2x psql -f (measured: no psql)',
    ]);
  });
});

describe('machineLoad', () => {
  it('names the CPUs and the 1, 5 and 15 minute load averages', () => {
    expect(machineLoad([1.234, 0.5, 0], 2)).toBe(
      '2 CPUs, load average 1.23/0.50/0.00 over 1/5/15 min',
    );
  });

  it("defaults to this machine's", () => {
    expect(machineLoad()).toMatch(/^\d+ CPUs, load average \d+\.\d\d\/\d+\.\d\d\/\d+\.\d\d over/);
  });
});

describe('median', () => {
  it('is the middle of the sorted values, without reordering them', () => {
    const values = [5, 1, 3];
    expect(median(values)).toBe(3);
    expect(values).toEqual([5, 1, 3]);
  });
});
