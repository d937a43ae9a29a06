import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CdcAuroraCluster, type CdcAuroraClusterProps } from '../../lib/cdc-aurora-cluster';
import { CdcNetwork } from '../../lib/network';
import { appWithoutValidation } from '../support/stacks';

const CLUSTER_ID = 'rds-airbyte-cdc-aurora';

type Overrides = Partial<Omit<CdcAuroraClusterProps, 'vpc' | 'vpcSubnets'>>;

/** A stack holding only a VPC and the construct, as another CDK app would use it. */
function buildAurora(overrides: Overrides, app: App) {
  const stack = new Stack(app, 'Aurora');
  const network = new CdcNetwork(stack, 'Network', {
    publiclyAccessible: overrides.publiclyAccessible,
  });
  const aurora = new CdcAuroraCluster(stack, 'Database', {
    clusterIdentifier: CLUSTER_ID,
    vpc: network.vpc,
    vpcSubnets: network.databaseSubnets,
    engineVersion: rds.AuroraPostgresEngineVersion.of('17', '17'),
    databaseName: 'app',
    replicationUsername: 'airbyte',
    ...overrides,
  });
  return { stack, aurora };
}

/** buildAurora in an app without the CloudFormation validation, and its template. */
function auroraStack(overrides: Overrides = {}) {
  const built = buildAurora(overrides, appWithoutValidation());
  return { ...built, template: Template.fromStack(built.stack) };
}

/** Logical id of the only resource of a type. */
function onlyId(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  expect(ids).toHaveLength(1);
  return ids[0];
}

function instancesById(template: Template): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.values(template.findResources('AWS::RDS::DBInstance')).map((instance) => [
      instance.Properties.DBInstanceIdentifier as string,
      instance.Properties as Record<string, unknown>,
    ]),
  );
}

function nagFindings(stack: Stack): string[] {
  return new AwsSolutionsChecks()
    .validateScope(stack)
    .violations.map(
      (violation) =>
        `${violation.ruleName} ${violation.violatingResources.map((r) => r.resourceLogicalId)}`,
    );
}

