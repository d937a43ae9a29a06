import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { main } from '../../cli/airbyte';
import { StackOutputs } from '../../src/contract/outputs';
import { AirbyteStackOutputs } from '../../src/contract/outputs';
import {
  FakeAirbyteServer,
  loadConnectorValidators,
  postgresSourceErrors,
} from '../support/fake-airbyte-server';

const cloudFormation = mockClient(CloudFormationClient);
const secretsManager = mockClient(SecretsManagerClient);
const validators = loadConnectorValidators();

const REPLICATION_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds-airbyte-cdc-dev/airbyte-AbCdEf';
const S3_KEY_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte-s3-key-AbCdEf';
const AIRBYTE_SECRET_ID = 'airbyte/application';
const DB_PASSWORD = 'password-from-the-replication-secret';
const S3_SECRET_KEY = 'secret-key-from-the-s3-secret';

let fake: FakeAirbyteServer;
let workDir: string;
let cdkJsonPath: string;

function writeCdkJson(environments: Record<string, unknown>) {
  writeFileSync(cdkJsonPath, JSON.stringify({ context: { environments } }));
}

function outputs(values: Record<string, string>) {
  return {
    Stacks: [
      {
        StackName: 'x',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE' as const,
        Outputs: Object.entries(values).map(([OutputKey, OutputValue]) => ({
          OutputKey,
          OutputValue,
        })),
      },
    ],
  };
}

const DEV_OUTPUTS = {
  [StackOutputs.databaseEndpoint]: 'rds-airbyte-cdc-dev.abc.eu-west-1.rds.amazonaws.com',
  [StackOutputs.databasePort]: '5432',
  [StackOutputs.databaseName]: 'app',
  [StackOutputs.replicationUserSecretArn]: REPLICATION_SECRET_ARN,
};

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(argv, {
    env: { AWS_REGION: 'eu-west-1', ...env },
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    cdkJsonPath,
    projectRoot: workDir,
  });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

const airbyteEnv = () => ({
  AIRBYTE_CLIENT_ID: fake.clientId,
  AIRBYTE_CLIENT_SECRET: fake.clientSecret,
  AIRBYTE_API_URL: fake.apiUrl,
});

beforeEach(async () => {
  cloudFormation.reset();
  secretsManager.reset();
  fake = await new FakeAirbyteServer().start();
  workDir = mkdtempSync(path.join(tmpdir(), 'airbyte-cli-'));
  cdkJsonPath = path.join(workDir, 'cdk.json');
  writeCdkJson({ dev: {}, staging: { lifecycle: { removalPolicy: 'snapshot' } } });
  secretsManager.on(GetSecretValueCommand, { SecretId: REPLICATION_SECRET_ARN }).resolves({
    SecretString: JSON.stringify({
      username: 'airbyte',
      password: DB_PASSWORD,
      host: 'ignored',
      port: 5432,
    }),
  });
  secretsManager.on(GetSecretValueCommand, { SecretId: S3_KEY_SECRET_ARN }).resolves({
    SecretString: JSON.stringify({
      accessKeyId: 'AKIAEXAMPLEEXAMPLE12',
      secretAccessKey: S3_SECRET_KEY,
    }),
  });
});

afterEach(async () => {
  await fake.stop();
  rmSync(workDir, { recursive: true, force: true });
  expect(fake.validationErrors).toEqual([]);
});

