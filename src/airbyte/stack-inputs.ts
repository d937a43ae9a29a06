import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { StackOutputs } from '../../lib/outputs';
import { readDatabaseSecret, readSecretJson } from '../aws/secrets';
import type { S3Target } from './bodies';

export class StackInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackInputError';
  }
}

/** The outputs of a deployed stack, by key. */
export async function readStackOutputs(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string>> {
  let outputs;
  try {
    const { Stacks } = await cloudFormation.send(
      new DescribeStacksCommand({ StackName: stackName }),
    );
    outputs = Stacks?.[0]?.Outputs;
  } catch (error) {
    throw new StackInputError(
      `Cannot read stack ${stackName}: ${(error as Error).message}. Deploy it first (npx cdk deploy ${stackName}), check AWS credentials and region, or pass --host/--password-env for a database of your own.`,
    );
  }
  return Object.fromEntries(
    (outputs ?? [])
      .filter((output) => output.OutputKey && output.OutputValue !== undefined)
      .map((output) => [output.OutputKey as string, output.OutputValue as string]),
  );
}

export function requireOutput(
  outputs: Record<string, string>,
  key: string,
  stackName: string,
): string {
  const value = outputs[key];
  if (value === undefined || value === '') {
    throw new StackInputError(
      `Stack ${stackName} has no output ${key}: redeploy it with this version of the project (npx cdk deploy ${stackName})`,
    );
  }
  return value;
}

/** The replication user's name and password from its secret. */
export async function readReplicationCredentials(
  secretsManager: SecretsManagerClient,
  secretArn: string,
): Promise<{ username: string; password: string }> {
  const { username, password } = await readDatabaseSecret(
    secretsManager,
    secretArn,
    'replication user secret',
  );
  return { username, password };
}

/** The S3 access key Airbyte writes with, from the secret the stack created. */
export async function readS3AccessKey(
  secretsManager: SecretsManagerClient,
  secretArn: string,
): Promise<NonNullable<S3Target['accessKey']>> {
  const value = await readSecretJson(secretsManager, secretArn, 'Airbyte S3 access key secret');
  const { accessKeyId, secretAccessKey } = value;
  if (
    typeof accessKeyId !== 'string' ||
    typeof secretAccessKey !== 'string' ||
    !accessKeyId ||
    !secretAccessKey
  ) {
    throw new StackInputError(
      `The Airbyte S3 access key secret ${secretArn} must hold "accessKeyId" and "secretAccessKey" (keys found: ${Object.keys(value).join(', ') || 'none'})`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

/** What the CLI reads from a deployed stack for the database side of the source. */
export interface DeployedDatabase {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly replicationUserSecretArn: string;
}

export function deployedDatabaseOf(
  outputs: Record<string, string>,
  stackName: string,
): DeployedDatabase {
  const port = Number(requireOutput(outputs, StackOutputs.databasePort, stackName));
  return {
    host: requireOutput(outputs, StackOutputs.databaseEndpoint, stackName),
    port,
    database: requireOutput(outputs, StackOutputs.databaseName, stackName),
    replicationUserSecretArn: requireOutput(
      outputs,
      StackOutputs.replicationUserSecretArn,
      stackName,
    ),
  };
}