/** Findings of the CloudFormation validation that `cdk synth` runs, for one such stack. */
function validationFindings(overrides: Overrides): string[] {
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-aurora-'));
  try {
    const app = new App({ outdir });
    buildAurora(overrides, app);
    app.synth();
    const report = JSON.parse(
      readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'),
    ) as {
      pluginReports: { violations: { ruleName: string; description: string }[] }[];
    };
    return report.pluginReports.flatMap((plugin) =>
      plugin.violations.map((violation) => `${violation.ruleName}: ${violation.description}`),
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('CdcAuroraCluster, provisioned with two readers and its defaults', () => {
  const { template, aurora } = auroraStack({
    readers: 2,
    monitoringUsername: 'cdc_watchdog',
    parameters: { max_replication_slots: '10', wal_sender_timeout: '60000' },
  });
  const clusterId = onlyId(template, 'AWS::RDS::DBCluster');
  const parameterGroupId = onlyId(template, 'AWS::RDS::DBClusterParameterGroup');

  it('attaches a cluster parameter group with logical replication, forced SSL and the extras', () => {
    template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Family: 'aurora-postgresql17',
      Parameters: {
        'rds.logical_replication': '1',
        'rds.force_ssl': '1',
        max_replication_slots: '10',
        wal_sender_timeout: '60000',
      },
    });
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      DBClusterParameterGroupName: { Ref: parameterGroupId },
    });
    // The instances keep Aurora's default DB parameter group: nothing instance-level is set.
    template.resourceCountIs('AWS::RDS::DBParameterGroup', 0);
    expect(aurora.engineMajorVersion).toBe('17');
  });

  it('names the writer and the readers after the cluster, all members of it', () => {
    const instances = instancesById(template);
    expect(Object.keys(instances).sort()).toEqual([
      `${CLUSTER_ID}-reader-1`,
      `${CLUSTER_ID}-reader-2`,
      `${CLUSTER_ID}-writer`,
    ]);
    for (const instance of Object.values(instances)) {
      expect(instance).toMatchObject({
        DBClusterIdentifier: { Ref: clusterId },
        DBInstanceClass: 'db.t4g.medium',
        CACertificateIdentifier: 'rds-ca-rsa2048-g1',
        AutoMinorVersionUpgrade: true,
        PubliclyAccessible: false,
      });
    }
    expect(instances[`${CLUSTER_ID}-writer`].PromotionTier).toBe(0);
  });

  it('snapshots an encrypted, deletion-protected cluster with IAM auth on port 5432', () => {
    template.hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
      Properties: Match.objectLike({
        DBClusterIdentifier: CLUSTER_ID,
        Engine: 'aurora-postgresql',
        EngineVersion: '17',
        DatabaseName: 'app',
        Port: 5432,
        StorageEncrypted: true,
        EnableIAMDatabaseAuthentication: true,
        DeletionProtection: true,
        CopyTagsToSnapshot: true,
        AutoMinorVersionUpgrade: true,
        EnableCloudwatchLogsExports: ['postgresql'],
        ServerlessV2ScalingConfiguration: Match.absent(),
        // Not a CloudFormation property of DBCluster: its handler allows a major upgrade
        // whenever EngineVersion changes, and an override would fail the deploy.
        AllowMajorVersionUpgrade: Match.absent(),
      }),
    });
  });

  it('owns the cluster log group and keeps the companions of a snapshotted cluster', () => {
    const logGroups = template.findResources('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: `/aws/rds/cluster/${CLUSTER_ID}/postgresql` },
    });
    const [logGroupId] = Object.keys(logGroups);
    expect(Object.values(logGroups)).toEqual([
      expect.objectContaining({
        DeletionPolicy: 'Retain',
        Properties: expect.objectContaining({ RetentionInDays: 30 }),
      }),
    ]);
    // Created before the cluster, so that RDS does not create it first without a retention.
    template.hasResource('AWS::RDS::DBCluster', { DependsOn: Match.arrayWith([logGroupId]) });
    template.hasResource('AWS::RDS::DBClusterParameterGroup', { DeletionPolicy: 'Retain' });
    const secrets = Object.values(template.findResources('AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(3);
    for (const secret of secrets) expect(secret.DeletionPolicy).toBe('Retain');
  });

  it('attaches every secret to the cluster, so that its host is the writer endpoint', () => {
    const secretNames = Object.values(template.findResources('AWS::SecretsManager::Secret')).map(
      (secret) => secret.Properties.Name as string,
    );
    expect(secretNames.sort()).toEqual([
      `${CLUSTER_ID}/airbyte`,
      `${CLUSTER_ID}/cdc_watchdog`,
      `${CLUSTER_ID}/master`,
    ]);
    const stack = Stack.of(aurora);
    const attachments = Object.values(
      template.findResources('AWS::SecretsManager::SecretTargetAttachment'),
    ).map((attachment) => attachment.Properties);
    expect(attachments).toHaveLength(3);
    for (const secret of [
      aurora.masterSecret,
      aurora.replicationUserSecret,
      aurora.monitoringUserSecret,
    ]) {
      expect(attachments).toContainEqual({
        SecretId: stack.resolve(secret?.secretArn),
        TargetId: { Ref: clusterId },
        TargetType: 'AWS::RDS::DBCluster',
      });
    }
  });

  it('admits no one to the port by default', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp(`^Aurora PostgreSQL ${CLUSTER_ID}`),
      SecurityGroupIngress: Match.absent(),
    });
  });
});

