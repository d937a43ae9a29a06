import { editDistance, nearestName } from '../../../src/config/suggestion';

describe('editDistance', () => {
  it.each<[string, string, number]>([
    ['slotName', 'slotName', 0],
    ['slotNmae', 'slotName', 1],
    ['tbles', 'tables', 1],
    ['schmea', 'schema', 1],
    ['usr', 'user', 1],
    ['qa', 'dev', 3],
    ['', 'abc', 3],
    ['abc', '', 3],
    // A swap of two neighbours is one edit; the letters of a swap are not reused.
    ['ca', 'abc', 3],
    ['ünïcødé', 'unicode', 4],
  ])('%j to %j: %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

describe('nearestName', () => {
  const replicationKeys = ['schema', 'tables', 'user', 'slotName', 'publicationName'];

  it.each<[string, string | undefined]>([
    ['slotNmae', 'slotName'],
    ['slotname', 'slotName'],
    ['SLOTNAME', 'slotName'],
    ['tabels', 'tables'],
    ['usr', 'user'],
    ['publicatoinNmae', 'publicationName'],
    // Too far from anything for its length.
    ['slots', undefined],
    ['x', undefined],
    ['replicaIdentity', undefined],
  ])('%j: %j', (misspelled, suggestion) => {
    expect(nearestName(misspelled, replicationKeys)).toBe(suggestion);
  });

  it('suggests an environment only when it is close', () => {
    const environments = ['dev', 'staging', 'prod'];
    expect(nearestName('prd', environments)).toBe('prod');
    expect(nearestName('Dev', environments)).toBe('dev');
    expect(nearestName('stagign', environments)).toBe('staging');
    expect(nearestName('qa', environments)).toBeUndefined();
  });

  it('takes the closest, then the first listed', () => {
    expect(nearestName('ab', ['xb', 'ay'])).toBe('xb');
    expect(nearestName('abcdef', ['abcxyf', 'abcdxf'])).toBe('abcdxf');
  });
});
