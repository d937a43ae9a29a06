import type { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StackOutputs } from '../../src/contract/outputs';
import type { EnvironmentInput } from '../../src/config';
import {
  CDK_JSON_ENVIRONMENTS,
  synthesizeAndValidateEnvironment,
  synthesizeEnvironment,
} from '../support/stacks';

/** The one resource of a type, with its logical id. */
function onlyResource(template: Template, type: string): [string, Record<string, unknown>] {
  const resources = Object.entries(template.findResources(type));
  expect(resources).toHaveLength(1);
  return resources[0] as [string, Record<string, unknown>];
}

/** Every IAM statement of the stack's policies. */
function statements(template: Template): { Action: string | string[]; Resource: unknown }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement,
  );
}

/** Statements that grant one of these RDS actions. */
function rdsStatements(template: Template, action: string) {
  return statements(template).filter((statement) => [statement.Action].flat().includes(action));
}

/** cdk-nag AwsSolutions' unacknowledged violations of a stack, by rule and resource. */
function nagViolations(stack: Stack): string[] {
  return new AwsSolutionsChecks()
    .validateScope(stack)
    .violations.map(
      (violation) =>
        `${violation.ruleName} ${violation.violatingResources.map((resource) => resource.resourceLogicalId)}`,
    );
}

describe('aurora (cdk.json): a new Aurora PostgreSQL cluster', () => {
  const { stack, template, validationFindings } = synthesizeAndValidateEnvironment('aurora');
  const [clusterId, cluster] = onlyResource(template, 'AWS::RDS::DBCluster');

  it('attaches a DB cluster parameter group with logical replication and forced SSL at creation', () => {
    const [groupId, group] = onlyResource(template, 'AWS::RDS::DBClusterParameterGroup');
    expect(group.Properties).toMatchObject({
      Family: 'aurora-postgresql17',
      Parameters: expect.objectContaining({
        'rds.logical_replication': '1',
        'rds.force_ssl': '1',
      }),
    });
    expect(cluster.Properties).toMatchObject({
      Engine: 'aurora-postgresql',
      DBClusterParameterGroupName: { Ref: groupId },
      StorageEncrypted: true,
    });
    // No instance parameter group can turn logical replication on for Aurora.
    expect(template.findResources('AWS::RDS::DBParameterGroup')).toEqual({});
  });

  it('has a writer and the configured reader, Serverless v2 between the configured ACUs', () => {
    const instances = Object.values(template.findResources('AWS::RDS::DBInstance'));
    expect(instances).toHaveLength(1 + Number(CDK_JSON_ENVIRONMENTS.aurora.database?.readers));
    for (const instance of instances) {
      expect(instance.Properties).toMatchObject({
        DBClusterIdentifier: { Ref: clusterId },
        DBInstanceClass: 'db.serverless',
      });
    }
    expect(cluster.Properties).toMatchObject({
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
    });
  });

  it('runs the replication setup on the writer endpoint, found through the cluster APIs', () => {
    const [, setup] = onlyResource(template, 'Custom::ReplicationSetup');
    expect(setup.Properties).toMatchObject({
      DbClusterIdentifier: { Ref: clusterId },
      Host: { 'Fn::GetAtt': [clusterId, 'Endpoint.Address'] },
    });
    expect(setup.Properties).not.toHaveProperty('DbInstanceIdentifier');
    const [, check] = onlyResource(template, 'Custom::PreUpgradeCheck');
    expect(check.Properties).toMatchObject({ DbClusterIdentifier: 'rds-airbyte-cdc-aurora' });
    const describe = rdsStatements(template, 'rds:DescribeDBClusters');
    expect(describe.length).toBeGreaterThan(0);
    for (const statement of describe) {
      expect(JSON.stringify(statement.Resource)).toMatch(
        new RegExp(`:cluster:(",\\{"Ref":"${clusterId}"\\}|rds-airbyte-cdc-aurora)`),
      );
    }
  });

  it('points the outputs at the writer (cluster) endpoint', () => {
    template.hasOutput(StackOutputs.databaseEndpoint, {
      Value: { 'Fn::GetAtt': [clusterId, 'Endpoint.Address'] },
    });
    template.hasOutput(StackOutputs.databasePort, {
      Value: { 'Fn::GetAtt': [clusterId, 'Endpoint.Port'] },
    });
  });

  it('makes the cluster wait for the pre-upgrade check', () => {
    const [checkId] = onlyResource(template, 'Custom::PreUpgradeCheck');
    expect(template.findResources('AWS::RDS::DBCluster')[clusterId].DependsOn).toEqual(
      expect.arrayContaining([checkId]),
    );
  });

  it('alarms on the Aurora replication metrics of the writer and never on FreeStorageSpace', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties,
    );
    const names = alarms.map((alarm) => alarm.MetricName).filter(Boolean);
    expect(names).toEqual(
      expect.arrayContaining([
        'OldestReplicationSlotLag',
        'ReplicationSlotDiskUsage',
        'TransactionLogsDiskUsage',
        'FreeLocalStorage',
      ]),
    );
    expect(names).not.toContain('FreeStorageSpace');
    for (const alarm of alarms.filter((each) => each.Namespace === 'AWS/RDS')) {
      expect(alarm.Dimensions).toEqual(
        expect.arrayContaining([{ Name: 'DBClusterIdentifier', Value: { Ref: clusterId } }]),
      );
    }
  });

  it('passes the CloudFormation validation and cdk-nag', () => {
    expect(validationFindings).toEqual([]);
    expect(nagViolations(stack)).toEqual([]);
  });
});

