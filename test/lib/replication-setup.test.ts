import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { type CfnElement, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { IConstruct } from 'constructs';
import { ConstructValidationError } from '../../lib/construct-error';
import { type CdcDatabaseTarget } from '../../lib/database-target';
import { ReplicationSetup, type ReplicationSetupProps } from '../../lib/replication-setup';
import { REPLICATION_SETUP_RESOURCE_TYPE } from '../../src/contract/replication-setup';
import { appWithoutValidation, databaseInstanceOf, synthesizeEnvironment } from '../support/stacks';

describe('replication setup custom resource', () => {
  const { stack, template } = synthesizeEnvironment('dev');
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
  const instanceId = logicalId(databaseInstanceOf(stack));
  const functionId = logicalId(stack.replicationSetup.handler);
  const [resourceId, resource] = Object.entries(
    template.findResources(REPLICATION_SETUP_RESOURCE_TYPE),
  )[0];

  it('carries the replication config and only secret ARNs, never secret values', () => {
    expect(resource.Properties).toMatchObject({
      Database: 'app',
      Schema: 'datastore',
      Tables: JSON.stringify([{ name: 'data_tbl', replicaIdentity: 'default' }]),
      User: 'airbyte',
      SlotName: 'airbyte_slot',
      PublicationName: 'airbyte_publication',
      CreateDemoTable: 'true',
      HeartbeatTable: 'airbyte_heartbeat',
      RebootIfPending: 'true',
      RemovalPolicy: 'destroy',
      MasterSecretArn: { Ref: logicalId(stack.database.masterSecret) },
      ReplicationUserSecretArn: { Ref: logicalId(stack.database.replicationUserSecret) },
      Host: { 'Fn::GetAtt': [instanceId, 'Endpoint.Address'] },
    });
    expect(JSON.stringify(resource.Properties)).not.toMatch(/resolve:secretsmanager|SecretString/);
  });

  it('runs after the instance is up', () => {
    expect(resource.DependsOn).toEqual(expect.arrayContaining([instanceId]));
    expect(resourceId).toBeDefined();
  });

  it('runs a current Node.js runtime in the isolated subnets, trusting the RDS CA bundle', () => {
    const fn = template.toJSON().Resources[functionId];
    expect(fn.Properties.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    expect(fn.Properties.Timeout).toBeGreaterThan(120); // above the client's query timeout
    expect(fn.Properties.Timeout).toBeLessThanOrEqual(300);
    expect(fn.Properties.Environment.Variables.NODE_EXTRA_CA_CERTS).toBe(
      '/var/runtime/ca-cert.pem',
    );
    expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/IsolatedSubnet/);
  });

  it('lets the function reach the database port and the API endpoints, nothing else', () => {
    const [groupId] = fnSecurityGroups();
    const group = template.toJSON().Resources[groupId];
    // Only the standalone rules below: CloudFormation strips the group's default allow-all
    // egress once they exist (which is why CDK drops its placeholder rule).
    expect(group.Properties.SecurityGroupEgress).toBeUndefined();
    const egress = Object.values(
      template.findResources('AWS::EC2::SecurityGroupEgress', {
        Properties: { GroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] } },
      }),
    ).map((rule) =>
      JSON.stringify([rule.Properties.FromPort, rule.Properties.DestinationSecurityGroupId]),
    );
    expect(egress.sort()).toEqual(
      [
        [{ 'Fn::GetAtt': [instanceId, 'Endpoint.Port'] }, securityGroupOf('PostgreSQL')],
        [443, securityGroupOf('SecretsManagerEndpoint')],
        [443, securityGroupOf('RdsEndpoint')],
        // Every function in the VPC may reach every endpoint; its role decides what it may call
        // there (the setup's has no cloudwatch:PutMetricData).
        [443, securityGroupOf('CloudWatchMonitoringEndpoint')],
      ]
        .map((rule) => JSON.stringify(rule))
        .sort(),
    );
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      SourceSecurityGroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] },
      FromPort: { 'Fn::GetAtt': [instanceId, 'Endpoint.Port'] },
    });
  });

  it("may read exactly the master's, the replication user's and the watchdog's secrets, and describe or reboot only its instance", () => {
    const roleId = logicalId(stack.replicationSetup.handler.role as never);
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
      }),
    );
    const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const secretStatements = statements.filter((statement) =>
      [statement.Action].flat().includes('secretsmanager:GetSecretValue'),
    );
    const secretResources = secretStatements.flatMap((statement) => [statement.Resource].flat());
    expect(secretResources).toEqual(
      expect.arrayContaining([
        { Ref: logicalId(stack.database.masterSecret) },
        { Ref: logicalId(stack.database.replicationUserSecret) },
        { Ref: logicalId(stack.database.monitoringUserSecret!) },
      ]),
    );
    expect(secretResources).toHaveLength(3);
    const rdsStatement = statements.find((statement) =>
      [statement.Action].flat().includes('rds:RebootDBInstance'),
    );
    expect(JSON.stringify(rdsStatement.Resource)).toContain(instanceId);
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"/);
  });

  /** `{ Fn::GetAtt: [id, GroupId] }` of the security group whose description or path matches. */
  function securityGroupOf(match: string) {
    const [id] = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).find(
      ([logical, group]) =>
        logical.includes(match) || group.Properties.GroupDescription.startsWith(match),
    )!;
    return { 'Fn::GetAtt': [id, 'GroupId'] };
  }

  function fnSecurityGroups(): string[] {
    const fn = template.toJSON().Resources[functionId];
    return fn.Properties.VpcConfig.SecurityGroupIds.map(
      (ref: { 'Fn::GetAtt': [string] }) => ref['Fn::GetAtt'][0],
    );
  }
});

