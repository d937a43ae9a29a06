import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { CfnResource, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AirbyteConnection, type AirbyteConnectionProps } from '../../lib/airbyte-connection';
import { ConstructValidationError } from '../../lib/construct-error';
import { airbyteConnectionProps } from '../../lib/environment-props';
import { parseEnvironment } from '../../src/config';
import { AIRBYTE_UI_RESYNC } from '../../src/airbyte/resync';
import { resolveAirbyteSettings } from '../../src/airbyte/settings';
import { SLOT_GENERATION_OUTPUT } from '../../src/contract/airbyte-connection';
import {
  appWithoutValidation,
  CDK_JSON_ENVIRONMENTS,
  synthesizeEnvironment,
} from '../support/stacks';

const WORKSPACE = '1d3c5f0e-7a2b-4c8d-9e1f-2a3b4c5d6e7f';
const CREDENTIALS_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte/app-AbCdEf';
const MANAGED = {
  apiUrl: 'https://api.airbyte.com/v1',
  workspaceId: WORKSPACE,
  credentialsSecret: CREDENTIALS_ARN,
};

function synthesize(
  environment: string,
  raw: Record<string, unknown> = {},
  extra: Partial<AirbyteConnectionProps> | ((stack: Stack) => Partial<AirbyteConnectionProps>) = {},
  app = appWithoutValidation({ context: { 'aws:cdk:bundling-stacks': [] } }),
) {
  const config = parseEnvironment(environment, raw);
  const stack = new Stack(app, `Airbyte-${environment}`, {
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const replicationUserSecret = new secretsmanager.Secret(stack, 'ReplicationUserSecret');
  Validations.of(replicationUserSecret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason: "Test stand-in; the real one is the database construct's.",
  });
  // Stands in for the replication setup custom resource.
  const replicationSetup = new CfnResource(stack, 'ReplicationSetup', {
    type: 'AWS::CloudFormation::WaitConditionHandle',
  });
  const airbyte = new AirbyteConnection(stack, 'Airbyte', {
    ...airbyteConnectionProps(config),
    host: 'db.example.internal',
    port: '5432',
    replicationUserSecret,
    dependsOn: [replicationSetup],
    ...(typeof extra === 'function' ? extra(stack) : extra),
  });
  return {
    stack,
    airbyte,
    // Synthesizes on first use, so that a test can still add to the stack.
    get template() {
      return Template.fromStack(stack);
    },
  };
}

/** The IAM actions and resources granted to the role of the Airbyte function, as JSON text. */
function functionPolicy(template: Template): string {
  const [role] = Object.entries(template.findResources('AWS::IAM::Role')).find(([id]) =>
    id.startsWith('AirbyteFunctionServiceRole'),
  )!;
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    (JSON.stringify(policy.Properties.Roles) ?? '').includes(role),
  );
  return JSON.stringify(policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement));
}

/** Every resource the function's role may act on, with the actions allowed. */
function functionGrants(template: Template): { actions: string[]; resources: unknown[] } {
  const statements = JSON.parse(functionPolicy(template)) as Array<{
    Action: string | string[];
    Resource: unknown;
  }>;
  return {
    actions: [...new Set(statements.flatMap((statement) => statement.Action))].sort(),
    resources: statements.flatMap((statement) =>
      Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource],
    ),
  };
}