describe('CdcAuroraCluster, Serverless v2 in an environment that destroys its database', () => {
  const { template } = auroraStack({
    readers: 1,
    serverlessV2: { minCapacity: 0.5, maxCapacity: 8 },
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    backupRetention: Duration.days(7),
  });

  it('scales writer and reader between the capacities, the reader with the writer', () => {
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 8 },
      BackupRetentionPeriod: 7,
      DeletionProtection: false,
    });
    const instances = instancesById(template);
    expect(instances[`${CLUSTER_ID}-writer`]).toMatchObject({
      DBInstanceClass: 'db.serverless',
      PromotionTier: 0,
    });
    // Tier 1 is the tier whose serverless readers follow the writer's capacity.
    expect(instances[`${CLUSTER_ID}-reader-1`]).toMatchObject({
      DBInstanceClass: 'db.serverless',
      PromotionTier: 1,
    });
  });

  it('destroys the cluster with its secrets, log group and parameter group', () => {
    template.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Delete' });
    for (const type of [
      'AWS::SecretsManager::Secret',
      'AWS::RDS::DBClusterParameterGroup',
      'AWS::RDS::DBInstance',
    ]) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.DeletionPolicy).toBe('Delete');
      }
    }
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Delete',
      Properties: { LogGroupName: `/aws/rds/cluster/${CLUSTER_ID}/postgresql` },
    });
  });
});

describe('CdcAuroraCluster props', () => {
  it('uses the given provisioned class, port and CIDRs', () => {
    const { template } = auroraStack({
      instanceType: new ec2.InstanceType('r7g.large'),
      port: 6432,
      allowedCidrs: ['10.20.0.0/16'],
    });
    expect(instancesById(template)[`${CLUSTER_ID}-writer`].DBInstanceClass).toBe('db.r7g.large');
    template.hasResourceProperties('AWS::RDS::DBCluster', { Port: 6432 });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.20.0.0/16', FromPort: 6432 })],
    });
  });

  it.each(['14', '15', '16', '17', '18'])(
    'names the cluster parameter group family after major %s',
    (major) => {
      const { template, aurora } = auroraStack({
        engineVersion: rds.AuroraPostgresEngineVersion.of(major, major),
      });
      template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
        Family: `aurora-postgresql${major}`,
      });
      template.hasResourceProperties('AWS::RDS::DBCluster', { EngineVersion: major });
      expect(aurora.engineMajorVersion).toBe(major);
    },
  );

  it('takes the major of a full version', () => {
    const { template } = auroraStack({
      engineVersion: rds.AuroraPostgresEngineVersion.VER_16_4,
    });
    template.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Family: 'aurora-postgresql16',
    });
  });

  it.each([-1, 1.5, 16])('refuses %s readers, naming the construct', (readers) => {
    expect(() => auroraStack({ readers })).toThrow(
      /^Aurora\/Database: readers is .* 0 to 15 readers/,
    );
  });
});

describe('CdcAuroraCluster findings', () => {
  const variants: [string, Overrides][] = [
    ['provisioned, protected', { readers: 1 }],
    [
      'serverless v2, unprotected',
      {
        readers: 1,
        serverlessV2: { minCapacity: 0.5, maxCapacity: 4 },
        deletionProtection: false,
        removalPolicy: RemovalPolicy.DESTROY,
        monitoringUsername: 'cdc_watchdog',
      },
    ],
    ['public', { publiclyAccessible: true, allowedCidrs: ['203.0.113.0/24'] }],
  ];

  it.each(variants)('passes cdk-nag AwsSolutions: %s', (_, overrides) => {
    expect(nagFindings(auroraStack(overrides).stack)).toEqual([]);
  });

  it('reports a violation that is not acknowledged (the check is live)', () => {
    const { stack, aurora } = auroraStack();
    (aurora.cluster.node.defaultChild as rds.CfnDBCluster).storageEncrypted = false;
    expect(nagFindings(stack)).toEqual([expect.stringMatching(/^AwsSolutions-RDS2 /)]);
  });

  it.each(variants)('passes the CloudFormation validation: %s', (_, overrides) => {
    expect(validationFindings(overrides)).toEqual([]);
  });

  it('has the validation report a public instance it was not told about (the check is live)', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-aurora-'));
    // The synth prints the finding it is expected to find.
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const app = new App({ outdir });
      const { aurora } = buildAurora({}, app);
      // Made public behind the construct's back, so without its acknowledgement.
      const writer = aurora.cluster.node.findChild('Writer').node.defaultChild as rds.CfnDBInstance;
      writer.publiclyAccessible = true;
      app.synth();
      expect(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')).toContain('W9011');
    } finally {
      printed.mockRestore();
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
