import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { parseEnvironment } from '../../../src/config';
import { DeployedStack } from '../../../src/aws/deployed-stack';
import { AirbyteStackOutputs } from '../../../src/contract/outputs';
import { resolveAirbyteSettings } from '../../../src/airbyte/settings';
import { assembleAirbyteTarget, type AirbyteTargetSources } from '../../../src/airbyte/target';
import { answerSecrets, DATABASE_OUTPUTS, describedStack, SECRET_ARNS } from '../aws/fixtures';

const cloudFormation = mockClient(CloudFormationClient);
const secretsManager = mockClient(SecretsManagerClient);

let workDir: string;

beforeEach(() => {
  cloudFormation.reset();
  secretsManager.reset();
  workDir = mkdtempSync(path.join(tmpdir(), 'airbyte-target-'));
  answerSecrets(secretsManager, {
    [SECRET_ARNS.replicationUser]: { username: 'deployed_user', password: 'replication-password' },
    [SECRET_ARNS.s3AccessKey]: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'key-secret' },
  });
});
afterEach(() => rmSync(workDir, { recursive: true, force: true }));

function stackWith(outputs: Readonly<Record<string, string>>) {
  cloudFormation.on(DescribeStacksCommand).resolves(describedStack(outputs));
}

function sources(
  environment: string,
  raw: Record<string, unknown>,
  options: { lenient: boolean; env?: NodeJS.ProcessEnv },
): AirbyteTargetSources {
  const config = parseEnvironment(environment, raw);
  return {
    config,
    settings: resolveAirbyteSettings(config),
    stack: new DeployedStack(environment, undefined),
    env: options.env ?? {},
    projectRoot: workDir,
    lenient: options.lenient,
  };
}

describe('assembleAirbyteTarget from the deployed stack', () => {
  it('takes the database from the outputs and the user from its secret', async () => {
    stackWith(DATABASE_OUTPUTS);
    const { target, notes } = await assembleAirbyteTarget(
      {},
      sources('dev', {}, { lenient: false }),
    );
    expect(target.database).toEqual({
      host: DATABASE_OUTPUTS.DatabaseEndpoint,
      port: 5433,
      database: 'deployed_db',
      username: 'deployed_user',
      password: 'replication-password',
    });
    expect(target.s3).toBeUndefined();
    expect(target.caCertificate).toBeUndefined();
    expect(notes).toEqual([]);
  });

  it('takes the S3 bucket, its region and the access key from the stack', async () => {
    stackWith({
      ...DATABASE_OUTPUTS,
      [AirbyteStackOutputs.bucketName]: 'deployed-bucket',
      [AirbyteStackOutputs.bucketRegion]: 'eu-north-1',
      [AirbyteStackOutputs.s3AccessKeySecretArn]: SECRET_ARNS.s3AccessKey,
    });
    const { target } = await assembleAirbyteTarget({}, sources('staging', {}, { lenient: false }));
    expect(target.s3).toEqual({
      bucketName: 'deployed-bucket',
      region: 'eu-north-1',
      accessKey: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'key-secret' },
    });
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });

  it('outside plan, what cannot be read is the error', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(new Error('Could not load credentials'));
    await expect(assembleAirbyteTarget({}, sources('dev', {}, { lenient: false }))).rejects.toThrow(
      /Cannot read stack RdsAirbyteCdc-dev: Could not load credentials/,
    );
  });

  it('in plan, what cannot be read is a placeholder with a note, secrets masked', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(new Error('Could not load credentials'));
    const { target, notes } = await assembleAirbyteTarget(
      {},
      sources('staging', {}, { lenient: true, env: { AWS_DEFAULT_REGION: 'us-east-2' } }),
    );
    expect(target.database).toMatchObject({
      host: '<DatabaseEndpoint of RdsAirbyteCdc-staging>',
      password: '**********',
    });
    expect(target.s3).toEqual({
      bucketName: '<AirbyteBucketName of RdsAirbyteCdc-staging>',
      region: 'us-east-2',
      accessKey: { accessKeyId: '**********', secretAccessKey: '**********' },
    });
    expect(notes).toEqual([
      expect.stringMatching(
        /^Database of stack RdsAirbyteCdc-staging: Cannot read stack .* Showing a placeholder\.$/,
      ),
      expect.stringMatching(/^S3 destination: Cannot read stack .* Showing a placeholder\.$/),
    ]);
  });

  it('an S3 bucket of unknown region is an error that says where to set it', async () => {
    stackWith({
      ...DATABASE_OUTPUTS,
      [AirbyteStackOutputs.s3AccessKeySecretArn]: SECRET_ARNS.s3AccessKey,
    });
    const raw = { airbyte: { destination: { type: 's3', bucketName: 'my-bucket' } } };
    await expect(
      assembleAirbyteTarget({}, sources('staging', raw, { lenient: false })),
    ).rejects.toThrow(
      'The S3 bucket region is unknown: set airbyte.destination.region or AWS_REGION',
    );
  });
});

describe('assembleAirbyteTarget with --host', () => {
  it('never reads AWS; unset parts come from the environment config', async () => {
    const { target } = await assembleAirbyteTarget(
      { host: 'host.docker.internal', passwordEnv: 'PGPASSWORD' },
      sources('dev', {}, { lenient: false, env: { PGPASSWORD: 'local-secret' } }),
    );
    expect(target.database).toEqual({
      host: 'host.docker.internal',
      port: 5432,
      database: 'app',
      username: 'airbyte',
      password: 'local-secret',
    });
    expect(cloudFormation.calls()).toHaveLength(0);
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it.each([
    [{}, /--password-env VAR is required with --host/],
    [{ passwordEnv: 'UNSET' }, /environment variable UNSET \(--password-env\) is empty or unset/],
  ])(
    'without a password (%j): an error, or in plan a masked placeholder',
    async (flags, problem) => {
      const override = { host: 'h', ...flags };
      await expect(
        assembleAirbyteTarget(override, sources('dev', {}, { lenient: false })),
      ).rejects.toThrow(problem);
      const { target, notes } = await assembleAirbyteTarget(
        override,
        sources('dev', {}, { lenient: true }),
      );
      expect(target.database.password).toBe('**********');
      expect(notes).toEqual([expect.stringMatching(problem)]);
    },
  );
});

describe('the CA certificate', () => {
  const verifyFull = (file: string) => ({
    airbyte: { sslMode: 'verify-full', caCertificateFile: file },
  });

  it('is read, relative to the project root, only for verify-full', async () => {
    writeFileSync(path.join(workDir, 'rds-ca.pem'), 'PEM OF THE CA');
    const override = { host: 'h', passwordEnv: 'P' };
    const env = { P: 'x' };
    const verified = await assembleAirbyteTarget(
      override,
      sources('dev', verifyFull('rds-ca.pem'), { lenient: false, env }),
    );
    expect(verified.target.caCertificate).toBe('PEM OF THE CA');
    const required = await assembleAirbyteTarget(
      override,
      sources('dev', {}, { lenient: false, env }),
    );
    expect(required.target.caCertificate).toBeUndefined();
  });

  it('unreadable, even in plan, is an error naming airbyte.caCertificateFile and the file', async () => {
    const from = sources('dev', verifyFull('missing.pem'), { lenient: true, env: { P: 'x' } });
    await expect(assembleAirbyteTarget({ host: 'h', passwordEnv: 'P' }, from)).rejects.toThrow(
      `Cannot read airbyte.caCertificateFile ${path.join(workDir, 'missing.pem')}: ENOENT`,
    );
  });
});
