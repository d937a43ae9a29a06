import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { CdcDatabase } from '../../lib/cdc-database';
import { CdcNetwork } from '../../lib/network';
import { appWithoutValidation } from '../support/stacks';

/** The constructs as another CDK app would use them: required props only, no cdk.json. */
describe('CdcNetwork and CdcDatabase with their defaults', () => {
  const stack = new Stack(appWithoutValidation(), 'OtherApp');
  const network = new CdcNetwork(stack, 'Network', {});
  new CdcDatabase(stack, 'Database', {
    instanceIdentifier: 'other-app-db',
    vpc: network.vpc,
    vpcSubnets: network.databaseSubnets,
    engineVersion: rds.PostgresEngineVersion.VER_17,
    instanceType: new ec2.InstanceType('t4g.micro'),
    allocatedStorageGiB: 20,
    databaseName: 'app',
    replicationUsername: 'airbyte',
  });
  const template = Template.fromStack(stack);

  it('builds a private two-AZ VPC whose flow logs outlive the stack', () => {
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    // The flow-log group is the one without a name (the database's are named after it).
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 30, LogGroupName: Match.absent() },
    });
  });

  it('snapshots a deletion-protected instance on port 5432, with only the two switches set', () => {
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Snapshot',
      Properties: Match.objectLike({
        DeletionProtection: true,
        Port: '5432',
        PubliclyAccessible: false,
      }),
    });
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Family: 'postgres17',
      Parameters: { 'rds.logical_replication': '1', 'rds.force_ssl': '1' },
    });
  });
});
