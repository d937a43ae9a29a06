import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { DeployedStack, environmentRegion } from '../../../src/aws/deployed-stack';
import { StackInputError } from '../../../src/aws/stack-outputs';
import { AirbyteStackOutputs, StackOutputs } from '../../../src/contract/outputs';
import { answerSecrets, DATABASE_OUTPUTS, describedStack, SECRET_ARNS } from './fixtures';

const cloudFormation = mockClient(CloudFormationClient);
const secretsManager = mockClient(SecretsManagerClient);

function stackWith(outputs: Readonly<Record<string, string>>) {
  cloudFormation
    .on(DescribeStacksCommand, { StackName: 'RdsAirbyteCdc-dev' })
    .resolves(describedStack(outputs));
}

beforeEach(() => {
  cloudFormation.reset();
  secretsManager.reset();
});

describe('DeployedStack', () => {
  it('is named after the environment, in the region given, and reads nothing until asked', async () => {
    const stack = new DeployedStack('dev', 'eu-west-1');
    expect(stack.name).toBe('RdsAirbyteCdc-dev');
    expect(await stack.secretsManager.config.region()).toBe('eu-west-1');
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it('describes the stack once, however many outputs and secrets are read', async () => {
    stackWith(DATABASE_OUTPUTS);
    answerSecrets(secretsManager, {
      [SECRET_ARNS.masterUser]: { username: 'postgres', password: 'master-password' },
      [SECRET_ARNS.replicationUser]: { username: 'airbyte', password: 'replication-password' },
    });
    const stack = new DeployedStack('dev', undefined);

    expect(await stack.database()).toEqual({
      host: DATABASE_OUTPUTS.DatabaseEndpoint,
      port: 5433,
      database: 'deployed_db',
      replicationUserSecretArn: SECRET_ARNS.replicationUser,
    });
    expect(await stack.masterUser()).toMatchObject({
      username: 'postgres',
      password: 'master-password',
    });
    expect(await stack.replicationUser()).toMatchObject({
      username: 'airbyte',
      password: 'replication-password',
    });
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });

  it('a missing output names the output and the stack, and says to redeploy', async () => {
    stackWith({ [StackOutputs.databaseEndpoint]: 'h' });
    const stack = new DeployedStack('dev', undefined);

    await expect(stack.output(StackOutputs.masterUserSecretArn)).rejects.toThrow(
      new StackInputError(
        'Stack RdsAirbyteCdc-dev has no output MasterUserSecretArn: redeploy it with this version of the project (npx cdk deploy RdsAirbyteCdc-dev)',
      ),
    );
    await expect(stack.database()).rejects.toThrow(/has no output DatabasePort/);
  });

  it('a stack that cannot be read says to deploy it or to pass --host', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(new Error('Could not load credentials'));
    await expect(new DeployedStack('dev', undefined).outputs()).rejects.toThrow(
      /Cannot read stack RdsAirbyteCdc-dev: Could not load credentials\. Deploy it first .*--host/,
    );
  });

  it('reads the Airbyte S3 access key from the secret its output names', async () => {
    stackWith({ [AirbyteStackOutputs.s3AccessKeySecretArn]: SECRET_ARNS.s3AccessKey });
    answerSecrets(secretsManager, {
      [SECRET_ARNS.s3AccessKey]: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'key-secret' },
    });
    expect(await new DeployedStack('dev', undefined).s3AccessKey()).toEqual({
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'key-secret',
    });
  });

  it('an unreadable user secret names the secret, never a value', async () => {
    stackWith(DATABASE_OUTPUTS);
    secretsManager
      .on(GetSecretValueCommand, { SecretId: SECRET_ARNS.masterUser })
      .rejects(new Error('AccessDeniedException'));
    await expect(new DeployedStack('dev', undefined).masterUser()).rejects.toThrow(
      `Cannot read the master user secret ${SECRET_ARNS.masterUser}: AccessDeniedException`,
    );
  });
});

describe('environmentRegion', () => {
  it.each([
    ['eu-west-1', { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-2' }, 'eu-west-1'],
    [undefined, { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-2' }, 'us-east-1'],
    [undefined, { AWS_DEFAULT_REGION: 'us-east-2' }, 'us-east-2'],
    [undefined, {}, undefined],
  ])('cdk.json %s, shell %j: %s', (region, env, expected) => {
    expect(environmentRegion({ region }, env)).toBe(expected);
  });
});
