import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CdcMonitoring, type CdcMonitoringProps } from '../../lib/cdc-monitoring';
import { ConstructValidationError } from '../../lib/construct-error';
import { monitoringProps } from '../../lib/environment-props';
import { ALARM_TOPIC_OUTPUT } from '../../src/contract/outputs';
import { type EnvironmentConfig, loadEnvironmentFromCdkJson } from '../../src/config';
import { monitoringSchema } from '../../src/config/monitoring';
import {
  appWithoutValidation,
  CDK_JSON_ENVIRONMENTS,
  synthesizeEnvironment,
} from '../support/stacks';

const GIB = 1024 ** 3;

/** A stack holding only an instance and the monitoring, so the tests see nothing else. */
function synthesize(config: EnvironmentConfig) {
  const app = appWithoutValidation();
  const stack = new Stack(app, `Monitoring-${config.name}`);
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const instance = new rds.DatabaseInstance(stack, 'Instance', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    allocatedStorage: config.database.allocatedStorageGiB,
    storageEncrypted: true,
  });
  const monitoring = new CdcMonitoring(stack, 'Monitoring', {
    ...monitoringProps(config),
    allocatedStorageGiB: config.database.allocatedStorageGiB,
    database: instance,
  });
  return { stack, instance, monitoring, template: Template.fromStack(stack) };
}

/** Instance `their-db`, which the stack did not create, imported as another team's would be. */
function theirInstance(stack: Stack): rds.IDatabaseInstance {
  return rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Instance', {
    instanceIdentifier: 'their-db',
    instanceEndpointAddress: 'their-db.abc123.eu-west-1.rds.amazonaws.com',
    port: 5432,
    securityGroups: [],
  });
}

/** A stack holding only an Aurora PostgreSQL cluster (writer and one reader) and the monitoring. */
function synthesizeCluster(props: Partial<CdcMonitoringProps> = {}) {
  const app = appWithoutValidation();
  const stack = new Stack(app, 'Monitoring-aurora');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const cluster = new rds.DatabaseCluster(stack, 'Cluster', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({
      version: rds.AuroraPostgresEngineVersion.VER_17_4,
    }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    writer: rds.ClusterInstance.provisioned('Writer'),
    readers: [rds.ClusterInstance.provisioned('Reader')],
    storageEncrypted: true,
  });
  const monitoring = new CdcMonitoring(stack, 'Monitoring', { database: cluster, ...props });
  return { stack, cluster, monitoring, template: Template.fromStack(stack) };
}

function withMonitoring(name: string, monitoring: Record<string, unknown>): EnvironmentConfig {
  const base = loadEnvironmentFromCdkJson(name);
  return {
    ...base,
    monitoring: {
      slotInactiveAlarmMinutes: base.monitoring.slotInactiveAlarmMinutes,
      ...monitoringSchema.parse(monitoring),
    },
  };
}

/** The alarm on one RDS metric, by metric name. */
function alarmOn(template: Template, metricName: string) {
  const alarms = template.findResources('AWS::CloudWatch::Alarm', {
    Properties: { MetricName: metricName, Namespace: 'AWS/RDS' },
  });
  const entries = Object.values(alarms);
  expect(entries).toHaveLength(1);
  return entries[0].Properties as Record<string, unknown>;
}

