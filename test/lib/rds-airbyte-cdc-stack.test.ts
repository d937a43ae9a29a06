import { Match } from 'aws-cdk-lib/assertions';
import { CfnDBInstance } from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseEnvironment } from '../../src/config';
import { StackOutputs } from '../../src/contract/outputs';
import {
  CDK_JSON_ENVIRONMENTS,
  synthesizeAndValidateEnvironment,
  synthesizeEnvironment,
  databaseInstanceOf,
} from '../support/stacks';

const expectations = {
  dev: { deletionPolicy: 'Delete', deletionProtection: false, multiAz: false },
  staging: { deletionPolicy: 'Snapshot', deletionProtection: false, multiAz: false },
  prod: { deletionPolicy: 'Snapshot', deletionProtection: true, multiAz: true },
} as const;

describe.each(Object.entries(expectations))('environment %s', (name, expected) => {
  const { stack, template, validationFindings } = synthesizeAndValidateEnvironment(name);
  const config = parseEnvironment(name, CDK_JSON_ENVIRONMENTS[name]);

  it('has one parameter group with logical replication and forced SSL, attached to the instance', () => {
    const groups = template.findResources('AWS::RDS::DBParameterGroup');
    expect(Object.keys(groups)).toHaveLength(1);
    const [groupId, group] = Object.entries(groups)[0];
    expect(group.Properties.Family).toBe('postgres17');
    expect(group.Properties.Parameters).toEqual({
      'rds.logical_replication': '1',
      'rds.force_ssl': '1',
      max_replication_slots: String(config.database.maxReplicationSlots),
      max_wal_senders: String(config.database.maxWalSenders),
      wal_sender_timeout: String(config.database.walSenderTimeoutMs),
      max_slot_wal_keep_size: String(config.replication.maxSlotWalKeepSizeGiB * 1024),
    });
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      DBParameterGroupName: { Ref: groupId },
    });
  });

  it('encrypts storage, keeps backups, exports postgresql logs and sizes from config', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: config.database.engineVersion,
      DBInstanceClass: `db.${config.database.instanceType}`,
      StorageEncrypted: true,
      AllocatedStorage: String(config.database.allocatedStorageGiB),
      MaxAllocatedStorage: config.database.maxAllocatedStorageGiB,
      BackupRetentionPeriod: config.database.backupRetentionDays,
      MultiAZ: expected.multiAz,
      PubliclyAccessible: false,
      EnableCloudwatchLogsExports: Match.arrayWith(['postgresql']),
      DBName: config.database.databaseName,
    });
  });

  it('follows the configured removal policy and deletion protection', () => {
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: expected.deletionPolicy,
      UpdateReplacePolicy: expected.deletionPolicy,
      Properties: Match.objectLike({ DeletionProtection: expected.deletionProtection }),
    });
  });

  it("generates the master, replication user and watchdog secrets, the logins' holding the connection", () => {
    const generated = template.findResources('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: Match.anyValue() },
    });
    expect(Object.keys(generated)).toHaveLength(3);
    for (const user of [config.replication.user, config.monitoring.watchdogUser]) {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: `rds-airbyte-cdc-${name}/${user}`,
        GenerateSecretString: Match.objectLike({
          SecretStringTemplate: {
            'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`"username":"${user}"`)])],
          },
          GenerateStringKey: 'password',
        }),
      });
    }
    // The attachment is what fills in host, port and dbname, as RDS-managed secrets hold them.
    template.resourceCountIs('AWS::SecretsManager::SecretTargetAttachment', 3);
  });

  it('admits nobody to the database port by default', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup', {
      Properties: { GroupDescription: Match.stringLikeRegexp('^PostgreSQL') },
    });
    const [group] = Object.values(groups);
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(
      template.findResources('AWS::EC2::SecurityGroupIngress', {
        Properties: { CidrIp: Match.anyValue() },
      }),
    ).toEqual({});
  });

  it('puts the database in isolated subnets of a new VPC with Secrets Manager, RDS and CloudWatch endpoints', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint'));
    const services = endpoints.map((endpoint) => JSON.stringify(endpoint.Properties.ServiceName));
    expect(services.some((service) => service.includes('secretsmanager'))).toBe(true);
    expect(services.some((service) => service.includes('.rds'))).toBe(true);
    // The slot watchdog's PutMetricData from the isolated subnets.
    expect(services.some((service) => service.includes('.monitoring'))).toBe(true);
  });

  it('outputs what the Airbyte source form asks for, and no secret value', () => {
    for (const key of Object.values(StackOutputs)) template.hasOutput(key, Match.anyValue());
    template.hasOutput(StackOutputs.replicationSlotName, { Value: config.replication.slotName });
    template.hasOutput(StackOutputs.publicationName, { Value: config.replication.publicationName });
    // Secret values are generated by Secrets Manager or assembled from references (the S3 access
    // key), never literals in the template; outputs carry
    // ARNs only: no dynamic reference that would resolve to a password in the console.
    for (const secret of Object.values(template.findResources('AWS::SecretsManager::Secret'))) {
      expect(literalsOf(secret.Properties.SecretString ?? '')).toEqual([]);
    }
    expect(JSON.stringify(template.toJSON().Outputs)).not.toMatch(
      /resolve:secretsmanager|SecretString/,
    );
  });

  it('passes the CloudFormation validation that cdk synth runs', () => {
    expect(validationFindings).toEqual([]);
  });

  it('passes cdk-nag AwsSolutions with every acknowledgement explained', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(
      report.violations.map(
        (v) => `${v.ruleName} ${v.violatingResources.map((r) => r.resourceLogicalId)}`,
      ),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('stack shape', () => {
  it('is environment-agnostic without account and region, pinned with them', () => {
    expect(synthesizeEnvironment('dev').stack.environment).toBe(
      'aws://unknown-account/unknown-region',
    );
    const pinned = synthesizeEnvironment('dev', { account: '123456789012', region: 'eu-west-1' });
    expect(pinned.stack.account).toBe('123456789012');
    expect(pinned.stack.region).toBe('eu-west-1');
    const regionOnly = synthesizeEnvironment('dev', { region: 'eu-west-1' });
    expect(regionOnly.stack.region).toBe('eu-west-1');
  });

  it('names the stack after the environment', () => {
    expect(synthesizeEnvironment('staging').stack.stackName).toBe('RdsAirbyteCdc-staging');
  });
});

describe('cdk-nag', () => {
  it('reports a violation that is not acknowledged (the check is live)', () => {
    const { stack } = synthesizeEnvironment('dev');
    const instance = databaseInstanceOf(stack).node.defaultChild as CfnDBInstance;
    instance.storageEncrypted = false;
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-RDS2');
  });
});

/**
 * The literal text of a SecretString once CloudFormation references (Ref, Fn::GetAtt) are taken
 * out, minus JSON punctuation and key names: anything left would be a secret in plain text.
 */
function literalsOf(value: unknown): string[] {
  if (typeof value === 'string') {
    const rest = value.replace(/"[A-Za-z]+"\s*:/g, '').replace(/[{}",:\s]/g, '');
    return rest === '' ? [] : [rest];
  }
  if (Array.isArray(value)) return value.flatMap(literalsOf);
  if (value && typeof value === 'object') {
    const [key, inner] = Object.entries(value)[0] ?? [];
    if (key === 'Ref' || key === 'Fn::GetAtt') return [];
    if (key === 'Fn::Join') return literalsOf((inner as [string, unknown[]])[1]);
    return Object.values(value).flatMap(literalsOf);
  }
  return [];
}
