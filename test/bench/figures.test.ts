import { machineLoad, median, targetLines, timingTable } from '../../bench/figures';

const timings = [
  { tables: 1, steps: 8, setup: 36.71, noop: 18.7, teardown: 118.2 },
  { tables: 500, steps: 507, setup: 300.44, noop: 53.25, teardown: 107.3 },
];

describe('timingTable', () => {
  it('without the psql baseline: no psql column', () => {
    expect(timingTable(timings)).toEqual([
      'tables | steps | setup (full plan) | no-op re-run | teardown',
      '-------|-------|-------------------|--------------|---------',
      '     1 |     8 |           36.7 ms |      18.7 ms | 118.2 ms',
      '   500 |   507 |          300.4 ms |      53.3 ms | 107.3 ms',
    ]);
  });

  it('with it: the psql -f column beside the setup, and the ratio of the two', () => {
    const withPsql = timings.map((timing, index) => ({ ...timing, psql: [270.9, 150.2][index] }));
    expect(timingTable(withPsql)).toEqual([
      'tables | steps | setup (full plan) | no-op re-run | teardown | psql -f baseline | setup / psql',
      '-------|-------|-------------------|--------------|----------|------------------|-------------',
      '     1 |     8 |           36.7 ms |      18.7 ms | 118.2 ms |         270.9 ms |        0.14x',
      '   500 |   507 |          300.4 ms |      53.3 ms | 107.3 ms |         150.2 ms |        2.00x',
    ]);
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
