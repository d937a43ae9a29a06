import { parseEnvironment, parseEnvironments, type EnvironmentInput } from '../../../src/config';
import { replicationServerParameters } from '../../../src/config/server-parameters';
import { configErrorFor } from '../../support/config';
import { CDK_JSON_ENVIRONMENTS } from '../../support/stacks';

describe('cdk.json environments', () => {
  const environments = parseEnvironments(CDK_JSON_ENVIRONMENTS);

  it('defines dev, staging, prod, the several-schema analytics, aurora and existing', () => {
    expect(environments.map((env) => env.name)).toEqual([
      'dev',
      'staging',
      'prod',
      'analytics',
      'aurora',
      'existing',
    ]);
  });

  it('fills in the documented defaults', () => {
    const dev = environments[0];
    expect(dev.database.engineVersion).toBe('17');
    expect(dev.replication).toMatchObject({
      schema: 'datastore',
      user: 'airbyte',
      slotName: 'airbyte_slot',
      publicationName: 'airbyte_publication',
      schemas: [{ name: 'datastore', tables: [{ name: 'data_tbl', replicaIdentity: 'default' }] }],
    });
    expect(dev.network).toMatchObject({ publiclyAccessible: false, allowedCidrs: [] });
  });

  it('creates the demo table in the tutorial environments dev and aurora only', () => {
    expect(environments.map((env) => [env.name, env.replication.createDemoTable])).toEqual([
      ['dev', true],
      ['staging', false],
      ['prod', false],
      ['analytics', false],
      ['aurora', true],
      ['existing', false],
    ]);
  });

  it('treats prod as production: snapshot and deletion protection', () => {
    const prod = environments[2];
    expect(prod.production).toBe(true);
    expect(prod.lifecycle).toEqual({ removalPolicy: 'snapshot', deletionProtection: true });
    expect(environments[0].lifecycle).toEqual({
      removalPolicy: 'destroy',
      deletionProtection: false,
    });
  });

  it('selects one environment by name', () => {
    expect(parseEnvironments(CDK_JSON_ENVIRONMENTS, 'staging').map((env) => env.name)).toEqual([
      'staging',
    ]);
  });
});

describe('per-table replica identity', () => {
  it('applies the section default and per-table overrides', () => {
    const config = parseEnvironment('dev', {
      replication: {
        replicaIdentity: 'full',
        tables: ['a', { name: 'b', replicaIdentity: 'default' }, { name: 'c' }],
      },
    });
    expect(config.replication.schemas[0].tables).toEqual([
      { name: 'a', replicaIdentity: 'full' },
      { name: 'b', replicaIdentity: 'default' },
      { name: 'c', replicaIdentity: 'full' },
    ]);
  });

  it('accepts identifiers that only quoting makes legal', () => {
    const tables = ['Upper Case', 'with "quotes"', 'ünïcødé', `x"; DROP TABLE y; --`];
    expect(
      parseEnvironment('dev', { replication: { tables } }).replication.schemas[0].tables,
    ).toEqual(tables.map((name) => ({ name, replicaIdentity: 'default' })));
  });
});

