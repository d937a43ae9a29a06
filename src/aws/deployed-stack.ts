import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { EnvironmentConfig } from '../config';
import { AirbyteStackOutputs, stackNameFor, StackOutputs } from '../contract/outputs';
import { readS3AccessKey } from '../airbyte/secrets';
import type { S3Target } from '../airbyte/bodies';
import { type DatabaseSecret, readDatabaseSecret } from './secrets';
import {
  type DeployedDatabase,
  deployedDatabaseOf,
  readStackOutputs,
  requireOutput,
} from './stack-outputs';

/**
 * The region an environment lives in: cdk.json's `region`, else the shell's (`AWS_REGION`, then
 * `AWS_DEFAULT_REGION`, which the AWS SDK itself does not read).
 */
export function environmentRegion(
  config: Pick<EnvironmentConfig, 'region'>,
  env: NodeJS.ProcessEnv,
): string | undefined {
  return config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
}

/**
 * The deployed stack of an environment, read with the caller's AWS credentials: its outputs
 * (described once, on first use) and the secrets they point to. Nothing is read until asked for,
 * so a command that needs no stack never calls AWS. Errors name the stack, and the output or the
 * secret, and say what to do.
 */
export class DeployedStack {
  /** The stack's name, `RdsAirbyteCdc-<environment>`. */
  readonly name: string;
  /** Secrets Manager in the stack's region; also for secrets the stack does not output. */
  readonly secretsManager: SecretsManagerClient;
  private readonly cloudFormation: CloudFormationClient;
  private outputsRead: Promise<Record<string, string>> | undefined;

  /**
   * @param environment the environment's name in cdk.json
   * @param region where the stack is; undefined leaves it to the AWS SDK (AWS_REGION, the profile)
   */
  constructor(environment: string, region: string | undefined) {
    this.name = stackNameFor(environment);
    const clientConfig = region ? { region } : {};
    this.cloudFormation = new CloudFormationClient(clientConfig);
    this.secretsManager = new SecretsManagerClient(clientConfig);
  }

  /** Every output of the stack, by key. */
  outputs(): Promise<Record<string, string>> {
    this.outputsRead ??= readStackOutputs(this.cloudFormation, this.name);
    return this.outputsRead;
  }

  /** One output the caller cannot do without; missing, it is an error saying to redeploy. */
  async output(key: string): Promise<string> {
    return requireOutput(await this.outputs(), key, this.name);
  }

  /** Where the stack's database is, and the secret of its replication user. */
  async database(): Promise<DeployedDatabase> {
    return deployedDatabaseOf(await this.outputs(), this.name);
  }

  /** The master user's name and password. */
  async masterUser(): Promise<DatabaseSecret> {
    const secretArn = await this.output(StackOutputs.masterUserSecretArn);
    return readDatabaseSecret(this.secretsManager, secretArn, 'master user secret');
  }

  /** The replication user's name and password, as the stack last set them. */
  async replicationUser(): Promise<DatabaseSecret> {
    const { replicationUserSecretArn } = await this.database();
    return readDatabaseSecret(
      this.secretsManager,
      replicationUserSecretArn,
      'replication user secret',
    );
  }

  /** The access key the Airbyte S3 destination writes with. */
  async s3AccessKey(): Promise<NonNullable<S3Target['accessKey']>> {
    const secretArn = await this.output(AirbyteStackOutputs.s3AccessKeySecretArn);
    return readS3AccessKey(this.secretsManager, secretArn);
  }
}
