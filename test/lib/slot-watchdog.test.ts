import { CdcDatabase } from '../../lib/cdc-database';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseEnvironments, type EnvironmentConfig, type EnvironmentInput } from '../../src/config';
import { WATCHDOG_NAMESPACE, WATCHDOG_VARIABLES } from '../../src/watchdog';
import type { RdsAirbyteCdcStack } from '../../lib/rds-airbyte-cdc-stack';
import type { WatchdogAlarmId } from '../../lib/slot-watchdog';
import {
  CDK_JSON_ENVIRONMENTS,
  synthesizeEnvironment,
  databaseInstanceOf,
} from '../support/stacks';

const GIB = 1024 ** 3;

function configOf(name: string, raw: EnvironmentInput): EnvironmentConfig {
  return parseEnvironments({ [name]: raw }, name)[0];
}

function logicalId(stack: RdsAirbyteCdcStack, construct: { node: { defaultChild?: unknown } }) {
  return stack.getLogicalId(
    construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
  );
}

/** The alarms in the watchdog's namespace (the RDS alarms are in AWS/RDS). */
function namespaceAlarms(template: Template) {
  return template.findResources('AWS::CloudWatch::Alarm', {
    Properties: { Namespace: WATCHDOG_NAMESPACE },
  });
}

/** The watchdog's alarms in the template by rule id (two of them watch one metric). */
function watchdogAlarms(
  stack: RdsAirbyteCdcStack,
  template: Template,
): Partial<Record<WatchdogAlarmId, Record<string, unknown>>> {
  const resources = namespaceAlarms(template);
  return Object.fromEntries(
    Object.entries(stack.slotWatchdog?.alarms ?? {}).map(([id, alarm]) => [
      id,
      resources[logicalId(stack, alarm)].Properties,
    ]),
  );
}

/**
 * What each alarm must be, written out from the configuration (not through the rules' own
 * fields and threshold functions, so that a rule deciding the wrong way fails here).
 */
function expectedAlarms(
  config: EnvironmentConfig,
  inactiveSeconds: number,
): Record<WatchdogAlarmId, Record<string, unknown>> {
  const { monitoring, replication } = config;
  const quietWhenMissing = { TreatMissingData: 'notBreaching' };
  return {
    'slot-missing': {
      MetricName: 'SlotExists',
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      ...quietWhenMissing,
    },
    'wal-status-not-reserved': {
      MetricName: 'SlotWalStatus',
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      ...quietWhenMissing,
    },
    'safe-wal-size-low': {
      MetricName: 'SlotSafeWalSizeBytes',
      Statistic: 'Minimum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: Math.floor(
        replication.maxSlotWalKeepSizeGiB * GIB * monitoring.slotSafeWalSizeFraction,
      ),
      ...quietWhenMissing,
    },
    'inactive-too-long': {
      MetricName: 'SlotInactiveSeconds',
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: inactiveSeconds,
      ...quietWhenMissing,
    },
    'watchdog-connection-failed': {
      MetricName: 'WatchdogConnectionFailed',
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      ...quietWhenMissing,
    },
    // Every run that publishes sends WatchdogConnectionFailed: a period without a sample of it
    // is a watchdog that did not run, crashed or could not publish.
    'watchdog-not-reporting': {
      MetricName: 'WatchdogConnectionFailed',
      Statistic: 'SampleCount',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    },
  };
}