describe('AirbyteConnection', () => {
  it('adds nothing for a dev-null destination without apiUrl', () => {
    const { template } = synthesize('dev');
    template.resourceCountIs('Custom::AirbyteConnection', 0);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    template.resourceCountIs('AWS::S3::Bucket', 0);
  });

  it('creates an encrypted, private, SSL-only bucket and a prefix-scoped writer key for S3, with the outputs the CLI reads', () => {
    const { template } = synthesize('staging');
    template.resourceCountIs('Custom::AirbyteConnection', 0);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    template.resourceCountIs('AWS::IAM::User', 1);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['s3:PutObject']),
            Resource: {
              'Fn::Join': [
                '',
                Match.arrayWith([Match.stringLikeRegexp('/rds-airbyte-cdc/staging/\\*$')]),
              ],
            },
          }),
        ]),
      },
    });
    // The secret is assembled from the access key's attribute, never a literal in the template.
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: {
        'Fn::Join': [
          '',
          Match.arrayWith([
            {
              'Fn::GetAtt': [Match.stringLikeRegexp('^AirbyteWriterAccessKey'), 'SecretAccessKey'],
            },
          ]),
        ],
      },
    });
    template.hasOutput('AirbyteBucketName', {
      Value: { Ref: Match.stringLikeRegexp('^AirbyteBucket') },
    });
    template.hasOutput('AirbyteBucketRegion', { Value: 'eu-west-1' });
    template.hasOutput('AirbyteS3AccessKeySecretArn', {
      Value: { Ref: Match.stringLikeRegexp('^AirbyteWriterAccessKeySecret') },
    });
  });

  it('empties and deletes the bucket only when the lifecycle says destroy', () => {
    const { template } = synthesize('staging', {}, { bucketRemovalPolicy: RemovalPolicy.DESTROY });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
  });

  it('grants a Cloud role through the bucket policy instead of creating a user', () => {
    const roleArn = 'arn:aws:iam::123456789012:role/airbyte-cloud';
    const { template } = synthesize('staging', {
      airbyte: { destination: { type: 's3', authentication: 'role', roleArn } },
    });
    template.resourceCountIs('AWS::IAM::User', 0);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { AWS: roleArn },
            Action: Match.arrayWith(['s3:PutObject']),
          }),
        ]),
      },
    });
  });

  it('manages Airbyte with a custom resource only when apiUrl is set, after the replication setup', () => {
    const { template } = synthesize('dev', { airbyte: MANAGED });

    template.resourceCountIs('Custom::AirbyteConnection', 1);
    template.hasResource('Custom::AirbyteConnection', {
      DependsOn: Match.arrayWith(['ReplicationSetup']),
    });
    template.hasResourceProperties('Custom::AirbyteConnection', {
      ApiUrl: 'https://api.airbyte.com/v1',
      WorkspaceId: WORKSPACE,
      CredentialsSecretId: CREDENTIALS_ARN,
      ReplicationUserSecretArn: { Ref: Match.stringLikeRegexp('^ReplicationUserSecret') },
      Host: 'db.example.internal',
      Port: '5432',
      Database: 'app',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.onEvent',
    });
  });

  it('lets the function read only the Airbyte credentials and the replication user secret', () => {
    const { template } = synthesize('dev', { airbyte: MANAGED });
    const policy = functionPolicy(template);
    expect(policy).toContain(CREDENTIALS_ARN);
    expect(policy).toMatch(/"Ref":"ReplicationUserSecret[0-9A-F]+"/);
    const grants = functionGrants(template);
    expect(grants.actions).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(grants.resources).toHaveLength(2);
  });

  it('adds the S3 key secret to what the function reads, and passes bucket and key ARN (not the key)', () => {
    const { template } = synthesize('staging', { airbyte: MANAGED });
    const { actions, resources } = functionGrants(template);
    expect(actions).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(resources).toHaveLength(3);
    expect(JSON.stringify(resources)).toMatch(/AirbyteWriterAccessKeySecret/);
    template.hasResourceProperties('Custom::AirbyteConnection', {
      S3BucketName: { Ref: Match.stringLikeRegexp('^AirbyteBucket') },
      S3Region: 'eu-west-1',
      S3AccessKeySecretArn: { Ref: Match.stringLikeRegexp('^AirbyteWriterAccessKeySecret') },
    });
    const properties = JSON.stringify(template.findResources('Custom::AirbyteConnection'));
    expect(properties).not.toMatch(/SecretAccessKey/);
  });

  it('runs outside any VPC by default', () => {
    const { template } = synthesize('dev', { airbyte: MANAGED });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.onEvent',
      VpcConfig: Match.absent(),
    });
  });

  it('with runInVpc, runs in the given subnets and may only open connections to the Airbyte port', () => {
    const { template } = synthesize(
      'dev',
      { airbyte: { ...MANAGED, apiUrl: 'http://10.0.5.5:8000/api/public/v1', runInVpc: true } },
      (stack) => ({
        vpc: new ec2.Vpc(stack, 'Vpc', {
          maxAzs: 2,
          natGateways: 0,
          subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
        }),
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      }),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.onEvent',
      VpcConfig: { SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Airbyte setup function'),
      SecurityGroupEgress: [
        {
          CidrIp: '0.0.0.0/0',
          FromPort: 8000,
          ToPort: 8000,
          IpProtocol: 'tcp',
          Description: 'Airbyte public API',
        },
      ],
    });
  });

  it('refuses runInVpc without a VPC', () => {
    expect(() =>
      synthesize('dev', {
        airbyte: { ...MANAGED, apiUrl: 'http://10.0.5.5:8000/api/public/v1', runInVpc: true },
      }),
    ).toThrow(/airbyte\.runInVpc is set but no vpc was given/);
  });

  it('names its path when it refuses props', () => {
    const inVpc = { ...MANAGED, apiUrl: 'http://10.0.5.5:8000/api/public/v1', runInVpc: true };
    expect(() => synthesize('dev', { airbyte: inVpc })).toThrow(ConstructValidationError);
    expect(() => synthesize('dev', { airbyte: inVpc })).toThrow(/^Airbyte-dev\/Airbyte: /);
  });

  it('refuses an apiUrl without the workspace or the credentials (props built by hand)', () => {
    const settings = resolveAirbyteSettings(parseEnvironment('dev', { airbyte: MANAGED }));
    for (const missing of ['workspaceId', 'credentialsSecret'] as const) {
      expect(() =>
        synthesize(
          'dev',
          { airbyte: MANAGED },
          { settings: { ...settings, [missing]: undefined } },
        ),
      ).toThrow(`Airbyte-dev/Airbyte: airbyte.apiUrl is set but airbyte.${missing} is not: `);
    }
  });

  it('accepts the credentials secret by name and grants it with the name-suffix wildcard', () => {
    const { template } = synthesize('dev', {
      airbyte: { ...MANAGED, credentialsSecret: 'airbyte/app' },
    });
    expect(functionPolicy(template)).toMatch(/secret:airbyte\/app-\?\?\?\?\?\?/);
  });

  it('passes the CA bundle for verify-full', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'airbyte-ca-'));
    try {
      const file = path.join(dir, 'rds-ca.pem');
      writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const { template } = synthesize('dev', {
        airbyte: { ...MANAGED, sslMode: 'verify-full', caCertificateFile: file },
      });
      template.hasResourceProperties('Custom::AirbyteConnection', {
        CaCertificate: readFileSync(file, 'utf8'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['dev', MANAGED],
    ['staging', MANAGED],
    ['staging', {}],
  ])('passes the cdk-nag AwsSolutions checks (%s, %j)', (environment, airbyte) => {
    expect(nagFindings(environment, airbyte, '/Airbyte/')).toEqual([]);
  });

  it('reads real cdk-nag findings (so the check above can fail)', () => {
    expect(nagFindings('dev', MANAGED, '/ReplicationUserSecretUnchecked/')).toEqual([
      'AwsSolutions-SMG4 at Airbyte-dev/ReplicationUserSecretUnchecked/Resource',
    ]);
  });
});

