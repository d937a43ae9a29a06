import { RemovalPolicy } from 'aws-cdk-lib';
import { companionRemovalPolicy, databaseChoices } from '../../lib/database-companions';

describe('companionRemovalPolicy', () => {
  it.each([
    [RemovalPolicy.DESTROY, RemovalPolicy.DESTROY],
    [RemovalPolicy.SNAPSHOT, RemovalPolicy.RETAIN],
    [RemovalPolicy.RETAIN, RemovalPolicy.RETAIN],
  ])('keeps the secrets and logs of a database that is not destroyed: %s -> %s', (db, kept) => {
    expect(companionRemovalPolicy(db)).toBe(kept);
  });
});

describe('databaseChoices', () => {
  it('defaults to a protected, private database on 5432 that is snapshotted', () => {
    expect(databaseChoices({})).toEqual({
      port: 5432,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      deletionProtection: true,
      publiclyAccessible: false,
      companionRemovalPolicy: RemovalPolicy.RETAIN,
    });
  });

  it('takes the given choices and destroys the companions of a destroyed database', () => {
    expect(
      databaseChoices({
        port: 6432,
        removalPolicy: RemovalPolicy.DESTROY,
        deletionProtection: false,
        publiclyAccessible: true,
      }),
    ).toEqual({
      port: 6432,
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      publiclyAccessible: true,
      companionRemovalPolicy: RemovalPolicy.DESTROY,
    });
  });
});
