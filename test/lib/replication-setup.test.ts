import { Match } from 'aws-cdk-lib/assertions';
import { REPLICATION_SETUP_RESOURCE_TYPE } from '../../src/contract/replication-setup';
import { synthesizeEnvironment } from '../support/stacks';

describe('replication setup custom resource', () => {
  const { stack, template } = synthesizeEnvironment('dev');
  const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
  const instanceId = logicalId(stack.database.instance);
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
