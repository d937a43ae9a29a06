import { ConfigError, environmentSchema, parseEnvironment } from '../../../src/config';
import { knownKeysAt } from '../../../src/config/issues';

/** The problem lines parseEnvironment reports for `raw`, without the heading. */
function problemsFor(raw: unknown): string[] {
  try {
    parseEnvironment('dev', raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split('\n').slice(1);
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe('unknown keys', () => {
  it.each<[string, unknown, string]>([
    ['top level', { replicaton: {} }, '  - replicaton: unknown key; did you mean replication?'],
    [
      'a section',
      { replication: { slotNmae: 'x' } },
      '  - replication.slotNmae: unknown key; did you mean slotName?',
    ],
    [
      'a table given as an object',
      { replication: { tables: [{ name: 'a', replicaIdentiy: 'full' }] } },
      '  - replication.tables[0].replicaIdentiy: unknown key; did you mean replicaIdentity?',
    ],
    [
      'the member of a discriminated union the type selects',
      { airbyte: { destination: { type: 's3', bucketNmae: 'b' } } },
      '  - airbyte.destination.bucketNmae: unknown key; did you mean bucketName?',
    ],
    [
      'a nested section',
      {
        network: {
          existingVpc: {
            vpcId: 'vpc-0123456789abcdef0',
            availabilityZones: ['eu-west-1a', 'eu-west-1b'],
            isolatedSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
            vpcID: 'x',
          },
        },
      },
      '  - network.existingVpc.vpcID: unknown key; did you mean vpcId?',
    ],
    [
      'nothing close',
      { lifecycle: { keepForever: true } },
      '  - lifecycle.keepForever: unknown key; the keys here are removalPolicy, deletionProtection',
    ],
  ])('%s', (_case, raw, line) => {
    expect(problemsFor(raw)).toEqual([line]);
  });

  it('gets a line each', () => {
    expect(problemsFor({ replication: { usr: 'a', shema: 'b' } })).toEqual([
      '  - replication.usr: unknown key; did you mean user?',
      '  - replication.shema: unknown key; did you mean schema?',
    ]);
  });

  it('still come with the other problems of the value', () => {
    expect(problemsFor({ replication: { tables: [{ nmae: 'a' }] } })).toEqual([
      '  - replication.tables[0].name: Invalid input: expected string, received undefined',
      '  - replication.tables[0].nmae: unknown key; did you mean name?',
    ]);
  });
});

describe('knownKeysAt', () => {
  it('looks through defaults, transforms, arrays and unions', () => {
    expect(knownKeysAt(environmentSchema, [], {})).toContain('replication');
    expect(knownKeysAt(environmentSchema, ['replication', 'tables', 0], {})).toEqual([
      'name',
      'replicaIdentity',
    ]);
    expect(
      knownKeysAt(environmentSchema, ['airbyte', 'destination'], {
        airbyte: { destination: { type: 'local-json' } },
      }),
    ).toEqual(['type', 'destinationPath']);
  });

  it('knows no keys where there is no object', () => {
    expect(knownKeysAt(environmentSchema, ['replication', 'slotName'], {})).toEqual([]);
    expect(knownKeysAt(environmentSchema, ['nowhere', 'at', 'all'], {})).toEqual([]);
  });
});
