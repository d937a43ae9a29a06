import type { Stack } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { StackOutputs } from '../../../src/contract/outputs';

/** Secrets a deployed stack's outputs point to. */
export const SECRET_ARNS = {
  masterUser: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:master-AbCdEf',
  replicationUser: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:repl-AbCdEf',
  s3AccessKey: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s3-key-AbCdEf',
} as const;

/** The database outputs of a deployed dev stack, master secret included. */
export const DATABASE_OUTPUTS: Readonly<Record<string, string>> = {
  [StackOutputs.databaseEndpoint]: 'rds-airbyte-cdc-dev.abc123.eu-west-1.rds.amazonaws.com',
  [StackOutputs.databasePort]: '5433',
  [StackOutputs.databaseName]: 'deployed_db',
  [StackOutputs.masterUserSecretArn]: SECRET_ARNS.masterUser,
  [StackOutputs.replicationUserSecretArn]: SECRET_ARNS.replicationUser,
};

/** What DescribeStacks answers for a stack with these outputs. */
export function describedStack(outputs: Readonly<Record<string, string>>): { Stacks: Stack[] } {
  return {
    Stacks: [
      {
        StackName: 'RdsAirbyteCdc-dev',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({
          OutputKey,
          OutputValue,
        })),
      },
    ],
  };
}

/** Make GetSecretValue answer each secret id with its JSON value. */
export function answerSecrets(
  secretsManager: AwsClientStub<SecretsManagerClient>,
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>>,
): void {
  for (const [secretId, value] of Object.entries(secrets)) {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: secretId })
      .resolves({ SecretString: JSON.stringify(value) });
  }
}