describe('npm run airbyte -- plan', () => {
  it('works offline with the project cdk.json: placeholders, a source body every Postgres schema accepts, exit 0', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(new Error('Could not load credentials from any providers'));
    cdkJsonPath = path.join(__dirname, '..', '..', 'cdk.json');

    const result = await run(['plan', '--env', 'dev']);

    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.source.action).toBeUndefined();
    const configuration = plan.source.body.configuration;
    expect(postgresSourceErrors(validators, configuration)).toEqual([]);
    expect(configuration.host).toBe('<DatabaseEndpoint of RdsAirbyteCdc-dev>');
    expect(configuration.password).toBe('**********');
    expect(result.stderr).toMatch(
      /Cannot read stack RdsAirbyteCdc-dev: Could not load credentials.*Showing a placeholder/,
    );
    expect(result.stderr).toMatch(/no Airbyte credentials/);
    expect(fake.requests).toHaveLength(0);
  });

  it('reads the deployed stack and masks the secrets it read', async () => {
    cloudFormation
      .on(DescribeStacksCommand, { StackName: 'RdsAirbyteCdc-dev' })
      .resolves(outputs(DEV_OUTPUTS));

    const result = await run(['plan', '--env', 'dev']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).source.body.configuration).toMatchObject({
      host: DEV_OUTPUTS.DatabaseEndpoint,
      password: '**********',
    });
    expect(result.stdout + result.stderr).not.toContain(DB_PASSWORD);
  });

  it('with Airbyte credentials, says what apply would change', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(outputs(DEV_OUTPUTS));
    expect((await run(['apply', '--env', 'dev'], airbyteEnv())).code).toBe(0);

    const result = await run(['plan', '--env', 'dev'], airbyteEnv());

    const plan = JSON.parse(result.stdout);
    expect([plan.source.action, plan.destination.action, plan.connection.action]).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    expect(plan.workspaceId).toBe(fake.workspaceId);
  });
});

describe('npm run airbyte -- apply / destroy', () => {
  it('applies with the stack outputs and the replication secret, never printing the password', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(outputs(DEV_OUTPUTS));

    const result = await run(['apply', '--env', 'dev'], airbyteEnv());

    expect(result.stderr).not.toMatch(/failed/);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).connection.action).toBe('create');
    const [source] = [...fake.sources.values()];
    expect(source.configuration).toMatchObject({
      host: DEV_OUTPUTS.DatabaseEndpoint,
      username: 'airbyte',
      password: DB_PASSWORD,
    });
    expect(cloudFormation.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({
      StackName: 'RdsAirbyteCdc-dev',
    });
    expect(
      secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId),
    ).toEqual([REPLICATION_SECRET_ARN]);
    expect(result.stdout + result.stderr).not.toContain(DB_PASSWORD);
    expect(result.stdout + result.stderr).not.toContain(fake.clientSecret);
  });

  it('applies to a local database with --host/--password-env without touching AWS', async () => {
    const result = await run(
      [
        'apply',
        '--env',
        'dev',
        '--host',
        'host.docker.internal',
        '--port',
        '15432',
        '--password-env',
        'PGPASSWORD_AIRBYTE',
      ],
      { ...airbyteEnv(), PGPASSWORD_AIRBYTE: 'local-secret' },
    );

    expect(result.code).toBe(0);
    expect([...fake.sources.values()][0].configuration).toMatchObject({
      host: 'host.docker.internal',
      port: 15432,
      password: 'local-secret',
    });
    expect(cloudFormation.calls()).toHaveLength(0);
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it('creates the S3 destination with the bucket and access key of the stack', async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: 'RdsAirbyteCdc-staging' }).resolves(
      outputs({
        ...DEV_OUTPUTS,
        [AirbyteStackOutputs.bucketName]: 'rds-airbyte-cdc-staging-data',
        [AirbyteStackOutputs.s3AccessKeySecretArn]: S3_KEY_SECRET_ARN,
      }),
    );

    const result = await run(['apply', '--env', 'staging'], airbyteEnv());

    expect(result.stderr).not.toMatch(/failed/);
    expect([...fake.destinations.values()][0].configuration).toMatchObject({
      destinationType: 's3',
      s3_bucket_name: 'rds-airbyte-cdc-staging-data',
      s3_bucket_region: 'eu-west-1',
      s3_bucket_path: 'rds-airbyte-cdc/staging',
      secret_access_key: S3_SECRET_KEY,
    });
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(1);
    expect(result.stdout + result.stderr).not.toContain(S3_SECRET_KEY);
  });

  it('reads the Airbyte credentials from airbyte.credentialsSecret', async () => {
    writeCdkJson({
      dev: { airbyte: { credentialsSecret: AIRBYTE_SECRET_ID, workspaceId: fake.workspaceId } },
    });
    secretsManager.on(GetSecretValueCommand, { SecretId: AIRBYTE_SECRET_ID }).resolves({
      SecretString: JSON.stringify({ clientId: fake.clientId, clientSecret: fake.clientSecret }),
    });
    cloudFormation.on(DescribeStacksCommand).resolves(outputs(DEV_OUTPUTS));

    const result = await run(['apply', '--env', 'dev', '--api-url', fake.apiUrl]);

    expect(result.code).toBe(0);
    expect(fake.connections.size).toBe(1);
  });

  it('destroys by name without reading the stack', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(outputs(DEV_OUTPUTS));
    await run(['apply', '--env', 'dev'], airbyteEnv());
    cloudFormation.reset();

    const result = await run(['destroy', '--env', 'dev'], airbyteEnv());

    expect(result.code).toBe(0);
    expect(
      JSON.parse(result.stdout).outcomes.map((outcome: { action: string }) => outcome.action),
    ).toEqual(['delete', 'delete', 'delete']);
    expect(result.stderr).toMatch(
      /Note: The replication slot and publication in PostgreSQL were left in place/,
    );
    expect(fake.sources.size + fake.destinations.size + fake.connections.size).toBe(0);
    expect(cloudFormation.calls()).toHaveLength(0);
  });
});