describe.each(Object.keys(CDK_JSON_ENVIRONMENTS))('the slot watchdog in %s', (name) => {
  const { stack, template } = synthesizeEnvironment(name);
  const config = configOf(name, CDK_JSON_ENVIRONMENTS[name]);
  // The template's JSON, untyped as CloudFormation's is: each test asserts the shape it reads.
  const resources = template.toJSON().Resources;
  const watchdog = stack.slotWatchdog!;
  const functionId = logicalId(stack, watchdog.handler);
  const fn = resources[functionId];

  it('exists: monitoring and the watchdog are on in cdk.json', () => {
    expect(config.monitoring.enabled && config.monitoring.watchdog).toBe(true);
    expect(fn).toBeDefined();
  });

  it('runs on the configured schedule, without retries', () => {
    const minutes = config.monitoring.watchdogScheduleMinutes;
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId },
      MaximumRetryAttempts: 0,
    });
  });

  it('runs in the replication setup function subnets, admitted to the database port', () => {
    const setup = resources[logicalId(stack, stack.replicationSetup.handler)];
    expect(fn.Properties.Timeout).toBe(30);
    expect(fn.Properties.VpcConfig.SubnetIds).toEqual(setup.Properties.VpcConfig.SubnetIds);
    // The isolated subnets of the stack's VPC, or those listed for an existing one.
    expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/IsolatedSubnet|subnet-/);
    const [groupId] = fn.Properties.VpcConfig.SecurityGroupIds.map(
      (ref: { 'Fn::GetAtt': [string] }) => ref['Fn::GetAtt'][0],
    );
    expect(groupId).not.toEqual(setup.Properties.VpcConfig.SecurityGroupIds[0]['Fn::GetAtt'][0]);
    const admitted = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .map((rule) => rule.Properties)
      .filter(
        (rule) =>
          rule.SourceSecurityGroupId?.['Fn::GetAtt']?.[0] === groupId &&
          rule.Description === 'Slot watchdog function',
      );
    expect(admitted).toHaveLength(1);
    if (stack.database instanceof CdcDatabase) {
      const databaseGroup = databaseInstanceOf(stack).connections.securityGroups[0];
      expect(admitted[0]).toMatchObject({
        GroupId: { 'Fn::GetAtt': [logicalId(stack, databaseGroup), 'GroupId'] },
        FromPort: { 'Fn::GetAtt': [logicalId(stack, databaseInstanceOf(stack)), 'Endpoint.Port'] },
      });
    } else {
      // The database's own group: the cluster's, or the one given for an existing database.
      expect(admitted[0].GroupId).toBeDefined();
      expect(JSON.stringify(admitted[0].GroupId)).not.toContain(groupId);
    }
  });

  it('is told the slot, the environment and the secret of its own role', () => {
    const variables = fn.Properties.Environment.Variables;
    expect(variables).toMatchObject({
      [WATCHDOG_VARIABLES.slotName]: config.replication.slotName,
      [WATCHDOG_VARIABLES.database]: config.database.databaseName,
      [WATCHDOG_VARIABLES.environment]: name,
      [WATCHDOG_VARIABLES.namespace]: WATCHDOG_NAMESPACE,
      [WATCHDOG_VARIABLES.secretArn]: {
        Ref: logicalId(stack, stack.database.monitoringUserSecret!),
      },
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    });
  });

  it('may publish metrics to its namespace only, and read its login secret', () => {
    const roleId = fn.Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: roleId }] },
      }),
    ).flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const publish = statements.filter((statement) =>
      [statement.Action].flat().includes('cloudwatch:PutMetricData'),
    );
    expect(publish).toEqual([
      expect.objectContaining({
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': WATCHDOG_NAMESPACE } },
      }),
    ]);
    const read = statements.find((statement) =>
      [statement.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    // Its own secret only: never the replication user's, which can read every published row.
    expect(read.Resource).toEqual({ Ref: logicalId(stack, stack.database.monitoringUserSecret!) });
  });

  it('has one alarm per rule, its threshold derived from the configuration', () => {
    const alarms = watchdogAlarms(stack, template);
    // cdk.json keeps the hourly default schedule: three missed syncs of an hour.
    expect(config.airbyte.schedule).toBe('0 0 * * * ?');
    const expected = expectedAlarms(config, 3 * 3600);
    expect(Object.keys(alarms).sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(namespaceAlarms(template))).toHaveLength(Object.keys(expected).length);
    const topic = { Ref: logicalId(stack, stack.monitoring!.topic) };
    // Three runs, but ten one-minute runs for the connection alarm: an RDS reboot or a
    // Multi-AZ failover, unreachable for a few minutes, must not page anyone.
    const runsOf = (id: string): number => (id === 'watchdog-connection-failed' ? 10 : 3);
    for (const [id, properties] of Object.entries(expected)) {
      expect(alarms[id as WatchdogAlarmId]).toMatchObject({
        ...properties,
        Period: config.monitoring.watchdogScheduleMinutes * 60,
        EvaluationPeriods: runsOf(id),
        DatapointsToAlarm: runsOf(id),
        Dimensions: [{ Name: 'Environment', Value: name }],
        AlarmActions: [topic],
        OKActions: [topic],
      });
    }
  });

  it('shows its metrics on the dashboard beside the RDS ones', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of [
      'SlotSafeWalSizeBytes',
      'SlotInactiveSeconds',
      'OldestReplicationSlotLag',
    ]) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('Slot watchdog alarms');
  });

  it('raises no cdk-nag finding', () => {
    const report = new AwsSolutionsChecks().validateScope(watchdog);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});

