import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { IConstruct } from 'constructs';
// Everything of this project comes through the package's entry point, as in another app.
import {
  CdcMonitoring,
  type CdcDatabaseTarget,
  ReplicationSetup,
  type StreamedPublication,
} from '../../lib/index';
import { OrdersStack } from './readme-example';

/**
 * The app of a team that defines its own database, VPC and stack, then adds the CDC parts: the
 * same code the README shows, for either kind of database.
 */

const REPLICATION: StreamedPublication = {
  schema: 'sales',
  slotName: 'orders_slot',
  publicationName: 'orders_publication',
  schemas: [{ name: 'sales', tables: [{ name: 'orders', replicaIdentity: 'default' }] }],
};

const outdir = mkdtempSync(path.join(tmpdir(), 'foreign-app-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** A stack of the foreign app: its own VPC, and the database `defineDatabase` makes in it. */
function foreignStack(
  defineDatabase: (stack: Stack, vpc: ec2.Vpc, credentials: rds.Credentials) => CdcDatabaseTarget,
) {
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'TheirStack');
  const vpc = new ec2.Vpc(stack, 'TheirVpc', { maxAzs: 2 });
  const masterSecret = new rds.DatabaseSecret(stack, 'TheirMasterSecret', {
    username: 'postgres',
  });
  const database = defineDatabase(stack, vpc, rds.Credentials.fromSecret(masterSecret));
  const setup = new ReplicationSetup(stack, 'Cdc', {
    database,
    masterSecret,
    databaseName: 'shop',
    replicationUsername: 'airbyte',
    replicationUserSecret: new rds.DatabaseSecret(stack, 'AirbyteSecret', { username: 'airbyte' }),
    replication: REPLICATION,
    databaseRemovalPolicy: RemovalPolicy.SNAPSHOT,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  });
  new CdcMonitoring(stack, 'CdcAlarms', { database });
  return { stack, setup, template: Template.fromStack(stack) };
}

const logicalIdOf = (stack: Stack, construct: IConstruct) =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

const postgres17 = rds.DatabaseInstanceEngine.postgres({
  version: rds.PostgresEngineVersion.VER_17,
});
const auroraPostgres17 = rds.DatabaseClusterEngine.auroraPostgres({
  version: rds.AuroraPostgresEngineVersion.VER_17_4,
});

/** Their parameter group, which turns logical replication on as the setup requires. */
const logicalReplicationOn = (stack: Stack, engine: rds.IEngine) =>
  new rds.ParameterGroup(stack, 'TheirParameters', {
    engine,
    parameters: { 'rds.logical_replication': '1' },
  });

describe.each([
  {
    kind: 'rds.DatabaseInstance',
    identifierProperty: 'DbInstanceIdentifier',
    absentProperty: 'DbClusterIdentifier',
    defineDatabase: (stack: Stack, vpc: ec2.Vpc, credentials: rds.Credentials) =>
      new rds.DatabaseInstance(stack, 'TheirDatabase', {
        engine: postgres17,
        vpc,
        credentials,
        parameterGroup: logicalReplicationOn(stack, postgres17),
      }),
  },
  {
    kind: 'rds.DatabaseCluster',
    identifierProperty: 'DbClusterIdentifier',
    absentProperty: 'DbInstanceIdentifier',
    defineDatabase: (stack: Stack, vpc: ec2.Vpc, credentials: rds.Credentials) =>
      new rds.DatabaseCluster(stack, 'TheirDatabase', {
        engine: auroraPostgres17,
        vpc,
        credentials,
        writer: rds.ClusterInstance.provisioned('Writer'),
        readers: [rds.ClusterInstance.provisioned('Reader')],
        parameterGroup: logicalReplicationOn(stack, auroraPostgres17),
      }),
  },
])('a foreign app with its own $kind', ({ identifierProperty, absentProperty, defineDatabase }) => {
  const { stack, setup, template } = foreignStack(defineDatabase);
  const databaseId = logicalIdOf(stack, stack.node.findChild('TheirDatabase'));
  const [setupResource] = Object.values(template.findResources('Custom::ReplicationSetup'));

  it('gets the replication setup on its database, at the endpoint clients use', () => {
    expect(setupResource.Properties).toMatchObject({
      [identifierProperty]: { Ref: databaseId },
      Host: { 'Fn::GetAtt': [databaseId, 'Endpoint.Address'] },
      Database: 'shop',
      Schema: 'sales',
      SlotName: 'orders_slot',
      PublicationName: 'orders_publication',
      MasterSecretArn: { Ref: logicalIdOf(stack, stack.node.findChild('TheirMasterSecret')) },
    });
    expect(setupResource.Properties).not.toHaveProperty(absentProperty);
    // Its own database: the stack that defines it may reboot it and deletes it with itself.
    expect(setupResource.Properties).not.toHaveProperty('ExistingDatabase');
    expect(setupResource.DependsOn).toEqual(expect.arrayContaining([databaseId]));
  });

  it("admits the setup function through the database's own security group", () => {
    const [databaseGroup] = (stack.node.findChild('TheirDatabase') as unknown as ec2.IConnectable)
      .connections.securityGroups;
    const [functionGroup] = setup.handler.connections.securityGroups;
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [logicalIdOf(stack, databaseGroup), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [logicalIdOf(stack, functionGroup), 'GroupId'] },
      IpProtocol: 'tcp',
      // The database's port, whichever it is.
      FromPort: { 'Fn::GetAtt': [databaseId, 'Endpoint.Port'] },
    });
  });

  it('runs the function in the VPC it was given, trusting the RDS CA bundle', () => {
    const fn = template.toJSON().Resources[logicalIdOf(stack, setup.handler)];
    expect(fn.Properties.Environment.Variables.NODE_EXTRA_CA_CERTS).toBe(
      '/var/runtime/ca-cert.pem',
    );
    expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/TheirVpcPrivateSubnet/);
  });

  it("watches the database's replication metrics", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OldestReplicationSlotLag',
      Namespace: 'AWS/RDS',
    });
  });
});

