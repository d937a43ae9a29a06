import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExistingCdcDatabase, type ExistingCdcDatabaseProps } from '../../lib/existing-database';
import type { DatabaseReference } from '../../src/contract/database';

const MASTER_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-4f3c2a1b-9d8e-4c7b-a6f5-0e1d2c3b4a59-Xy1AbC';

/** A stack holding only the construct, on an imported VPC, and a peer admitted to it. */
function build(database: DatabaseReference, overrides: Partial<ExistingCdcDatabaseProps> = {}) {
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'Existing', {
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    isolatedSubnetIds: ['subnet-0a1b2c3d4e5f60711', 'subnet-0a1b2c3d4e5f60722'],
  });
  const existing = new ExistingCdcDatabase(stack, 'Database', {
    database,
    masterSecretArn: MASTER_SECRET_ARN,
    securityGroupId: 'sg-0a1b2c3d4e5f60718',
    vpc,
    replicationUsername: 'airbyte',
    monitoringUsername: 'airbyte_watchdog',
    ...overrides,
  });
  const peer = new ec2.SecurityGroup(stack, 'Peer', { vpc, allowAllOutbound: false });
  existing.database.connections.allowDefaultPortFrom(peer, 'peer');
  return { stack, existing, template: Template.fromStack(stack) };
}

describe('ExistingCdcDatabase', () => {
  const instance = build({ kind: 'instance', identifier: 'orders-db' });
  const cluster = build({ kind: 'cluster', identifier: 'orders-cluster' }, { port: 6432 });

  it('creates no database, parameter group or security group of its own', () => {
    for (const { template } of [instance, cluster]) {
      for (const type of [
        'AWS::RDS::DBInstance',
        'AWS::RDS::DBCluster',
        'AWS::RDS::DBParameterGroup',
        'AWS::RDS::DBClusterParameterGroup',
        'AWS::EC2::SecurityGroup',
      ]) {
        const own = Object.keys(template.findResources(type)).filter(
          (id) => !id.startsWith('Peer'),
        );
        expect(own).toEqual([]);
      }
    }
  });

  it("admits peers with an ingress rule on the database's own security group, on its port", () => {
    instance.template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: 'sg-0a1b2c3d4e5f60718',
      FromPort: 5432,
      ToPort: 5432,
    });
    cluster.template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: 'sg-0a1b2c3d4e5f60718',
      FromPort: 6432,
      ToPort: 6432,
    });
  });

  it('looks the endpoint up with a Describe scoped to that database, and nothing else', () => {
    const lookups = (template: Template) =>
      Object.values(template.findResources('Custom::ExistingDatabaseLookup'));
    expect(JSON.stringify(lookups(instance.template))).toContain('describeDBInstances');
    expect(JSON.stringify(lookups(cluster.template))).toContain('describeDBClusters');
    const actionsOf = (template: Template): { actions: string[]; resource: string }[] =>
      Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
        policy.Properties.PolicyDocument.Statement.map(
          (statement: { Action: string | string[]; Resource: unknown }) => ({
            actions: [statement.Action].flat(),
            resource: JSON.stringify(statement.Resource),
          }),
        ),
      );
    const rds = (template: Template) =>
      actionsOf(template).filter((statement) =>
        statement.actions.some((action) => action.startsWith('rds:')),
      );
    expect(rds(instance.template)).toEqual([
      { actions: ['rds:DescribeDBInstances'], resource: expect.stringContaining(':db:orders-db') },
    ]);
    expect(rds(cluster.template)).toEqual([
      {
        actions: ['rds:DescribeDBClusters'],
        resource: expect.stringContaining(':cluster:orders-cluster'),
      },
    ]);
  });

  it("attaches the login secrets to the database, so that they hold its host; the master's is imported", () => {
    instance.template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    instance.template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
      TargetType: 'AWS::RDS::DBInstance',
      TargetId: 'orders-db',
    });
    cluster.template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
      TargetType: 'AWS::RDS::DBCluster',
      TargetId: 'orders-cluster',
    });
    expect(instance.existing.masterSecret.secretArn).toBe(MASTER_SECRET_ARN);
    for (const secret of Object.values(
      instance.template.findResources('AWS::SecretsManager::Secret'),
    )) {
      expect(secret.DeletionPolicy).toBe('Delete');
    }
  });

  it("reports an instance's storage as a deploy-time value, and none for a cluster", () => {
    expect(instance.existing.allocatedStorageGiB).toBeDefined();
    expect(instance.stack.resolve(instance.existing.allocatedStorageGiB)).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^DatabaseLookup/), 'DBInstances.0.AllocatedStorage'],
    });
    expect(cluster.existing.allocatedStorageGiB).toBeUndefined();
  });

  it('passes cdk-nag, its lookup function included', () => {
    for (const { stack } of [instance, cluster]) {
      const report = new AwsSolutionsChecks().validateScope(stack);
      expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    }
  });
});