describe('a slot watchdog with configured thresholds', () => {
  const raw: EnvironmentInput = {
    ...CDK_JSON_ENVIRONMENTS.prod,
    monitoring: {
      watchdogScheduleMinutes: 5,
      slotInactiveAlarmMinutes: 600,
      slotSafeWalSizeFraction: 0.25,
    },
    replication: { ...CDK_JSON_ENVIRONMENTS.prod.replication, maxSlotWalKeepSizeGiB: 8 },
  };
  const { stack, template } = synthesizeEnvironment('prod', raw);

  it('follows them', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    const alarms = watchdogAlarms(stack, template);
    expect(alarms['safe-wal-size-low']?.Threshold).toBe(2 * GIB);
    expect(alarms['inactive-too-long']?.Threshold).toBe(36000);
    expect(alarms['slot-missing']?.Period).toBe(300);
    expect(alarms['watchdog-not-reporting']?.Period).toBe(300);
    // Three five-minute runs already outlast a reboot's ten minutes' allowance.
    expect(alarms['watchdog-connection-failed']).toMatchObject({
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
  });
});

describe('the inactivity alarm of an environment that syncs daily', () => {
  const daily = (monitoring: EnvironmentInput['monitoring']): EnvironmentInput => ({
    ...CDK_JSON_ENVIRONMENTS.staging,
    airbyte: { schedule: '0 0 2 * * ?' },
    monitoring,
  });

  it('fires after three missed syncs: 3 x 86400 s', () => {
    const { stack, template } = synthesizeEnvironment('staging', daily({}));
    expect(watchdogAlarms(stack, template)['inactive-too-long']?.Threshold).toBe(3 * 86400);
  });

  it('takes an explicit slotInactiveAlarmMinutes over the schedule', () => {
    const { stack, template } = synthesizeEnvironment(
      'staging',
      daily({ slotInactiveAlarmMinutes: 600 }),
    );
    expect(watchdogAlarms(stack, template)['inactive-too-long']?.Threshold).toBe(600 * 60);
  });
});

describe.each([
  ['monitoring.watchdog: false', { watchdog: false }],
  ['monitoring.enabled: false', { enabled: false }],
])('with %s', (_title, monitoring) => {
  const { stack, template } = synthesizeEnvironment('dev', {
    ...CDK_JSON_ENVIRONMENTS.dev,
    monitoring,
  });

  it('has no watchdog function, schedule or alarm', () => {
    expect(stack.slotWatchdog).toBeUndefined();
    template.resourceCountIs('AWS::Events::Rule', 0);
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
    expect(namespaceAlarms(template)).toEqual({});
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect(JSON.stringify(fn.Properties.Environment ?? {})).not.toContain(
        WATCHDOG_VARIABLES.slotName,
      );
    }
  });
});
