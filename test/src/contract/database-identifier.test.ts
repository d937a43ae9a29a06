import {
  databaseIdentifierProperties,
  databaseReferenceOf,
} from '../../../src/contract/database-identifier';
import { ResourcePropertiesError } from '../../../src/contract/properties';

describe('databaseReferenceOf', () => {
  it('reads an instance or a cluster, and writes it back the same', () => {
    const instance = databaseReferenceOf('R', { DbInstanceIdentifier: 'db-1' });
    const cluster = databaseReferenceOf('R', { DbClusterIdentifier: 'aurora-1' });
    expect(instance).toEqual({ kind: 'instance', identifier: 'db-1' });
    expect(cluster).toEqual({ kind: 'cluster', identifier: 'aurora-1' });
    expect(databaseIdentifierProperties(instance)).toEqual({ DbInstanceIdentifier: 'db-1' });
    expect(databaseIdentifierProperties(cluster)).toEqual({ DbClusterIdentifier: 'aurora-1' });
  });

  it('names both properties unless exactly one is given (an empty one counts as absent)', () => {
    expect(() =>
      databaseReferenceOf('Replication setup', {
        DbInstanceIdentifier: 'a',
        DbClusterIdentifier: 'b',
      }),
    ).toThrow(
      new ResourcePropertiesError(
        'Replication setup custom resource needs exactly one of the properties DbInstanceIdentifier and DbClusterIdentifier, not both (a bug in the stack)',
      ),
    );
    expect(() => databaseReferenceOf('R', { DbInstanceIdentifier: '' })).toThrow('not neither');
  });
});
