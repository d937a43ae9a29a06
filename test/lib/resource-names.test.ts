import type { EnvironmentInput } from '../../src/config';
import { CDK_JSON_ENVIRONMENTS, synthesizeEnvironment } from '../support/stacks';

/** What AWS accepts for one property, and where AWS says so. */
interface NameRule {
  readonly source: string;
  readonly valid: (value: string) => boolean;
}

const upTo = (max: number, pattern?: RegExp) => (value: string) =>
  [...value].length <= max && (pattern === undefined || pattern.test(value));

// EC2 security group and rule descriptions: a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*
const SECURITY_GROUP_TEXT = /^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
const SECURITY_GROUP_RULE: NameRule = {
  source: 'https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html',
  valid: upTo(255, /^[A-Za-z0-9 ._\-:/()#,@[\]+=;{}!$*]*$/),
};
const IAM_POLICY_NAME: NameRule = {
  source: 'https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html',
  valid: (value) => /^[\w+=,.@-]{1,128}$/.test(value),
};
// No limit documented beyond being given; CloudFormation refuses an empty one.
const ANY_TEXT = (source: string): NameRule => ({ source, valid: (value) => value.length > 0 });

/**
 * Every name or description a resource of the stack carries as a literal, by
 * `<resource type>.<property path>`; tags by `Tags.Key` and `Tags.Value`. A property that
 * appears in the template without a rule here fails the test: add its rule.
 */
const RULES: Record<string, NameRule> = {
  'AWS::SecretsManager::Secret.Name': {
    source: 'https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html',
    valid: upTo(512, /^[A-Za-z0-9/_+=.@-]+$/),
  },
  'AWS::SecretsManager::Secret.Description': {
    source: 'https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html',
    valid: upTo(2048),
  },
  'AWS::RDS::DBInstance.DBInstanceIdentifier': {
    source: 'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html',
    valid: (value) =>
      /^[A-Za-z][A-Za-z0-9-]{0,62}$/.test(value) && !value.endsWith('-') && !value.includes('--'),
  },
  'AWS::RDS::DBInstance.DBName': {
    source: 'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html',
    valid: (value) => /^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(value),
  },
  'AWS::RDS::DBInstance.CACertificateIdentifier': {
    source: 'https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html',
    valid: (value) => /^rds-ca-[a-z0-9-]+$/.test(value),
  },
  'AWS::RDS::DBParameterGroup.Description': ANY_TEXT(
    'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBParameterGroup.html',
  ),
  'AWS::RDS::DBSubnetGroup.DBSubnetGroupDescription': ANY_TEXT(
    'https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBSubnetGroup.html',
  ),
  'AWS::Logs::LogGroup.LogGroupName': {
    source:
      'https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html',
    valid: upTo(512, /^[.\-_/#A-Za-z0-9]+$/),
  },
  'AWS::CloudWatch::Dashboard.DashboardName': {
    source:
      'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html',
    valid: upTo(255, /^[A-Za-z0-9_-]+$/),
  },
  'AWS::CloudWatch::Alarm.AlarmDescription': {
    source:
      'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html',
    valid: upTo(1024),
  },
  'AWS::CloudWatch::Alarm.MetricName': {
    source:
      'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html',
    valid: (value) => value.length >= 1 && value.length <= 255,
  },
  'AWS::CloudWatch::Alarm.Dimensions.Name': {
    source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html',
    valid: (value) => value.length >= 1 && value.length <= 255,
  },
  'AWS::EC2::SecurityGroup.GroupDescription': {
    source: 'https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html',
    valid: upTo(255, SECURITY_GROUP_TEXT),
  },
  'AWS::EC2::SecurityGroup.SecurityGroupIngress.Description': SECURITY_GROUP_RULE,
  'AWS::EC2::SecurityGroup.SecurityGroupEgress.Description': SECURITY_GROUP_RULE,
  'AWS::EC2::SecurityGroupIngress.Description': SECURITY_GROUP_RULE,
  'AWS::EC2::SecurityGroupEgress.Description': SECURITY_GROUP_RULE,
  'AWS::Lambda::Function.Description': {
    source: 'https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html',
    valid: upTo(256),
  },
  'AWS::KMS::Key.Description': {
    source: 'https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html',
    valid: upTo(8192),
  },
  'AWS::SNS::Topic.DisplayName': {
    source: 'https://docs.aws.amazon.com/sns/latest/api/API_SetTopicAttributes.html',
    valid: upTo(100),
  },
  'AWS::IAM::Policy.PolicyName': IAM_POLICY_NAME,
  'AWS::IAM::Role.Policies.PolicyName': IAM_POLICY_NAME,
  'Tags.Key': {
    source: 'https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html',
    valid: (value) => value.length >= 1 && upTo(128, /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u)(value),
  },
  'Tags.Value': {
    source: 'https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html',
    valid: upTo(256, /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u),
  },
  'Outputs.Description': {
    source:
      'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html',
    valid: (value) => Buffer.byteLength(value, 'utf8') <= 1024,
  },
  'Outputs.Export.Name': {
    source:
      'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html',
    valid: upTo(255, /^[A-Za-z0-9:-]+$/),
  },
  'Stack.Name': {
    source:
      'https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html',
    valid: upTo(128, /^[A-Za-z][A-Za-z0-9-]*$/),
  },
};

/** A property that names or describes what it is on, and so must satisfy an AWS rule. */
const NAMING_PROPERTY = /(Name|Description|Identifier)$/;

interface NamedValue {
  /** The RULES key. */
  readonly rule: string;
  /** Where in the template, for the failure message. */
  readonly where: string;
  readonly value: string;
}

/** Every literal string under a naming property, or a tag's key or value, below `value`. */
function namedValues(
  value: unknown,
  prefix: string,
  rulePath: string[],
  where: string,
): NamedValue[] {
  if (Array.isArray(value)) {
    return value.flatMap((item, index) =>
      namedValues(item, prefix, rulePath, `${where}[${index}]`),
    );
  }
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = [...rulePath, key];
    const childWhere = `${where}.${key}`;
    if (typeof child !== 'string') return namedValues(child, prefix, path, childWhere);
    const isTag = rulePath.at(-1) === 'Tags' && (key === 'Key' || key === 'Value');
    if (isTag) return [{ rule: `Tags.${key}`, where: childWhere, value: child }];
    if (!NAMING_PROPERTY.test(key)) return [];
    return [{ rule: `${prefix}${path.join('.')}`, where: childWhere, value: child }];
  });
}

interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: unknown }>;
  Outputs?: Record<string, unknown>;
}

