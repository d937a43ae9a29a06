import { databaseShapeOf, parseEnvironment, type EnvironmentInput } from '../../../src/config';
import { configErrorFor } from '../../support/config';
import { CDK_JSON_ENVIRONMENTS } from '../../support/stacks';

const existingVpc = CDK_JSON_ENVIRONMENTS.existing.network?.existingVpc;
const existingInstance = {
  instanceIdentifier: 'orders-db',
  masterSecretArn:
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-4f3c2a1b-9d8e-4c7b-a6f5-0e1d2c3b4a59-Xy1AbC',
  securityGroupId: 'sg-0a1b2c3d4e5f60718',
};
const existingCluster = {
  clusterIdentifier: 'orders-cluster',
  masterSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/master-AbCdEf',
  securityGroupId: 'sg-0a1b2c3d4e5f60718',
};

describe('database shapes', () => {
  it('tells the three shapes apart', () => {
    expect(databaseShapeOf(parseEnvironment('a', {}).database)).toBe('instance');
    expect(
      databaseShapeOf(
        parseEnvironment('a', { database: { engine: 'aurora-postgresql' } }).database,
      ),
    ).toBe('aurora');
    expect(
      databaseShapeOf(parseEnvironment('existing', CDK_JSON_ENVIRONMENTS.existing).database),
    ).toBe('existing');
  });

  it("defaults the instance type to the engine's smallest", () => {
    expect(parseEnvironment('a', {}).database.instanceType).toBe('t4g.micro');
    expect(
      parseEnvironment('a', { database: { engine: 'aurora-postgresql' } }).database.instanceType,
    ).toBe('t4g.medium');
    expect(
      parseEnvironment('a', {
        database: { engine: 'aurora-postgresql', instanceType: 'r7g.large' },
      }).database.instanceType,
    ).toBe('r7g.large');
  });

  it('keeps readers and Serverless v2 to Aurora, and multiAz to instances', () => {
    expect(configErrorFor({ database: { readers: 1 } })).toMatch(
      /environment "dev".*database\.readers.*needs database\.engine "aurora-postgresql"/s,
    );
    expect(
      configErrorFor({ database: { serverlessV2: { minCapacity: 0.5, maxCapacity: 2 } } }),
    ).toMatch(/database\.serverlessV2.*Serverless v2 is an Aurora capacity mode/s);
    expect(configErrorFor({ database: { engine: 'aurora-postgresql', multiAz: true } })).toMatch(
      /database\.multiAz.*database\.readers/s,
    );
    expect(
      configErrorFor({
        database: { engine: 'aurora-postgresql', serverlessV2: { minCapacity: 4, maxCapacity: 2 } },
      }),
    ).toMatch(/database\.serverlessV2\.maxCapacity.*at least minCapacity/s);
  });

  it('checks the storage settings of new instances only', () => {
    expect(() =>
      parseEnvironment('a', {
        database: { engine: 'aurora-postgresql', allocatedStorageGiB: 20 },
        replication: { maxSlotWalKeepSizeGiB: 50 },
      }),
    ).not.toThrow();
    expect(
      configErrorFor({
        database: { allocatedStorageGiB: 20 },
        replication: { maxSlotWalKeepSizeGiB: 50 },
      }),
    ).toMatch(/replication\.maxSlotWalKeepSizeGiB/);
  });
});

describe('database.existing', () => {
  it('accepts the cdk.json example and an existing Aurora cluster', () => {
    expect(parseEnvironment('existing', CDK_JSON_ENVIRONMENTS.existing).database.existing).toEqual({
      ...CDK_JSON_ENVIRONMENTS.existing.database?.existing,
      dropActiveSlotOnDestroy: false,
    });
    expect(() =>
      parseEnvironment('a', {
        database: { engine: 'aurora-postgresql', existing: existingCluster },
        network: { existingVpc },
      }),
    ).not.toThrow();
  });

  it('names exactly one of instanceIdentifier and clusterIdentifier', () => {
    const { instanceIdentifier: _unused, ...neither } = existingInstance;
    expect(configErrorFor({ database: { existing: neither }, network: { existingVpc } })).toMatch(
      /database\.existing\.instanceIdentifier.*or clusterIdentifier is required/s,
    );
    expect(
      configErrorFor({
        database: { existing: { ...existingInstance, clusterIdentifier: 'orders-cluster' } },
        network: { existingVpc },
      }),
    ).toMatch(
      /database\.existing\.clusterIdentifier.*either the RDS instance or the Aurora cluster/s,
    );
  });

  it('refuses identifiers, ARNs and security groups AWS would refuse', () => {
    for (const instanceIdentifier of [
      '1db',
      'orders--db',
      'orders-',
      'a'.repeat(64),
      'orders_db',
    ]) {
      expect(
        configErrorFor({
          database: { existing: { ...existingInstance, instanceIdentifier } },
          network: { existingVpc },
        }),
      ).toMatch(/database\.existing\.instanceIdentifier.*must be an RDS identifier/s);
    }
    expect(
      configErrorFor({
        database: { existing: { ...existingInstance, masterSecretArn: 'orders/master' } },
        network: { existingVpc },
      }),
    ).toMatch(/database\.existing\.masterSecretArn.*complete ARN/s);
    expect(
      configErrorFor({
        database: { existing: { ...existingInstance, securityGroupId: 'default' } },
        network: { existingVpc },
      }),
    ).toMatch(/database\.existing\.securityGroupId.*sg-/s);
  });

  it('matches the engine to the kind of database', () => {
    expect(
      configErrorFor({ database: { existing: existingCluster }, network: { existingVpc } }),
    ).toMatch(
      /database\.engine.*must be "aurora-postgresql" for database\.existing\.clusterIdentifier/s,
    );
    expect(
      configErrorFor({
        database: { engine: 'aurora-postgresql', existing: existingInstance },
        network: { existingVpc },
      }),
    ).toMatch(/database\.engine.*must be "postgres" for database\.existing\.instanceIdentifier/s);
  });

  it('needs the VPC the database lives in', () => {
    expect(configErrorFor({ database: { existing: existingInstance } })).toMatch(
      /network\.existingVpc.*is required with database\.existing/s,
    );
  });

  it('refuses every setting that would change a database the stack does not own', () => {
    const base = { database: { existing: existingInstance }, network: { existingVpc } };
    const cases: [EnvironmentInput, RegExp][] = [
      [{ ...base, database: { ...base.database, multiAz: true } }, /database\.multiAz/],
      [
        { ...base, network: { existingVpc, allowedCidrs: ['203.0.113.10/32'] } },
        /network\.allowedCidrs.*own security group/s,
      ],
      [
        { ...base, replication: { idleSlotTimeoutHours: 24 } },
        /replication\.idleSlotTimeoutHours.*own parameter group/s,
      ],
      [
        {
          database: { engine: 'aurora-postgresql', existing: existingCluster },
          network: { existingVpc },
          replication: { rebootIfPending: true },
        },
        /replication\.rebootIfPending.*never reboots the writer/s,
      ],
    ];
    for (const [raw, message] of cases) {
      expect(configErrorFor(raw)).toMatch(
        new RegExp(`cannot be used with database\\.existing|${message.source}`, 's'),
      );
      expect(configErrorFor(raw)).toMatch(message);
    }
  });

  it('lets an existing instance be rebooted when the user opts in', () => {
    expect(
      parseEnvironment('a', {
        database: { existing: existingInstance },
        network: { existingVpc },
        replication: { rebootIfPending: true },
      }).replication.rebootIfPending,
    ).toBe(true);
  });
});
