import { Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseProperties } from '../../lambda/pre-upgrade-check/properties';
import { PRE_UPGRADE_CHECK_RESOURCE_TYPE } from '../../src/contract/pre-upgrade-check';
import { PreUpgradeCheck, type PreUpgradeCheckProps } from '../../lib/pre-upgrade-check';
import { appWithoutValidation } from '../support/stacks';

const IDENTIFIER = 'rds-airbyte-cdc-dev';
const PORT = 5432;

/**
 * A stack laid out as the main one will be: the instance depends on the check, and the check's
 * function is admitted to the database port with the port known at synth.
 */
function build(
  overrides: Partial<PreUpgradeCheckProps> = {},
  admission: 'literal-port' | 'instance-connections' = 'literal-port',
) {
  const stack = new Stack(appWithoutValidation(), 'Test', {
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    natGateways: 0,
    subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  const masterSecret = new rds.DatabaseSecret(stack, 'MasterSecret', { username: 'postgres' });
  const databaseSecurityGroup = new ec2.SecurityGroup(stack, 'DatabaseSecurityGroup', {
    vpc,
    allowAllOutbound: false,
  });
  const instance = new rds.DatabaseInstance(stack, 'Instance', {
    instanceIdentifier: IDENTIFIER,
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    securityGroups: [databaseSecurityGroup],
    port: PORT,
    credentials: rds.Credentials.fromSecret(masterSecret),
  });
  const check = new PreUpgradeCheck(stack, 'PreUpgradeCheck', {
    database: { kind: 'instance', identifier: IDENTIFIER },
    masterSecret,
    databaseName: 'app',
    slotName: 'airbyte_slot',
    publicationName: 'airbyte_publication',
    engineVersion: '17',
    allowSlotRecreation: true,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ...overrides,
  });
  instance.node.addDependency(check.resource);
  if (admission === 'literal-port') {
    check.connections.allowTo(databaseSecurityGroup, ec2.Port.tcp(PORT), 'Pre-upgrade check');
  } else {
    instance.connections.allowDefaultPortFrom(check, 'Pre-upgrade check');
  }
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
  return {
    stack,
    check,
    instance,
    masterSecret,
    databaseSecurityGroup,
    template: Template.fromStack(stack),
    id,
  };
}

/** Logical ids a template value refers to (Ref, Fn::GetAtt, ${...} of Fn::Sub). */
function referencesIn(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) value.forEach((item) => referencesIn(item, into));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') into.add(inner);
      else if (key === 'Fn::GetAtt') into.add(String((inner as unknown[])[0]).split('.')[0]);
      else referencesIn(inner, into);
    }
  }
  return into;
}