describe.each(['dev', 'staging', 'prod'])('CdcMonitoring in %s (cdk.json defaults)', (name) => {
  const config = loadEnvironmentFromCdkJson(name);
  const { template, stack, instance } = synthesize(config);
  const topicRef = { Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') };
  const instanceRef = stack.resolve(instance.instanceIdentifier);

  it('alarms on every CDC-relevant metric with the configured thresholds', () => {
    expect(alarmOn(template, 'OldestReplicationSlotLag')).toMatchObject({
      Threshold: GIB,
      ComparisonOperator: 'GreaterThanThreshold',
      Statistic: 'Maximum',
      TreatMissingData: 'notBreaching',
    });
    expect(alarmOn(template, 'ReplicationSlotDiskUsage')).toMatchObject({ Threshold: 2 * GIB });
    expect(alarmOn(template, 'TransactionLogsDiskUsage')).toMatchObject({ Threshold: 4 * GIB });
    expect(alarmOn(template, 'FreeStorageSpace')).toMatchObject({
      Threshold: Math.round(0.2 * config.database.allocatedStorageGiB * GIB),
      ComparisonOperator: 'LessThanThreshold',
      Statistic: 'Minimum',
    });
    expect(alarmOn(template, 'CPUUtilization')).toMatchObject({
      Threshold: 80,
      Statistic: 'Average',
    });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
  });

  it('watches this instance for 3 periods of 5 minutes and notifies the topic on ALARM and OK', () => {
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'DBInstanceIdentifier', Value: instanceRef }],
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      AlarmActions: [topicRef],
      OKActions: [topicRef],
    });
  });

  it('subscribes the topic to the instance failure, failover and low-storage events', () => {
    template.hasResourceProperties('AWS::RDS::EventSubscription', {
      SnsTopicArn: topicRef,
      SourceType: 'db-instance',
      SourceIds: [instanceRef],
      EventCategories: ['failure', 'failover', 'low storage'],
      Enabled: true,
    });
  });

  it('exports the topic ARN for other subscribers', () => {
    template.hasOutput(ALARM_TOPIC_OUTPUT, { Value: topicRef });
  });

  it('creates a dashboard and no email subscription by default', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: `Monitoring-${name}-cdc`,
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('CdcMonitoring with configured thresholds', () => {
  const config = withMonitoring('prod', {
    alarmEmail: 'oncall@example.com',
    oldestReplicationSlotLagBytes: 512 * 1024 ** 2,
    replicationSlotDiskUsageBytes: 3 * GIB,
    transactionLogsDiskUsageBytes: 6 * GIB,
    freeStorageFraction: 0.15,
    cpuPercent: 90,
    periodMinutes: 1,
    evaluationPeriods: 10,
    eventCategories: ['failure', 'maintenance'],
    dashboard: false,
  });
  const { template } = synthesize(config);

  it('uses every configured threshold and period', () => {
    expect(alarmOn(template, 'OldestReplicationSlotLag')).toMatchObject({
      Threshold: 512 * 1024 ** 2,
    });
    expect(alarmOn(template, 'ReplicationSlotDiskUsage')).toMatchObject({ Threshold: 3 * GIB });
    expect(alarmOn(template, 'TransactionLogsDiskUsage')).toMatchObject({ Threshold: 6 * GIB });
    // prod allocates 100 GiB in cdk.json.
    expect(alarmOn(template, 'FreeStorageSpace')).toMatchObject({
      Threshold: Math.round(0.15 * 100 * GIB),
    });
    expect(alarmOn(template, 'CPUUtilization')).toMatchObject({ Threshold: 90 });
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      Period: 60,
      EvaluationPeriods: 10,
    });
  });

  it('subscribes the email address, forwards the chosen events and skips the dashboard', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    template.hasResourceProperties('AWS::RDS::EventSubscription', {
      EventCategories: ['failure', 'maintenance'],
    });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });
});