/** cdk-nag AwsSolutions findings on constructs whose path contains `pathPart`. */
function nagFindings(
  environment: string,
  airbyte: Record<string, unknown>,
  pathPart: string,
): string[] {
  const outdir = mkdtempSync(path.join(tmpdir(), 'airbyte-nag-'));
  try {
    const app = appWithoutValidation({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      const { stack } = synthesize(environment, { airbyte }, {}, app);
      new secretsmanager.Secret(stack, 'ReplicationUserSecretUnchecked');
      app.synth();
      return [];
    } catch {
      const report = JSON.parse(
        readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'),
      ) as {
        pluginReports: {
          violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
        }[];
      };
      return report.pluginReports.flatMap((plugin) =>
        plugin.violations.flatMap((violation) =>
          violation.violatingConstructs
            .filter((construct) => construct.constructPath.includes(pathPart))
            .map((construct) => `${violation.ruleName} at ${construct.constructPath}`),
        ),
      );
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('AirbyteConnection in the VPC of the environment stack', () => {
  const { stack, template } = synthesizeEnvironment('dev', {
    ...CDK_JSON_ENVIRONMENTS.dev,
    airbyte: { ...MANAGED, apiUrl: 'http://10.0.5.5:8000/api/public/v1', runInVpc: true },
  });

  it('reaches Secrets Manager through the VPC endpoint', () => {
    const [functionGroup] = Object.keys(
      template.findResources('AWS::EC2::SecurityGroup', {
        Properties: { GroupDescription: Match.stringLikeRegexp('^Airbyte setup function') },
      }),
    );
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 443,
      SourceSecurityGroupId: { 'Fn::GetAtt': [functionGroup, 'GroupId'] },
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('SecretsManagerEndpoint'), 'GroupId'] },
    });
  });

  it('adds no cdk-nag finding', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.flatMap((violation) =>
        violation.violatingResources
          .map((resource) => (resource as { constructPath?: string }).constructPath ?? '')
          .filter((constructPath) => constructPath.includes('/Airbyte/'))
          .map((constructPath) => `${violation.ruleName} at ${constructPath}`),
      ),
    ).toEqual([]);
  });
});