describe('replication setup in an app that gives only the database, its master secret and the tables', () => {
  const outdir = mkdtempSync(path.join(tmpdir(), 'replication-setup-test-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  const ORDERS = [
    { name: 'sales', tables: [{ name: 'orders', replicaIdentity: 'default' }] },
  ] as const;
  const postgres17 = rds.DatabaseInstanceEngine.postgres({
    version: rds.PostgresEngineVersion.VER_17,
  });

  type DatabaseFactory = (stack: Stack, credentials: rds.Credentials) => CdcDatabaseTarget;
  type Overrides = Partial<Omit<ReplicationSetupProps, 'database' | 'masterSecret'>>;

  /** A stack with a master secret, the database `define` makes, and a minimal setup on it. */
  function setUp(
    define: DatabaseFactory,
    overrides: Overrides | ((stack: Stack) => Overrides) = {},
  ) {
    const stack = new Stack(appWithoutValidation({ outdir }), 'TheirStack');
    const masterSecret = new rds.DatabaseSecret(stack, 'MasterSecret', { username: 'postgres' });
    const database = define(stack, rds.Credentials.fromSecret(masterSecret));
    const setup = new ReplicationSetup(stack, 'Cdc', {
      database,
      masterSecret,
      replication: { schemas: ORDERS },
      ...(typeof overrides === 'function' ? overrides(stack) : overrides),
    });
    return { stack, setup, database };
  }
  function synthesize(
    define: DatabaseFactory,
    overrides: Overrides | ((stack: Stack) => Overrides) = {},
  ) {
    const parts = setUp(define, overrides);
    const template = Template.fromStack(parts.stack);
    const [resource] = Object.values(template.findResources(REPLICATION_SETUP_RESOURCE_TYPE));
    const logicalIdOf = (construct: IConstruct) =>
      parts.stack.getLogicalId(construct.node.defaultChild as CfnElement);
    return { ...parts, template, properties: resource.Properties, logicalIdOf };
  }

  const instanceIn =
    (props: Partial<rds.DatabaseInstanceProps> = {}): DatabaseFactory =>
    (stack, credentials) =>
      new rds.DatabaseInstance(stack, 'Database', {
        engine: postgres17,
        vpc: new ec2.Vpc(stack, 'TheirVpc', { maxAzs: 2 }),
        credentials,
        ...props,
      });
  const importedInstance: DatabaseFactory = (stack) =>
    rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Database', {
      instanceIdentifier: 'orders-db',
      instanceEndpointAddress: 'orders-db.abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'DbGroup', 'sg-12345678')],
    });

  describe('for an rds.DatabaseInstance of the app', () => {
    const { stack, setup, template, properties, logicalIdOf } = synthesize(instanceIn());
    const secretId = logicalIdOf(setup.replicationUserSecret);

    it('creates the airbyte user, airbyte_slot and airbyte_publication in the first schema of postgres', () => {
      expect(properties).toMatchObject({
        Database: 'postgres',
        Schema: 'sales',
        User: 'airbyte',
        SlotName: 'airbyte_slot',
        PublicationName: 'airbyte_publication',
      });
      expect(setup.replication).toEqual({
        schema: 'sales',
        slotName: 'airbyte_slot',
        publicationName: 'airbyte_publication',
        schemas: ORDERS,
      });
    });

    it('generates the replication secret, named after the instance and the user, filled in by the instance', () => {
      const instanceId = logicalIdOf(stack.node.findChild('Database'));
      expect(properties.ReplicationUserSecretArn).toEqual({ Ref: secretId });
      const secret = template.toJSON().Resources[secretId];
      expect(secret.Type).toBe('AWS::SecretsManager::Secret');
      expect(secret.Properties.Name).toEqual({
        'Fn::Join': ['', [{ Ref: instanceId }, '/airbyte']],
      });
      // The user's name, and the master secret as RDS's multi-user secrets record it.
      expect(secret.Properties.GenerateSecretString.SecretStringTemplate).toEqual({
        'Fn::Join': [
          '',
          [
            '{"username":"airbyte","masterarn":"',
            { Ref: logicalIdOf(stack.node.findChild('MasterSecret')) },
            '"}',
          ],
        ],
      });
      template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
        SecretId: { Ref: secretId },
        TargetId: { Ref: instanceId },
      });
    });

    it('reads the database as retained on Delete, and keeps the secret with it', () => {
      expect(properties.RemovalPolicy).toBe('retain');
      expect(template.toJSON().Resources[secretId].DeletionPolicy).toBe('Retain');
    });

    it("lets the function read the generated secret, and runs it in the instance's VPC's private subnets", () => {
      const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
        (policy) => policy.Properties.PolicyDocument.Statement,
      );
      expect(statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Action: expect.arrayContaining(['secretsmanager:GetSecretValue']),
            Resource: { Ref: secretId },
          }),
        ]),
      );
      const fn = template.toJSON().Resources[logicalIdOf(setup.handler)];
      expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/TheirVpcPrivateSubnet/);
    });
  });

  it('sets up the database the instance was created with', () => {
    const { properties } = synthesize(instanceIn({ databaseName: 'shop' }));
    expect(properties.Database).toBe('shop');
  });

  it('sets up the default database an Aurora cluster of the app was created with, in its VPC', () => {
    const auroraPostgres17 = rds.DatabaseClusterEngine.auroraPostgres({
      version: rds.AuroraPostgresEngineVersion.VER_17_4,
    });
    const { properties, template, setup, logicalIdOf } = synthesize(
      (stack, credentials) =>
        new rds.DatabaseCluster(stack, 'Database', {
          engine: auroraPostgres17,
          vpc: new ec2.Vpc(stack, 'ClusterVpc', { maxAzs: 2 }),
          credentials,
          defaultDatabaseName: 'shop',
          writer: rds.ClusterInstance.provisioned('Writer'),
        }),
    );
    expect(properties.Database).toBe('shop');
    const fn = template.toJSON().Resources[logicalIdOf(setup.handler)];
    expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/ClusterVpcPrivateSubnet/);
  });

  it('goes with a database that is destroyed, and says so to the function', () => {
    const { properties, template, setup, logicalIdOf } = synthesize(instanceIn(), {
      databaseRemovalPolicy: RemovalPolicy.DESTROY,
    });
    expect(properties.RemovalPolicy).toBe('destroy');
    expect(
      template.toJSON().Resources[logicalIdOf(setup.replicationUserSecret)].DeletionPolicy,
    ).toBe('Delete');
  });

  it('uses the names and the secret it is given, generating none', () => {
    const { properties, template, setup, stack, logicalIdOf } = synthesize(
      instanceIn(),
      (stack) => ({
        replicationUsername: 'cdc_reader',
        replicationUserSecret: new rds.DatabaseSecret(stack, 'TheirReplicationSecret', {
          username: 'cdc_reader',
        }),
        replication: {
          schemas: ORDERS,
          schema: 'sales',
          slotName: 'cdc',
          publicationName: 'cdc_pub',
        },
      }),
    );
    expect(properties).toMatchObject({
      User: 'cdc_reader',
      SlotName: 'cdc',
      PublicationName: 'cdc_pub',
      ReplicationUserSecretArn: {
        Ref: logicalIdOf(stack.node.findChild('TheirReplicationSecret')),
      },
    });
    expect(setup.replicationUserSecret).toBe(stack.node.findChild('TheirReplicationSecret'));
    expect(setup.node.tryFindChild('ReplicationUserSecret')).toBeUndefined();
    // The master secret and the given one.
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
  });

  it('needs the VPC of an imported database, and then uses it', () => {
    expect(() => setUp(importedInstance)).toThrow(ConstructValidationError);
    expect(() => setUp(importedInstance)).toThrow(/^TheirStack\/Cdc: .*orders-db.*pass `vpc`/);
    const { properties, template, setup, logicalIdOf } = synthesize(importedInstance, (stack) => ({
      vpc: new ec2.Vpc(stack, 'ReachingVpc', { maxAzs: 2 }),
    }));
    expect(properties).toMatchObject({ DbInstanceIdentifier: 'orders-db', Database: 'postgres' });
    const fn = template.toJSON().Resources[logicalIdOf(setup.handler)];
    expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/ReachingVpcPrivateSubnet/);
    // The generated secret is named after, and attached to, the imported instance.
    const secret = template.toJSON().Resources[logicalIdOf(setup.replicationUserSecret)];
    expect(secret.Properties.Name).toBe('orders-db/airbyte');
  });

  it('refuses a schema that is not the first published one, and no schema at all', () => {
    expect(() =>
      setUp(instanceIn(), { replication: { schemas: ORDERS, schema: 'public' } }),
    ).toThrow(/`replication.schema` is "public" but the first of `replication.schemas` is "sales"/);
    expect(() => setUp(instanceIn(), { replication: { schemas: [] } })).toThrow(
      /`replication.schemas` is empty/,
    );
  });
});