describe('existing (cdk.json): an RDS instance the stack does not own', () => {
  const { stack, template, validationFindings } = synthesizeAndValidateEnvironment('existing');
  const existing = CDK_JSON_ENVIRONMENTS.existing.database?.existing;

  it('creates no database and no parameter group', () => {
    for (const type of [
      'AWS::RDS::DBInstance',
      'AWS::RDS::DBCluster',
      'AWS::RDS::DBParameterGroup',
      'AWS::RDS::DBClusterParameterGroup',
      'AWS::RDS::DBSubnetGroup',
      'Custom::PreUpgradeCheck',
    ]) {
      expect(Object.keys(template.findResources(type))).toEqual([]);
    }
  });

  it("admits the stack's functions with ingress rules on the database's security group", () => {
    const rules = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map(
      (rule) => rule.Properties,
    );
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule).toMatchObject({
        GroupId: existing?.securityGroupId,
        FromPort: 5432,
        ToPort: 5432,
        SourceSecurityGroupId: { 'Fn::GetAtt': [expect.any(String), 'GroupId'] },
      });
    }
  });

  it('runs the replication setup on the looked-up endpoint, marked as existing', () => {
    const [lookupId] = onlyResource(template, 'Custom::ExistingDatabaseLookup');
    const [, setup] = onlyResource(template, 'Custom::ReplicationSetup');
    expect(setup.Properties).toMatchObject({
      DbInstanceIdentifier: existing?.instanceIdentifier,
      ExistingDatabase: 'true',
      Host: { 'Fn::GetAtt': [lookupId, 'DBInstances.0.Endpoint.Address'] },
      MasterSecretArn: existing?.masterSecretArn,
      RemovalPolicy: 'retain',
    });
    expect(setup.Properties).not.toHaveProperty('DropActiveSlotOnDelete');
  });

  it('may describe that instance only, and never reboot it', () => {
    const describe = rdsStatements(template, 'rds:DescribeDBInstances');
    expect(describe.length).toBeGreaterThan(0);
    for (const statement of describe) {
      expect(JSON.stringify(statement.Resource)).toContain(`:db:${existing?.instanceIdentifier}`);
    }
    expect(rdsStatements(template, 'rds:RebootDBInstance')).toEqual([]);
    expect(rdsStatements(template, 'rds:ModifyDBInstance')).toEqual([]);
  });

  it('lets its own secrets go with the stack, since destroy drops their roles', () => {
    for (const secret of Object.values(template.findResources('AWS::SecretsManager::Secret'))) {
      expect(secret.DeletionPolicy).toBe('Delete');
    }
  });

  it('passes the CloudFormation validation and cdk-nag', () => {
    expect(validationFindings).toEqual([]);
    expect(nagViolations(stack)).toEqual([]);
  });
});

describe('an existing Aurora cluster', () => {
  const raw: EnvironmentInput = {
    ...CDK_JSON_ENVIRONMENTS.existing,
    database: {
      engine: 'aurora-postgresql',
      existing: {
        clusterIdentifier: 'orders-cluster',
        masterSecretArn:
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e-AbCdEf',
        securityGroupId: 'sg-0a1b2c3d4e5f60718',
        dropActiveSlotOnDestroy: true,
      },
    },
  };
  const { stack, template } = synthesizeEnvironment('orders', raw);

  it('passes cdk-nag', () => {
    expect(nagViolations(stack)).toEqual([]);
  });

  it('describes the cluster (never an instance), and passes the opt-in to drop an active slot', () => {
    const [lookupId, lookup] = onlyResource(template, 'Custom::ExistingDatabaseLookup');
    expect(JSON.stringify(lookup.Properties)).toContain('describeDBClusters');
    const [, setup] = onlyResource(template, 'Custom::ReplicationSetup');
    expect(setup.Properties).toMatchObject({
      DbClusterIdentifier: 'orders-cluster',
      Host: { 'Fn::GetAtt': [lookupId, 'DBClusters.0.Endpoint'] },
      DropActiveSlotOnDelete: 'true',
    });
    for (const statement of rdsStatements(template, 'rds:DescribeDBClusters')) {
      expect(JSON.stringify(statement.Resource)).toContain(':cluster:orders-cluster');
    }
    expect(rdsStatements(template, 'rds:RebootDBInstance')).toEqual([]);
  });

  it('watches the writer of that cluster', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties,
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        MetricName: 'OldestReplicationSlotLag',
        Dimensions: expect.arrayContaining([
          { Name: 'DBClusterIdentifier', Value: 'orders-cluster' },
        ]),
      }),
    );
  });
});

describe('the instance shape keeps its template', () => {
  it('writes DbInstanceIdentifier and no cluster or existing-database property', () => {
    const { template } = synthesizeEnvironment('dev');
    const [, setup] = onlyResource(template, 'Custom::ReplicationSetup');
    const [instanceId] = onlyResource(template, 'AWS::RDS::DBInstance');
    expect(setup.Properties).toMatchObject({ DbInstanceIdentifier: { Ref: instanceId } });
    for (const property of ['DbClusterIdentifier', 'ExistingDatabase', 'DropActiveSlotOnDelete']) {
      expect(setup.Properties).not.toHaveProperty(property);
    }
    expect(Object.keys(template.findResources('Custom::ExistingDatabaseLookup'))).toEqual([]);
  });
});
