import type { EnvironmentConfig } from '../config';
import { readCaCertificateFile } from '../config/ca-certificate';
import { AirbyteStackOutputs, StackOutputs } from '../contract/outputs';
import { type DeployedStack, environmentRegion } from '../aws/deployed-stack';
import { InputError } from '../input-error';
import type { AirbyteTarget, DatabaseEndpoint, S3Target } from './bodies';
import { SECRET_MASK } from './mask';
import { type AirbyteSettings, streamedPublicationOf } from './settings';

/** A database given by hand instead of the deployed stack's (`--host` and the flags with it). */
export interface DatabaseOverride {
  readonly host?: string;
  /** Default: the environment's database.port. */
  readonly port?: number;
  /** Default: the environment's database.databaseName. */
  readonly database?: string;
  /** Default: the environment's replication.user. */
  readonly username?: string;
  /** Environment variable holding the user's password; required with `host`. */
  readonly passwordEnv?: string;
}

/** What an Airbyte target is built from, besides the database override. */
export interface AirbyteTargetSources {
  readonly config: EnvironmentConfig;
  readonly settings: AirbyteSettings;
  /** Read only for what neither the override nor cdk.json gives. */
  readonly stack: DeployedStack;
  /** Where passwords named by `passwordEnv` and the fallback region are read. */
  readonly env: NodeJS.ProcessEnv;
  /** What airbyte.caCertificateFile is relative to. Default: the project's root. */
  readonly projectRoot?: string;
  /**
   * For `plan`, which must work offline: what cannot be read becomes a note and a placeholder
   * (secrets masked) instead of the error.
   */
  readonly lenient: boolean;
}

/** The target, and in lenient mode a note for each placeholder in it. */
export interface AssembledAirbyteTarget {
  readonly target: AirbyteTarget;
  readonly notes: readonly string[];
}

/**
 * The Airbyte source, destination and connection inputs of an environment: its config, the
 * database override or the deployed stack's database and secrets, the S3 bucket and key, the CA
 * certificate. AWS is read only when needed, in the order database, S3, so that errors come in
 * the order they always have.
 */
export async function assembleAirbyteTarget(
  override: DatabaseOverride,
  sources: AirbyteTargetSources,
): Promise<AssembledAirbyteTarget> {
  const assembler = new TargetAssembler(override, sources);
  const target = await assembler.target();
  return { target, notes: assembler.notes };
}

class TargetAssembler {
  readonly notes: string[] = [];

  constructor(
    private readonly override: DatabaseOverride,
    private readonly sources: AirbyteTargetSources,
  ) {}

  /** In lenient mode, a failure becomes a note and a placeholder; otherwise it is the error. */
  private async orPlaceholder<T>(read: () => Promise<T>, placeholder: T, what: string): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (!this.sources.lenient) throw error;
      this.notes.push(`${what}: ${(error as Error).message.split('\n')[0]} Showing a placeholder.`);
      return placeholder;
    }
  }

  private async database(): Promise<DatabaseEndpoint> {
    const { config, stack } = this.sources;
    if (this.override.host) return this.overriddenDatabase(this.override.host);
    const placeholder: DatabaseEndpoint = {
      host: `<${StackOutputs.databaseEndpoint} of ${stack.name}>`,
      port: config.database.port,
      database: config.database.databaseName,
      username: config.replication.user,
      password: SECRET_MASK,
    };
    return this.orPlaceholder(
      async () => {
        const deployed = await stack.database();
        const { username, password } = await stack.replicationUser();
        return {
          host: deployed.host,
          port: deployed.port,
          database: deployed.database,
          username,
          password,
        };
      },
      placeholder,
      `Database of stack ${stack.name}`,
    );
  }

  private overriddenDatabase(host: string): DatabaseEndpoint {
    const { config, env, lenient } = this.sources;
    const variable = this.override.passwordEnv;
    const password = variable ? env[variable] : undefined;
    if (!password) {
      const problem = variable
        ? `environment variable ${variable} (--password-env) is empty or unset`
        : `--password-env VAR is required with --host (the replication user's password is read from $VAR)`;
      if (!lenient) throw new InputError(problem);
      this.notes.push(`Database password: ${problem}. Showing a placeholder.`);
    }
    return {
      host,
      port: this.override.port ?? config.database.port,
      database: this.override.database ?? config.database.databaseName,
      username: this.override.username ?? config.replication.user,
      password: password ?? SECRET_MASK,
    };
  }

  private async s3(): Promise<S3Target | undefined> {
    const { config, settings, stack, env } = this.sources;
    const destination = settings.destination;
    if (destination.type !== 's3') return undefined;
    const region = destination.region ?? environmentRegion(config, env);
    const needsKey = destination.authentication === 'access-key';
    const placeholder: S3Target = {
      bucketName: destination.bucketName ?? `<${AirbyteStackOutputs.bucketName} of ${stack.name}>`,
      region: region ?? '',
      ...(needsKey
        ? { accessKey: { accessKeyId: SECRET_MASK, secretAccessKey: SECRET_MASK } }
        : {}),
    };
    return this.orPlaceholder(
      async () => {
        const needsStack = destination.bucketName === undefined || needsKey;
        const outputs = needsStack ? await stack.outputs() : {};
        const bucketName =
          destination.bucketName ?? (await stack.output(AirbyteStackOutputs.bucketName));
        const bucketRegion = region ?? outputs[AirbyteStackOutputs.bucketRegion];
        if (!bucketRegion) {
          throw new InputError(
            'The S3 bucket region is unknown: set airbyte.destination.region or AWS_REGION',
          );
        }
        const accessKey = needsKey ? await stack.s3AccessKey() : undefined;
        return { bucketName, region: bucketRegion, ...(accessKey ? { accessKey } : {}) };
      },
      placeholder,
      'S3 destination',
    );
  }

  /** Only verify-full checks the server certificate against a CA, so only then is it read. */
  private caCertificate(): string | undefined {
    const { settings, projectRoot } = this.sources;
    const file = settings.caCertificateFile;
    if (settings.sslMode !== 'verify-full' || !file) return undefined;
    return readCaCertificateFile(file, { namedBy: 'airbyte.caCertificateFile', projectRoot });
  }

  async target(): Promise<AirbyteTarget> {
    const [database, s3] = [await this.database(), await this.s3()];
    const caCertificate = this.caCertificate();
    return {
      settings: this.sources.settings,
      replication: streamedPublicationOf(this.sources.config),
      database,
      ...(caCertificate ? { caCertificate } : {}),
      ...(s3 ? { s3 } : {}),
    };
  }
}