describe('CdcMonitoring topic', () => {
  const { template } = synthesize(loadEnvironmentFromCdkJson('dev'));

  it('is encrypted with a rotating key that CloudWatch and RDS may use, and deleted with the stack', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MonitoringTopicKey'), 'Arn'] },
    });
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Delete',
      Properties: {
        EnableKeyRotation: true,
        PendingWindowInDays: 7,
        KeyPolicy: {
          Statement: Match.arrayWith(
            ['cloudwatch.amazonaws.com', 'events.rds.amazonaws.com'].map((service) =>
              Match.objectLike({
                Effect: 'Allow',
                Principal: { Service: service },
                Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              }),
            ),
          ),
        },
      },
    });
  });

  it('refuses plain HTTP and lets only this account’s CloudWatch and RDS publish', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          ...['cloudwatch.amazonaws.com', 'events.rds.amazonaws.com'].map((service) =>
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: service },
              Action: 'sns:Publish',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            }),
          ),
        ]),
      },
    });
  });

  it('passes the cdk-nag AwsSolutions checks', () => {
    // Only the construct: the bare test instance has findings of its own.
    const { monitoring } = synthesize(loadEnvironmentFromCdkJson('dev'));
    const report = new AwsSolutionsChecks().validateScope(monitoring);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('CdcMonitoring validation', () => {
  it('refuses a lag threshold at or above max_slot_wal_keep_size, naming both fields', () => {
    const config = withMonitoring('dev', {
      oldestReplicationSlotLagBytes: 4 * GIB,
      replicationSlotDiskUsageBytes: 8 * GIB,
    });
    expect(() => synthesize(config)).toThrow(
      /monitoring\.oldestReplicationSlotLagBytes \(4294967296\) must be below replication\.maxSlotWalKeepSizeGiB \(4 GiB/,
    );
  });

  it('refuses props it cannot build alarms from, naming the construct’s path', () => {
    const base = loadEnvironmentFromCdkJson('dev');
    const config = { ...base, database: { ...base.database, allocatedStorageGiB: 0 } };
    expect(() => synthesize(config)).toThrow(ConstructValidationError);
    expect(() => synthesize(config)).toThrow(
      /^Monitoring-dev\/Monitoring: allocatedStorageGiB must be a positive number, got 0$/,
    );
  });

  it('refuses event categories the instance’s subscription would reject, naming the valid ones', () => {
    const stack = new Stack(appWithoutValidation(), 'Monitoring-categories');
    const instance = theirInstance(stack);
    const build = () =>
      new CdcMonitoring(stack, 'Monitoring', {
        database: instance,
        eventCategories: ['failure', 'global failover'],
      });
    expect(build).toThrow(
      /eventCategories: "global failover" is not an event category of an RDS DB instance \(db-instance\); valid: "availability"/,
    );
  });

  it('rejects bad monitoring configuration with the offending field named', () => {
    const result = monitoringSchema.safeParse({
      alarmEmail: 'not-an-address',
      freeStorageFraction: 1.5,
      eventCategories: ['fire'],
      oldestReplicationSlotLagBytes: 3 * GIB,
    });
    expect(result.success).toBe(false);
    const fields = result.error!.issues.map((issue) => issue.path.join('.'));
    expect(fields).toEqual(
      expect.arrayContaining(['alarmEmail', 'freeStorageFraction', 'eventCategories.0']),
    );
  });

  it('rejects a lag threshold above the slot disk usage threshold', () => {
    const result = monitoringSchema.safeParse({ oldestReplicationSlotLagBytes: 3 * GIB });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]).toMatchObject({
      path: ['oldestReplicationSlotLagBytes'],
      message: expect.stringContaining('must not exceed replicationSlotDiskUsageBytes'),
    });
  });
});

describe.each(['dev', 'staging', 'prod'])('the %s stack', (name) => {
  const { template } = synthesizeEnvironment(name);
  const config = loadEnvironmentFromCdkJson(name);

  it('alarms on its own instance and notifies its topic', () => {
    // The slot watchdog's alarms (test/lib/slot-watchdog.test.ts) are in their own namespace.
    const rdsAlarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { Namespace: 'AWS/RDS' } }),
    );
    expect(rdsAlarms).toHaveLength(5);
    for (const alarm of rdsAlarms) {
      expect(alarm.Properties).toMatchObject({
        Dimensions: [
          {
            Name: 'DBInstanceIdentifier',
            Value: { Ref: expect.stringMatching(/^DatabaseInstance/) },
          },
        ],
        AlarmActions: [{ Ref: expect.stringMatching(/^MonitoringAlarmTopic/) }],
      });
    }
    expect(alarmOn(template, 'FreeStorageSpace')).toMatchObject({
      Threshold: Math.round(
        config.monitoring.freeStorageFraction * config.database.allocatedStorageGiB * GIB,
      ),
    });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: `RdsAirbyteCdc-${name}-cdc`,
    });
  });
});

describe('a stack with monitoring turned off', () => {
  it('has no alarm, topic, event subscription or dashboard', () => {
    const { template } = synthesizeEnvironment('dev', {
      ...CDK_JSON_ENVIRONMENTS.dev,
      monitoring: { enabled: false },
    });
    for (const type of [
      'AWS::CloudWatch::Alarm',
      'AWS::SNS::Topic',
      'AWS::RDS::EventSubscription',
      'AWS::CloudWatch::Dashboard',
    ]) {
      template.resourceCountIs(type, 0);
    }
  });
});

describe('CdcMonitoring of an instance whose storage is looked up at deploy time', () => {
  const app = appWithoutValidation();
  const stack = new Stack(app, 'Monitoring-existing');
  const instance = theirInstance(stack);
  // Stands in for the lookup: any number token, resolved by CloudFormation.
  const allocated = new CfnParameter(stack, 'AllocatedStorage', { type: 'Number' });
  new CdcMonitoring(stack, 'Monitoring', {
    database: instance,
    allocatedStorageGiB: allocated.valueAsNumber,
    freeStorageFraction: 0.25,
  });
  const template = Template.fromStack(stack);

  it('alarms on FreeStorageSpace as a fraction of the allocation, computed by metric math', () => {
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { Threshold: 0.25, ComparisonOperator: 'LessThanThreshold' },
      }),
    );
    expect(alarms).toHaveLength(1);
    const metrics = alarms[0].Properties.Metrics as Record<string, unknown>[];
    expect(metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Expression: {
            'Fn::Join': ['', ['freeStorageSpace / (', { Ref: 'AllocatedStorage' }, ` * ${GIB})`]],
          },
        }),
        expect.objectContaining({
          Id: 'freeStorageSpace',
          ReturnData: false,
          MetricStat: expect.objectContaining({
            Metric: {
              Namespace: 'AWS/RDS',
              MetricName: 'FreeStorageSpace',
              Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'their-db' }],
            },
            Stat: 'Minimum',
          }),
        }),
      ]),
    );
  });

  it('keeps the other four alarms on the instance itself', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    for (const metricName of [
      'OldestReplicationSlotLag',
      'ReplicationSlotDiskUsage',
      'TransactionLogsDiskUsage',
      'CPUUtilization',
    ]) {
      expect(alarmOn(template, metricName)).toMatchObject({
        Dimensions: [{ Name: 'DBInstanceIdentifier', Value: 'their-db' }],
      });
    }
  });
});