describe('AirbyteConnection in the environment stack', () => {
  const { stack, template } = synthesizeEnvironment('staging', {
    ...CDK_JSON_ENVIRONMENTS.staging,
    airbyte: MANAGED,
  });

  it('runs after the replication setup resource', () => {
    const [setupId] = Object.keys(template.findResources('Custom::ReplicationSetup'));
    expect(setupId).toBeDefined();
    template.hasResource('Custom::AirbyteConnection', { DependsOn: Match.arrayWith([setupId]) });
    template.hasResourceProperties('Custom::AirbyteConnection', {
      Host: { 'Fn::GetAtt': [Match.anyValue(), 'Endpoint.Address'] },
      Port: { 'Fn::GetAtt': [Match.anyValue(), 'Endpoint.Port'] },
    });
  });

  it('adds no cdk-nag finding', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.flatMap((violation) =>
        violation.violatingResources
          .map((resource) => (resource as { constructPath?: string }).constructPath ?? '')
          .filter((constructPath) => constructPath.includes('/Airbyte/'))
          .map((constructPath) => `${violation.ruleName} at ${constructPath}`),
      ),
    ).toEqual([]);
  });
});

describe('AirbyteConnection slotGeneration', () => {
  const GENERATION = 'dropped-for-17';

  it('passes the generation to the custom resource when the stack manages Airbyte, with no output', () => {
    const { template } = synthesize('dev', { airbyte: MANAGED }, { slotGeneration: GENERATION });
    template.hasResourceProperties('Custom::AirbyteConnection', { SlotGeneration: GENERATION });
    expect(Object.keys(template.findOutputs(SLOT_GENERATION_OUTPUT))).toEqual([]);
  });

  it('outputs the generation with what to click in Airbyte when the stack does not manage it', () => {
    const { template } = synthesize('dev', {}, { slotGeneration: GENERATION });
    template.resourceCountIs('Custom::AirbyteConnection', 0);
    template.hasOutput(SLOT_GENERATION_OUTPUT, {
      Value: GENERATION,
      Description: Match.stringLikeRegexp('the Airbyte connection must resync'),
    });
    const [output] = Object.values(template.findOutputs(SLOT_GENERATION_OUTPUT));
    expect(output.Description).toContain(AIRBYTE_UI_RESYNC);
    // CloudFormation's limit on an output's description.
    expect((output.Description as string).length).toBeLessThanOrEqual(1024);
  });

  it('writes neither the property nor the output without a generation', () => {
    const managed = synthesize('dev', { airbyte: MANAGED }).template;
    const [resource] = Object.values(managed.findResources('Custom::AirbyteConnection'));
    expect(resource.Properties).not.toHaveProperty('SlotGeneration');
    const unmanaged = synthesize('dev').template;
    expect(Object.keys(unmanaged.findOutputs(SLOT_GENERATION_OUTPUT))).toEqual([]);
  });
});