describe("the README's example", () => {
  it('is the code the README shows, word for word', () => {
    const source = readFileSync(path.join(__dirname, 'readme-example.ts'), 'utf8');
    const code = source
      .slice(source.indexOf('import { Stack }'))
      .replace("from '../../lib'", "from 'rds-airbyte-cdc'")
      .trimEnd();
    const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).toContain('```ts\n' + code + '\n```');
  });

  /** The example's stack in an app of its own, and the logical id of the instance it defines. */
  function synthesizeExample() {
    const stack = new OrdersStack(
      new App({ outdir, builtinCloudFormationValidation: false }),
      'Orders',
    );
    const instanceId = logicalIdOf(stack, stack.node.findChild('Orders'));
    return { stack, instanceId, template: Template.fromStack(stack) };
  }

  it('synthesizes the replication setup on the instance it defines', () => {
    const { instanceId, template } = synthesizeExample();
    template.hasResourceProperties('Custom::ReplicationSetup', {
      DbInstanceIdentifier: { Ref: instanceId },
      Host: { 'Fn::GetAtt': [instanceId, 'Endpoint.Address'] },
      Tables: JSON.stringify([{ name: 'orders', replicaIdentity: 'default' }]),
    });
    template.resourceCountIs('AWS::SNS::Subscription', 1);
  });

  it('fills in everything it leaves out with the defaults the README names', () => {
    const { stack, instanceId, template } = synthesizeExample();
    const setup = stack.node.findChild('Cdc') as ReplicationSetup;
    const [properties] = Object.values(template.findResources('Custom::ReplicationSetup')).map(
      (resource) => resource.Properties,
    );
    expect(properties).toMatchObject({
      Database: 'postgres',
      Schema: 'public',
      User: 'airbyte',
      SlotName: 'airbyte_slot',
      PublicationName: 'airbyte_publication',
      RemovalPolicy: 'retain',
      ReplicationUserSecretArn: { Ref: logicalIdOf(stack, setup.replicationUserSecret) },
    });
    // The generated replication secret learns the instance's endpoint, as Airbyte reads it.
    template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
      SecretId: { Ref: logicalIdOf(stack, setup.replicationUserSecret) },
      TargetId: { Ref: instanceId },
    });
    const fn = template.toJSON().Resources[logicalIdOf(stack, setup.handler)];
    expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/VpcPrivateSubnet/);
  });
});