/** A dependency cycle among the template's resources, or undefined; CloudFormation refuses one. */
function findCycle(resources: Record<string, Record<string, unknown>>): string[] | undefined {
  const edges = (id: string): string[] => {
    const resource = resources[id];
    const dependsOn = [resource.DependsOn ?? []].flat() as string[];
    return [...referencesIn(resource.Properties), ...dependsOn].filter((ref) => ref in resources);
  };
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path, id];
    state.set(id, 'visiting');
    for (const next of edges(id)) {
      const cycle = visit(next, [...path, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of Object.keys(resources)) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('PreUpgradeCheck', () => {
  const { stack, check, instance, masterSecret, databaseSecurityGroup, template, id } = build();
  const resources = template.toJSON().Resources as Record<string, Record<string, unknown>>;
  const [resourceId] = Object.keys(template.findResources(PRE_UPGRADE_CHECK_RESOURCE_TYPE));
  const functionId = id(check.handler);

  it('writes properties its function parses, none of them referencing the instance', () => {
    const { Properties: written } = resources[resourceId] as {
      Properties: Record<string, unknown>;
    };
    expect(written).toEqual({
      ServiceToken: expect.anything(),
      DbInstanceIdentifier: IDENTIFIER,
      MasterSecretArn: { Ref: id(masterSecret) },
      Database: 'app',
      SlotName: 'airbyte_slot',
      PublicationName: 'airbyte_publication',
      EngineVersion: '17',
      AllowSlotRecreation: 'true',
    });
    expect(referencesIn(written)).not.toContain(id(instance));
    expect(
      parseProperties({
        ...written,
        MasterSecretArn: 'arn:aws:secretsmanager:x',
        ServiceToken: 't',
      }),
    ).toEqual({
      databaseReference: { kind: 'instance', identifier: IDENTIFIER },
      masterSecretArn: 'arn:aws:secretsmanager:x',
      database: 'app',
      slotName: 'airbyte_slot',
      publicationName: 'airbyte_publication',
      engineVersion: '17',
      allowSlotRecreation: true,
    });
  });

  it('runs before the instance, with no dependency cycle', () => {
    expect([resources[id(instance)].DependsOn].flat()).toContain(resourceId);
    expect(findCycle(resources)).toBeUndefined();
  });

  it("may also be admitted through the instance's connections without a cycle", () => {
    // The egress rule then carries the instance's port attribute, but nothing the check needs.
    const other = build({}, 'instance-connections');
    expect(findCycle(Template.fromStack(other.stack).toJSON().Resources)).toBeUndefined();
    // The detector itself finds a cycle where there is one.
    expect(
      findCycle({ A: { Properties: { Value: { Ref: 'B' } } }, B: { DependsOn: 'A' } }),
    ).toEqual(['A', 'B', 'A']);
  });

  it('may describe only its instance, by the ARN built from the identifier, and read the master secret', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: { Ref: id(masterSecret) },
          }),
          {
            Action: 'rds:DescribeDBInstances',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, `:rds:eu-west-1:123456789012:db:${IDENTIFIER}`],
              ],
            },
          },
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('PreUpgradeCheckFunctionServiceRole') }],
    });
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toMatch(
      /"rds:DescribeDBInstances","Effect":"Allow","Resource":"\*"/,
    );
  });

  it('runs its function in the VPC, reaching the database port and nothing else', () => {
    const fn = resources[functionId] as {
      Properties: {
        VpcConfig: { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
        Timeout: number;
      };
    };
    expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/IsolatedSubnet/);
    const groupId = id(check.connections.securityGroups[0] as ec2.SecurityGroup);
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([
      { 'Fn::GetAtt': [groupId, 'GroupId'] },
    ]);
    expect(fn.Properties.Timeout).toBe(300);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [id(databaseSecurityGroup), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] },
      FromPort: PORT,
      ToPort: PORT,
    });
    // Its only way out is the database port (and the endpoints, once the stack allows them).
    expect(JSON.stringify(resources[groupId])).not.toContain('0.0.0.0/0');
    const egress = Object.values(template.findResources('AWS::EC2::SecurityGroupEgress')).filter(
      (rule) => JSON.stringify(rule.Properties.GroupId).includes(groupId),
    );
    expect(egress.map((rule) => rule.Properties)).toEqual([
      expect.objectContaining({
        DestinationSecurityGroupId: { 'Fn::GetAtt': [id(databaseSecurityGroup), 'GroupId'] },
        FromPort: PORT,
        ToPort: PORT,
      }),
    ]);
  });

  it('exposes the generation and the drop as attributes of the resource', () => {
    expect(stack.resolve(check.slotGeneration)).toEqual({
      'Fn::GetAtt': [resourceId, 'SlotGeneration'],
    });
    expect(stack.resolve(check.slotDropped)).toEqual({ 'Fn::GetAtt': [resourceId, 'SlotDropped'] });
  });

  it('passes cdk-nag with its acknowledgements', () => {
    const report = new AwsSolutionsChecks().validateScope(check);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  it('writes "false" without the acknowledgement', () => {
    const without = build({ allowSlotRecreation: undefined }).template;
    without.hasResourceProperties(PRE_UPGRADE_CHECK_RESOURCE_TYPE, {
      AllowSlotRecreation: 'false',
    });
  });

  it('refuses an identifier that is a reference, and a version that is none', () => {
    expect(() =>
      build({
        database: { kind: 'instance', identifier: Lazy.string({ produce: () => IDENTIFIER }) },
      }),
    ).toThrow(/database\.identifier must be a plain string/);
    expect(() => build({ engineVersion: '17.x' })).toThrow(
      /PreUpgradeCheck: engineVersion: "17.x" is not a PostgreSQL version/,
    );
  });
});
