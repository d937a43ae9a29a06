import { parseEngineVersion, slotFateOnUpgrade } from '../../../src/upgrade/slot-fate';

describe('slotFateOnUpgrade', () => {
  it.each([
    ['16.4', '16.4', 'unchanged'],
    ['16', '16.8', 'unchanged'],
    ['16.4', '16.8', 'kept-minor'],
    ['16.8', '16.4', 'downgrade'],
    ['16.4', '17', 'dropped'],
    ['14.12', '17.6', 'dropped'],
    ['17.6', '18', 'kept-if-consumed'],
    ['18', '17', 'downgrade'],
  ] as const)('%s -> %s: %s', (from, to, fate) => {
    expect(slotFateOnUpgrade(from, to)).toBe(fate);
  });

  // Aurora PostgreSQL: the same rule as RDS for PostgreSQL (AWS Aurora User Guide, "Managing
  // logical replication slots for Aurora PostgreSQL"): drop before a major upgrade from < 17,
  // keep (once consumed) from 17 on. Its versions have two-part minors such as 15.10.
  it.each([
    ['15.10', '16.6', 'dropped'],
    ['16.6', '17.4', 'dropped'],
    ['17.4', '18.1', 'kept-if-consumed'],
    ['15.10', '15.12', 'kept-minor'],
    ['15.10', '15.9', 'downgrade'],
  ] as const)('Aurora %s -> %s: %s', (from, to, fate) => {
    expect(slotFateOnUpgrade(from, to)).toBe(fate);
  });
});

describe('parseEngineVersion', () => {
  it('reads a major and a minor, and refuses anything else', () => {
    expect(parseEngineVersion('15.10')).toEqual({ major: 15, minor: 10 });
    expect(parseEngineVersion('17')).toEqual({ major: 17 });
    expect(() => parseEngineVersion('16.4-limitless')).toThrow('is not a PostgreSQL version');
  });
});
