import type { CapturedChange } from '../../../src/local/change-stream';
import { missingChanges, tutorialChanges } from '../../../src/local/tutorial';

const changes = tutorialChanges('datastore');

function captured(
  op: CapturedChange['op'],
  before: CapturedChange['before'],
  after: CapturedChange['after'],
  table = 'data_tbl',
): CapturedChange {
  return {
    op,
    schema: 'datastore',
    table,
    lsn: '0/1',
    commitTime: '2026-01-01T00:00:00.000000Z',
    before,
    after,
  };
}

const defaultIdentity = [
  captured('insert', null, { id: '3', val: 'c' }),
  captured('delete', { id: '2' }, null),
  captured('update', null, { id: '1', val: 'd' }),
];

describe('tutorialChanges', () => {
  it('are the tutorial insert, delete and update, with quoted identifiers and bound values', () => {
    expect(changes.map((change) => change.description)).toEqual([
      "insert (3,'c')",
      'delete id 2',
      "update id 1 to 'd'",
    ]);
    expect(tutorialChanges('My "Schema"')[0].sql).toBe(
      'INSERT INTO "My ""Schema"""."data_tbl" (id, val) VALUES ($1, $2)',
    );
  });
});

describe('missingChanges', () => {
  it('is empty when all three were captured (REPLICA IDENTITY DEFAULT)', () => {
    expect(missingChanges(defaultIdentity, changes, 'datastore')).toEqual([]);
  });

  it('accepts whole old rows (REPLICA IDENTITY FULL)', () => {
    const full = [
      defaultIdentity[0],
      captured('delete', { id: '2', val: 'b' }, null),
      captured('update', { id: '1', val: 'a' }, { id: '1', val: 'd' }),
    ];
    expect(missingChanges(full, changes, 'datastore')).toEqual([]);
  });

  it('names each change that was not captured', () => {
    const missing = missingChanges([defaultIdentity[0]], changes, 'datastore');
    expect(missing.map((change) => change.description)).toEqual([
      'delete id 2',
      "update id 1 to 'd'",
    ]);
  });

  it('does not count a change to another table, schema or row, nor one capture twice', () => {
    const wrong = [
      captured('insert', null, { id: '3', val: 'c' }, 'other_tbl'),
      { ...captured('delete', { id: '2' }, null), schema: 'public' },
      captured('update', null, { id: '1', val: 'x' }),
    ];
    expect(missingChanges(wrong, changes, 'datastore')).toHaveLength(3);
    const twice = tutorialChanges('datastore');
    expect(missingChanges([defaultIdentity[0]], [twice[0], twice[0]], 'datastore')).toHaveLength(1);
  });
});