describe('CdcMonitoring of an instance of unknown storage', () => {
  it('creates no free-storage alarm', () => {
    const app = appWithoutValidation();
    const stack = new Stack(app, 'Monitoring-unknown');
    const instance = theirInstance(stack);
    new CdcMonitoring(stack, 'Monitoring', { database: instance });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    expect(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'FreeStorageSpace' },
      }),
    ).toEqual({});
  });
});

describe('CdcMonitoring of an Aurora cluster', () => {
  const { template, stack, cluster, monitoring } = synthesizeCluster();
  const clusterRef = stack.resolve(cluster.clusterIdentifier);
  const topicRef = { Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') };

  it('alarms on the writer’s slot, WAL, local storage and CPU, whichever instance is the writer', () => {
    expect(alarmOn(template, 'OldestReplicationSlotLag')).toMatchObject({ Threshold: GIB });
    expect(alarmOn(template, 'ReplicationSlotDiskUsage')).toMatchObject({ Threshold: 2 * GIB });
    expect(alarmOn(template, 'TransactionLogsDiskUsage')).toMatchObject({ Threshold: 4 * GIB });
    expect(alarmOn(template, 'FreeLocalStorage')).toMatchObject({
      Threshold: 2 * GIB,
      ComparisonOperator: 'LessThanThreshold',
      Statistic: 'Minimum',
    });
    expect(alarmOn(template, 'CPUUtilization')).toMatchObject({ Threshold: 80 });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [
        { Name: 'DBClusterIdentifier', Value: clusterRef },
        { Name: 'Role', Value: 'WRITER' },
      ],
      AlarmActions: [topicRef],
    });
    expect(Object.keys(monitoring.alarms).sort()).toEqual([
      'CPUUtilization',
      'FreeLocalStorage',
      'OldestReplicationSlotLag',
      'ReplicationSlotDiskUsage',
      'TransactionLogsDiskUsage',
    ]);
  });

  it('has no FreeStorageSpace alarm: the cluster volume grows by itself', () => {
    expect(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'FreeStorageSpace' },
      }),
    ).toEqual({});
  });

  it('subscribes the topic to the cluster’s failure and failover events', () => {
    template.resourceCountIs('AWS::RDS::EventSubscription', 1);
    template.hasResourceProperties('AWS::RDS::EventSubscription', {
      SnsTopicArn: topicRef,
      SourceType: 'db-cluster',
      SourceIds: [clusterRef],
      EventCategories: ['failure', 'failover'],
    });
  });

  it('uses the configured local-storage threshold and cluster event categories', () => {
    const configured = synthesizeCluster({
      freeLocalStorageBytes: 5 * GIB,
      eventCategories: ['failover', 'maintenance', 'notification'],
    }).template;
    expect(alarmOn(configured, 'FreeLocalStorage')).toMatchObject({ Threshold: 5 * GIB });
    configured.hasResourceProperties('AWS::RDS::EventSubscription', {
      EventCategories: ['failover', 'maintenance', 'notification'],
    });
  });

  it('passes the cdk-nag AwsSolutions checks', () => {
    const report = new AwsSolutionsChecks().validateScope(monitoring);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  it('refuses an allocated storage and instance-only event categories', () => {
    expect(() => synthesizeCluster({ allocatedStorageGiB: 100 })).toThrow(
      /^Monitoring-aurora\/Monitoring: allocatedStorageGiB applies to an RDS instance only/,
    );
    expect(() => synthesizeCluster({ eventCategories: ['failure', 'low storage'] })).toThrow(
      /eventCategories: "low storage" is not an event category of an Aurora DB cluster \(db-cluster\); valid: "configuration change", "creation", "deletion", "failover", "failure", "maintenance", "notification"$/,
    );
  });
});