function everyName(stackName: string, template: TemplateJson): NamedValue[] {
  const resources = Object.entries(template.Resources)
    // A custom resource's properties are its function's input (PostgreSQL names), not AWS names.
    .filter(([, resource]) => !resource.Type.startsWith('Custom::'))
    .flatMap(([logicalId, resource]) =>
      namedValues(resource.Properties, `${resource.Type}.`, [], logicalId),
    );
  const outputs = Object.entries(template.Outputs ?? {}).flatMap(([key, output]) =>
    namedValues(output, 'Outputs.', [], `Outputs.${key}`),
  );
  return [{ rule: 'Stack.Name', where: 'stack', value: stackName }, ...resources, ...outputs];
}

/**
 * An environment that is not one of cdk.json's, whose replication user name no AWS name can
 * hold as it is, with every optional part that names resources: the S3 destination (bucket,
 * writer key), the managed Airbyte (function, credentials) and monitoring (topic, dashboard).
 */
const ENVIRONMENT = 'eu-live-2';
const HOSTILE: EnvironmentInput = {
  ...CDK_JSON_ENVIRONMENTS.dev,
  replication: { ...CDK_JSON_ENVIRONMENTS.dev.replication, user: 'cdc reader "Ünïcødé"/y' },
  airbyte: {
    apiUrl: 'https://api.airbyte.com/v1',
    workspaceId: '1d3c5f0e-7a2b-4c8d-9e1f-2a3b4c5d6e7f',
    credentialsSecret: 'airbyte/app',
    destination: { type: 's3' },
  },
  monitoring: { alarmEmail: 'oncall@example.com' },
};

describe('a stack whose replication user name no AWS name can hold', () => {
  const { stack, template } = synthesizeEnvironment(ENVIRONMENT, HOSTILE);
  const names = everyName(stack.stackName, template.toJSON() as TemplateJson);

  it('gives every resource a name and description its AWS rule accepts', () => {
    const unruled = [...new Set(names.filter(({ rule }) => !RULES[rule]).map(({ rule }) => rule))];
    expect(unruled).toEqual([]);
    const invalid = names
      .filter(({ rule, value }) => !RULES[rule].valid(value))
      .map(
        ({ rule, where, value }) => `${where} = ${JSON.stringify(value)} (${RULES[rule].source})`,
      );
    expect(invalid).toEqual([]);
  });

  it('covers the names that come from the configuration', () => {
    const rules = new Set(names.map(({ rule }) => rule));
    for (const rule of [
      'AWS::SecretsManager::Secret.Name',
      'AWS::RDS::DBInstance.DBInstanceIdentifier',
      'AWS::Logs::LogGroup.LogGroupName',
      'AWS::CloudWatch::Dashboard.DashboardName',
      'Tags.Value',
    ]) {
      expect(rules).toContain(rule);
    }
    const secretNames = names
      .filter(({ rule }) => rule === 'AWS::SecretsManager::Secret.Name')
      .map(({ value }) => value);
    expect(secretNames).toEqual([
      'rds-airbyte-cdc-eu-live-2/master',
      expect.stringMatching(/^rds-airbyte-cdc-eu-live-2\/cdc-reader-Unic-de-y_[0-9a-f]{8}$/),
      'rds-airbyte-cdc-eu-live-2/airbyte_watchdog',
    ]);
  });
});
