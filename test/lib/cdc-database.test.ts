import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { CdcDatabase, type CdcDatabaseProps } from '../../lib/cdc-database';
import { CdcNetwork } from '../../lib/network';
import { appWithoutValidation } from '../support/stacks';

/**
 * A stack holding a CdcNetwork and a CdcDatabase given its required props only (and `extra`), as
 * another CDK app would use them, without cdk.json.
 */
function databaseStack(
  stackName: string,
  instanceIdentifier: string,
  extra: Partial<CdcDatabaseProps> = {},
) {
  const stack = new Stack(appWithoutValidation(), stackName);
  const network = new CdcNetwork(stack, 'Network', {});
  const database = new CdcDatabase(stack, 'Database', {
    instanceIdentifier,
    vpc: network.vpc,
    vpcSubnets: network.databaseSubnets,
    engineVersion: rds.PostgresEngineVersion.VER_17,
    instanceType: new ec2.InstanceType('t4g.micro'),
    allocatedStorageGiB: 20,
    databaseName: 'app',
    replicationUsername: 'airbyte',
    ...extra,
  });
  return { stack, database, template: Template.fromStack(stack) };
}

describe('CdcNetwork and CdcDatabase with their defaults', () => {
  const { template } = databaseStack('OtherApp', 'other-app-db');

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

describe('CdcDatabase login secrets', () => {
  const { stack, database, template } = databaseStack('Logins', 'logins-db', {
    monitoringUsername: 'cdc_watchdog',
  });

  it('gives the replication and watchdog users secrets attached to the instance', () => {
    const instanceId = stack.resolve(database.instance.instanceIdentifier);
    for (const [secret, name] of [
      [database.replicationUserSecret, 'logins-db/airbyte'],
      [database.monitoringUserSecret, 'logins-db/cdc_watchdog'],
    ] as const) {
      expect(secret?.node.path).toMatch(/^Logins\/Database\/(Replication|Monitoring)UserSecret$/);
      template.hasResource('AWS::SecretsManager::Secret', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({ Name: name }),
      });
      template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
        SecretId: stack.resolve(secret?.secretArn),
        TargetId: instanceId,
        TargetType: 'AWS::RDS::DBInstance',
      });
    }
  });
});

describe('CdcDatabase findings', () => {
  /** The reasons of the AwsSolutions-SMG4 acknowledgements recorded on a construct. */
  function rotationReasons(secret: IConstruct | undefined): unknown[] {
    return (secret?.node.metadata ?? [])
      .filter((entry) => entry.type === 'aws:cdk:acknowledged-rules')
      .map((entry) => (entry.data as Record<string, unknown>)['Annotation::AwsSolutions-SMG4'])
      .filter((reason) => reason !== undefined);
  }

  it('explains on each secret why it has no rotation, the watchdog for its own reasons', () => {
    const { database } = databaseStack('Rotation', 'rotation-db', {
      monitoringUsername: 'cdc_watchdog',
    });
    const [master, replication, watchdog] = [
      database.masterSecret,
      database.replicationUserSecret,
      database.monitoringUserSecret,
    ].map(rotationReasons);
    expect(master).toEqual([expect.stringContaining('The master secret is read fresh')]);
    expect(replication).toEqual(master);
    expect(watchdog).toEqual([expect.stringContaining("watchdog role's password")]);
  });

  /** cdk-nag's AwsSolutions findings on the database's resources (not the network's). */
  function databaseFindings(stack: Stack): string[] {
    return new AwsSolutionsChecks()
      .validateScope(stack)
      .violations.filter((violation) =>
        violation.violatingResources.some((resource) =>
          resource.constructPath?.startsWith(`${stack.stackName}/Database/`),
        ),
      )
      .map((violation) => violation.ruleName);
  }

  it('passes cdk-nag AwsSolutions public, unprotected and single-AZ', () => {
    const { stack } = databaseStack('Findings', 'findings-db', {
      monitoringUsername: 'cdc_watchdog',
      publiclyAccessible: true,
      allowedCidrs: ['203.0.113.0/24'],
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    expect(databaseFindings(stack)).toEqual([]);
  });

  it('reports a violation that is not acknowledged (the check is live)', () => {
    const { stack, database } = databaseStack('Unencrypted', 'unencrypted-db');
    (database.instance.node.defaultChild as rds.CfnDBInstance).storageEncrypted = false;
    expect(databaseFindings(stack)).toEqual(['AwsSolutions-RDS2']);
  });
});