describe('invalid configuration fails with the environment and the field', () => {
  it('unknown environment', () => {
    expect(() => parseEnvironments(CDK_JSON_ENVIRONMENTS, 'qa')).toThrow(
      'Unknown environment "qa": cdk.json context "environments" defines dev, staging, prod, analytics',
    );
  });

  it('unknown environment close to a known one', () => {
    expect(() => parseEnvironments(CDK_JSON_ENVIRONMENTS, 'prd')).toThrow(
      'Unknown environment "prd"; did you mean prod? cdk.json context "environments" defines dev, staging, prod, analytics',
    );
    expect(() => parseEnvironments(CDK_JSON_ENVIRONMENTS, 'Staging')).toThrow(
      'did you mean staging?',
    );
  });

  it('missing environments object', () => {
    expect(() => parseEnvironments(undefined)).toThrow(
      'cdk.json context "environments" must be an object',
    );
  });

  it('environment name that cannot name a stack', () => {
    expect(() => parseEnvironments({ Dev_1: {} })).toThrow(
      'Invalid environment name "Dev_1" (a key of cdk.json context "environments"): must be 1 to 20 lower-case letters, digits and single dashes',
    );
  });

  it('misspelled field', () => {
    expect(configErrorFor({ replication: { slotNmae: 'x' } } as EnvironmentInput)).toMatch(
      /environment "dev".*\n {2}- replication\.slotNmae: unknown key; did you mean slotName\?$/,
    );
  });

  it.each<[string, EnvironmentInput, string]>([
    [
      'empty table name',
      { replication: { tables: [''] } },
      'replication.tables[0]: must not be empty',
    ],
    [
      'identifier over 63 bytes',
      { replication: { tables: ['é'.repeat(32)] } },
      'replication.tables[0]: must be at most 63 bytes',
    ],
    [
      'newline in an identifier',
      { replication: { schema: 'data\nstore' } },
      'replication.schema: must not contain control characters',
    ],
    [
      'system schema',
      { replication: { schema: 'pg_catalog' } },
      'replication.schema: must not start with "pg_"',
    ],
    [
      'reserved role',
      { replication: { user: 'public' } },
      'replication.user: must not be one of the reserved role names',
    ],
    [
      'predefined role',
      { replication: { user: 'pg_monitor' } },
      'replication.user: must not start with "pg_"',
    ],
    [
      'the master user',
      { replication: { user: 'postgres' } },
      'replication.user: must not be the master user "postgres"',
    ],
    [
      'RDS role',
      { replication: { user: 'rdsadmin' } },
      'replication.user: must not start with "rds"',
    ],
    [
      'slot name PostgreSQL rejects',
      { replication: { slotName: 'Airbyte-Slot' } },
      'replication.slotName: must be 1 to 63 characters of lower-case letters, digits and underscores',
    ],
    [
      'table listed twice',
      { replication: { tables: ['a', 'a'] } },
      'replication.tables[1]: lists "a" twice',
    ],
    [
      'no table',
      { replication: { tables: [] } },
      'replication.tables: must list at least one table',
    ],
    [
      'bad replica identity',
      { replication: { replicaIdentity: 'nothing' as 'full' } },
      'replication.replicaIdentity:',
    ],
    [
      'database name RDS rejects',
      { database: { databaseName: '1app' } },
      'database.databaseName: must start with a letter',
    ],
    [
      'unsupported engine',
      { database: { engineVersion: '12' } },
      'database.engineVersion: major must be one of 14, 15, 16, 17, 18',
    ],
    [
      'db. prefix on instance type',
      { database: { instanceType: 'db.t4g.micro' } },
      'database.instanceType:',
    ],
    [
      'autoscaling ceiling below storage',
      { database: { allocatedStorageGiB: 100, maxAllocatedStorageGiB: 50 } },
      'database.maxAllocatedStorageGiB: must be greater than allocatedStorageGiB (100)',
    ],
    [
      'slot WAL budget as large as the disk',
      { replication: { maxSlotWalKeepSizeGiB: 20 } },
      'replication.maxSlotWalKeepSizeGiB: must be less than database.allocatedStorageGiB (20)',
    ],
    [
      'fewer WAL senders than slots',
      { database: { maxWalSenders: 2, maxReplicationSlots: 5 } },
      'database.maxWalSenders:',
    ],
    [
      'not a CIDR',
      { network: { allowedCidrs: ['10.0.0.0/33'] } },
      'network.allowedCidrs[0]: must be an IPv4 CIDR',
    ],
    [
      'CIDR with host bits',
      { network: { allowedCidrs: ['10.0.0.1/16'] } },
      'network.allowedCidrs[0]: has host bits set',
    ],
    [
      'the whole internet',
      { network: { allowedCidrs: ['0.0.0.0/0'] } },
      'network.allowedCidrs[0]: must not be 0.0.0.0/0',
    ],
    [
      'public without allowed CIDRs',
      { network: { publiclyAccessible: true } },
      'network.allowedCidrs: must list at least one CIDR when publiclyAccessible is true',
    ],
    [
      'existing VPC with one subnet per two AZs',
      {
        network: {
          existingVpc: {
            vpcId: 'vpc-0123456789abcdef0',
            availabilityZones: ['eu-west-1a', 'eu-west-1b'],
            isolatedSubnetIds: ['subnet-0123456789abcdef0'],
          },
        },
      },
      'network.existingVpc.isolatedSubnetIds: must list one subnet per availability zone (2), got 1',
    ],
    [
      'bad VPC id',
      {
        network: {
          existingVpc: { vpcId: 'my-vpc', availabilityZones: ['a', 'b'], isolatedSubnetIds: [] },
        },
      },
      'network.existingVpc.vpcId: must look like vpc-',
    ],
    [
      'account without region',
      { account: '123456789012' },
      'region: is required when account is set',
    ],
    [
      'bad account',
      { account: '1234', region: 'eu-west-1' },
      'account: must be a 12-digit AWS account id',
    ],
  ])('%s', (_case, raw, expected) => {
    const message = configErrorFor(raw);
    expect(message).toContain(
      'Invalid configuration for environment "dev" (cdk.json context "environments.dev")',
    );
    expect(message).toContain(expected);
  });

  it('public database with an Airbyte that does not verify the certificate', () => {
    const network = { publiclyAccessible: true, allowedCidrs: ['203.0.113.10/32'] };
    expect(configErrorFor({ network })).toContain(
      'airbyte.sslMode: must be verify-full when network.publiclyAccessible is true',
    );
    expect(() =>
      parseEnvironment('dev', {
        network,
        airbyte: { sslMode: 'verify-full', caCertificateFile: 'certs/eu-west-1-bundle.pem' },
      }),
    ).not.toThrow();
  });

  it('idle slot timeout before PostgreSQL 18', () => {
    expect(configErrorFor({ replication: { idleSlotTimeoutHours: 48 } })).toContain(
      'replication.idleSlotTimeoutHours: needs PostgreSQL 18 or later (idle_replication_slot_timeout), but database.engineVersion is "17"',
    );
    const config = parseEnvironment('dev', {
      database: { engineVersion: '18' },
      replication: { idleSlotTimeoutHours: 48 },
    });
    expect(
      replicationServerParameters({
        database: config.database,
        maxSlotWalKeepSizeGiB: config.replication.maxSlotWalKeepSizeGiB,
        idleSlotTimeoutHours: config.replication.idleSlotTimeoutHours,
      }),
    ).toMatchObject({ idle_replication_slot_timeout: String(48 * 3600) });
  });

  it('prod with retain but without deletion protection', () => {
    expect(
      configErrorFor({ lifecycle: { removalPolicy: 'retain', deletionProtection: false } }, 'prod'),
    ).toContain('lifecycle.deletionProtection: must be true in a production environment');
  });

  it('prod with destroy', () => {
    expect(
      configErrorFor({ lifecycle: { removalPolicy: 'destroy', deletionProtection: true } }, 'prod'),
    ).toContain('lifecycle.removalPolicy: must be snapshot or retain in a production environment');
  });

  it('any environment marked production gets the same safeguards', () => {
    expect(
      configErrorFor({ production: true, lifecycle: { removalPolicy: 'destroy' } }, 'eu-live'),
    ).toContain('environment "eu-live"');
  });

  it('reports every problem at once', () => {
    const message = configErrorFor({ replication: { slotName: 'X', user: 'public' } });
    expect(message).toContain('replication.slotName');
    expect(message).toContain('replication.user');
  });
});

