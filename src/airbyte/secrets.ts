import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readDatabaseSecret, readSecretJson, SecretError } from '../aws/secrets';
import type { S3Target } from './bodies';

/*
 * The secrets the Airbyte source and destination are built from, read by ARN. Shared by the CLI
 * and the custom resource (which must not load the CloudFormation client it does not use).
 */

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
    throw new SecretError(
      `The Airbyte S3 access key secret ${secretArn} must hold "accessKeyId" and "secretAccessKey" (keys found: ${Object.keys(value).join(', ') || 'none'})`,
    );
  }
  return { accessKeyId, secretAccessKey };
}