describe('errors', () => {
  it.each([
    [['apply'], 2, /--env is required/],
    [['upsert', '--env', 'dev'], 2, /Unknown command "upsert"/],
    [['plan', '--env', 'dev', '--port', '99999', '--host', 'h'], 2, /--port must be a TCP port/],
    [
      ['plan', '--env', 'dev', '--port', '5433'],
      2,
      /--port applies to a database given with --host/,
    ],
    [['plan', '--env', 'nope'], 1, /Unknown environment "nope"/],
  ])('%j exits %i with a clear message', async (argv, code, message) => {
    const result = await run(argv);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });

  it('warns before sending credentials over plain http to a public address', async () => {
    const result = await run([
      'plan',
      '--env',
      'dev',
      '--api-url',
      'http://airbyte.example.com:8000/api/public/v1',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /Warning: http:\/\/airbyte\.example\.com:8000\/api\/public\/v1 is plain http on a public address/,
    );
    const local = await run([
      'plan',
      '--env',
      'dev',
      '--api-url',
      'http://localhost:8000/api/public/v1',
    ]);
    expect(local.stderr).not.toMatch(/Warning/);
  });

  it('apply without Airbyte credentials says where to put them', async () => {
    const result = await run(['apply', '--env', 'dev', '--host', 'h', '--password-env', 'P'], {
      P: 'x',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /No Airbyte credentials: set AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET/,
    );
  });

  it('apply with --host but an empty password variable names the variable', async () => {
    const result = await run(
      ['apply', '--env', 'dev', '--host', 'h', '--password-env', 'MISSING_VAR'],
      airbyteEnv(),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /environment variable MISSING_VAR \(--password-env\) is empty or unset/,
    );
    expect(fake.writes()).toHaveLength(0);
  });

  it('apply against a stack without the expected output says to redeploy', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolves(outputs({ [StackOutputs.databaseEndpoint]: 'h' }));
    const result = await run(['apply', '--env', 'dev'], airbyteEnv());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /Stack RdsAirbyteCdc-dev has no output DatabasePort: redeploy it/,
    );
  });

  it('apply with an unreadable replication secret names the secret and the permission', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(outputs(DEV_OUTPUTS));
    secretsManager
      .on(GetSecretValueCommand, { SecretId: REPLICATION_SECRET_ARN })
      .rejects(new Error('AccessDeniedException'));
    const result = await run(['apply', '--env', 'dev'], airbyteEnv());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `Cannot read the replication user secret ${REPLICATION_SECRET_ARN}: AccessDeniedException`,
    );
  });
});