describe('the slot inactivity limit (monitoring.slotInactiveAlarmMinutes)', () => {
  const minutesFor = (raw: EnvironmentInput): number =>
    parseEnvironment('dev', raw).monitoring.slotInactiveAlarmMinutes;

  it('is three runs of the hourly default schedule by default', () => {
    expect(minutesFor({})).toBe(3 * 60);
    for (const env of parseEnvironments(CDK_JSON_ENVIRONMENTS)) {
      expect(env.monitoring.slotInactiveAlarmMinutes).toBe(3 * 60);
    }
  });

  it('is derived from a cron schedule: slotInactiveMissedSyncs times its longest gap', () => {
    expect(minutesFor({ airbyte: { schedule: '0 0 2 * * ?' } })).toBe(3 * 24 * 60);
    expect(
      minutesFor({
        airbyte: { schedule: '0 0 2 * * ?' },
        monitoring: { slotInactiveMissedSyncs: 2 },
      }),
    ).toBe(2 * 24 * 60);
    // Friday 17:00 to Monday 09:00 is the longest wait: 64 hours.
    expect(minutesFor({ airbyte: { schedule: '0 0 9-17 ? * MON-FRI' } })).toBe(3 * 64 * 60);
  });

  it('rounds a gap of seconds up to whole minutes', () => {
    expect(
      minutesFor({
        airbyte: { schedule: '*/20 * * * * ?' },
        monitoring: { slotInactiveMissedSyncs: 1 },
      }),
    ).toBe(1);
    expect(minutesFor({ airbyte: { schedule: '*/50 * * * * ?' } })).toBe(Math.ceil((3 * 50) / 60));
  });

  it('is 180 for a manual schedule, which has no gap to derive from', () => {
    expect(minutesFor({ airbyte: { schedule: 'manual' } })).toBe(180);
  });

  it('is the explicit value when one is given, whatever the schedule', () => {
    expect(
      minutesFor({
        airbyte: { schedule: '0 0 2 * * ?' },
        monitoring: { slotInactiveAlarmMinutes: 90 },
      }),
    ).toBe(90);
    expect(
      minutesFor({
        airbyte: { schedule: '0 0 0 L * ?' },
        monitoring: { slotInactiveAlarmMinutes: 90 },
      }),
    ).toBe(90);
  });

  it('fails for a schedule it cannot derive from, naming the field to set', () => {
    const message = configErrorFor({ airbyte: { schedule: '0 0 0 L * ?' } }, 'staging');
    expect(message).toContain('environment "staging"');
    expect(message).toContain(
      'monitoring.slotInactiveAlarmMinutes: cannot be derived from airbyte.schedule "0 0 0 L * ?" (the day-of-month field "L" uses L, W or #',
    );
    expect(message).toContain('set monitoring.slotInactiveAlarmMinutes');
  });

  it('reports an invalid schedule at airbyte.schedule, not as a limit to set', () => {
    const message = configErrorFor({ airbyte: { schedule: '0 0 25 * * ?' } }, 'staging');
    expect(message).toContain('environment "staging"');
    expect(message).toContain(
      'airbyte.schedule: "0 0 25 * * ?" is not a Quartz cron expression Airbyte accepts: the hours field "25": hours 25 is out of range (0 to 23)',
    );
    expect(message).not.toContain('monitoring.slotInactiveAlarmMinutes');
    // An explicit limit does not hide the typo until Airbyte refuses it at deploy.
    expect(
      configErrorFor({
        airbyte: { schedule: '0 0 25 * * ?' },
        monitoring: { slotInactiveAlarmMinutes: 90 },
      }),
    ).toContain('airbyte.schedule: "0 0 25 * * ?" is not a Quartz cron expression Airbyte accepts');
  });

  it('refuses a missed-sync count below 1', () => {
    expect(configErrorFor({ monitoring: { slotInactiveMissedSyncs: 0 } })).toContain(
      'monitoring.slotInactiveMissedSyncs',
    );
  });
});
