/**
 * `npm run airbyte -- plan|apply|destroy --env dev`: the Airbyte source, destination and
 * connection for an environment, for an Airbyte the stack does not manage (e.g. on a laptop).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { type EnvironmentConfig, loadEnvironmentFromCdkJson } from '../src/config';
import { PRIVATE_HOST } from '../src/config/airbyte';
import { stackNameFor, StackOutputs } from '../src/contract/outputs';
import { applyAirbyte, destroyAirbyte, planAirbyte, type PlanResult } from '../src/airbyte/apply';
import type { AirbyteTarget, DatabaseEndpoint, S3Target } from '../src/airbyte/bodies';
import { AirbyteClient, type AirbyteAuth, LOCAL_AIRBYTE_API_URL } from '../src/airbyte/client';
import {
  AIRBYTE_ENV,
  airbyteCredentialsFromEnv,
  readAirbyteCredentialsSecret,
} from '../src/airbyte/credentials';
import { SECRET_MASK } from '../src/airbyte/mask';
import {
  type AirbyteSettings,
  replicationTargetOf,
  resolveAirbyteSettings,
} from '../src/airbyte/settings';
import { readReplicationCredentials, readS3AccessKey } from '../src/airbyte/secrets';
import { AirbyteStackOutputs } from '../src/contract/outputs';
import { deployedDatabaseOf, readStackOutputs, requireOutput } from '../src/aws/stack-outputs';
import { type CliIo, parseArguments, processIo, runMain, UsageError } from './support';

const USAGE = `Usage: npm run airbyte -- <plan|apply|destroy> --env <name> [options]

  plan       print the requests apply would send (secrets masked); works offline
  apply      create or update the source, destination and connection
  destroy    delete the connection, then the source and the destination

Options:
  --env NAME            environment in cdk.json (dev, staging, prod)
  --host HOST           database host instead of the deployed stack's endpoint
  --port PORT           database port (default: the environment's database.port)
  --database NAME       database name (default: the environment's database.databaseName)
  --username NAME       replication user (default: the environment's replication.user)
  --password-env VAR    environment variable holding that user's password (with --host)
  --api-url URL         Airbyte public API (default: $${AIRBYTE_ENV.apiUrl}, airbyte.apiUrl, ${LOCAL_AIRBYTE_API_URL})
  --workspace-id ID     Airbyte workspace (default: $${AIRBYTE_ENV.workspaceId}, airbyte.workspaceId, the only one)
  --refresh-secrets     re-send passwords and keys even if nothing else changed (after a rotation)

Airbyte credentials: $${AIRBYTE_ENV.clientId} + $${AIRBYTE_ENV.clientSecret} (abctl local credentials; or
Settings > Applications), or $${AIRBYTE_ENV.token}, or the secret named by airbyte.credentialsSecret.`;

/** Process boundaries, replaceable in tests. */

interface CliOptions {
  readonly command: 'plan' | 'apply' | 'destroy';
  readonly env: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly username?: string;
  readonly passwordEnv?: string;
  readonly apiUrl?: string;
  readonly workspaceId?: string;
  readonly refreshSecrets: boolean;
}

function parseCli(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        env: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        database: { type: 'string' },
        username: { type: 'string' },
        'password-env': { type: 'string' },
        'api-url': { type: 'string' },
        'workspace-id': { type: 'string' },
        'refresh-secrets': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError('');
  const [command, ...extra] = positionals;
  if (command !== 'plan' && command !== 'apply' && command !== 'destroy') {
    throw new UsageError(command ? `Unknown command "${command}"` : 'Missing command');
  }
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}"`);
  if (!values.env) throw new UsageError('--env is required');
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new UsageError(`--port must be a TCP port, got "${values.port}"`);
  }
  const overrides = ['port', 'database', 'username', 'password-env'] as const;
  const stray = overrides.find(
    (option) => values[option] !== undefined && values.host === undefined,
  );
  if (stray) throw new UsageError(`--${stray} applies to a database given with --host`);
  return {
    command,
    env: values.env,
    host: values.host,
    port,
    database: values.database,
    username: values.username,
    passwordEnv: values['password-env'],
    apiUrl: values['api-url'],
    workspaceId: values['workspace-id'],
    refreshSecrets: values['refresh-secrets'] ?? false,
  };
}

/** Reads AWS only when needed, and lets `plan` go on with marked placeholders when it cannot. */
class TargetAssembler {
  private outputs: Promise<Record<string, string>> | undefined;
  readonly notes: string[] = [];

  constructor(
    private readonly options: CliOptions,
    private readonly config: EnvironmentConfig,
    private readonly settings: AirbyteSettings,
    private readonly io: CliIo,
    private readonly aws: {
      cloudFormation: CloudFormationClient;
      secretsManager: SecretsManagerClient;
    },
  ) {}

  private get stackName() {
    return stackNameFor(this.config.name);
  }

  private get lenient() {
    return this.options.command === 'plan';
  }

  private stackOutputs(): Promise<Record<string, string>> {
    this.outputs ??= readStackOutputs(this.aws.cloudFormation, this.stackName);
    return this.outputs;
  }

  /** In `plan`, a failure becomes a note and a placeholder; elsewhere it is the error. */
  private async orPlaceholder<T>(read: () => Promise<T>, placeholder: T, what: string): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (!this.lenient) throw error;
      this.notes.push(`${what}: ${(error as Error).message.split('\n')[0]} Showing a placeholder.`);
      return placeholder;
    }
  }

  async database(): Promise<DatabaseEndpoint> {
    const { options, config } = this;
    if (options.host) {
      const variable = options.passwordEnv;
      const password = variable ? this.io.env[variable] : undefined;
      if (!password) {
        const problem = variable
          ? `environment variable ${variable} (--password-env) is empty or unset`
          : `--password-env VAR is required with --host (the replication user's password is read from $VAR)`;
        if (!this.lenient) throw new UsageError(problem);
        this.notes.push(`Database password: ${problem}. Showing a placeholder.`);
      }
      return {
        host: options.host,
        port: options.port ?? config.database.port,
        database: options.database ?? config.database.databaseName,
        username: options.username ?? config.replication.user,
        password: password ?? SECRET_MASK,
      };
    }
    const placeholder: DatabaseEndpoint = {
      host: `<${StackOutputs.databaseEndpoint} of ${this.stackName}>`,
      port: config.database.port,
      database: config.database.databaseName,
      username: config.replication.user,
      password: SECRET_MASK,
    };
    return this.orPlaceholder(
      async () => {
        const deployed = deployedDatabaseOf(await this.stackOutputs(), this.stackName);
        const credentials = await readReplicationCredentials(
          this.aws.secretsManager,
          deployed.replicationUserSecretArn,
        );
        return {
          host: deployed.host,
          port: deployed.port,
          database: deployed.database,
          ...credentials,
        };
      },
      placeholder,
      `Database of stack ${this.stackName}`,
    );
  }

  async s3(): Promise<S3Target | undefined> {
    const destination = this.settings.destination;
    if (destination.type !== 's3') return undefined;
    const region =
      destination.region ??
      this.config.region ??
      this.io.env.AWS_REGION ??
      this.io.env.AWS_DEFAULT_REGION;
    const needsKey = destination.authentication === 'access-key';
    const placeholder: S3Target = {
      bucketName:
        destination.bucketName ?? `<${AirbyteStackOutputs.bucketName} of ${this.stackName}>`,
      region: region ?? '',
      ...(needsKey
        ? { accessKey: { accessKeyId: SECRET_MASK, secretAccessKey: SECRET_MASK } }
        : {}),
    };
    return this.orPlaceholder(
      async () => {
        const needsStack = destination.bucketName === undefined || needsKey;
        const outputs = needsStack ? await this.stackOutputs() : {};
        const bucketName =
          destination.bucketName ??
          requireOutput(outputs, AirbyteStackOutputs.bucketName, this.stackName);
        const bucketRegion = region ?? outputs[AirbyteStackOutputs.bucketRegion];
        if (!bucketRegion) {
          throw new UsageError(
            'The S3 bucket region is unknown: set airbyte.destination.region or AWS_REGION',
          );
        }
        const accessKey = needsKey
          ? await readS3AccessKey(
              this.aws.secretsManager,
              requireOutput(outputs, AirbyteStackOutputs.s3AccessKeySecretArn, this.stackName),
            )
          : undefined;
        return { bucketName, region: bucketRegion, ...(accessKey ? { accessKey } : {}) };
      },
      placeholder,
      'S3 destination',
    );
  }

  caCertificate(): string | undefined {
    const file = this.settings.caCertificateFile;
    if (this.settings.sslMode !== 'verify-full' || !file) return undefined;
    const resolved = path.resolve(this.io.projectRoot ?? path.join(__dirname, '..'), file);
    try {
      return readFileSync(resolved, 'utf8');
    } catch (error) {
      throw new UsageError(
        `Cannot read airbyte.caCertificateFile ${resolved}: ${(error as Error).message}`,
      );
    }
  }

  async target(): Promise<AirbyteTarget> {
    const [database, s3] = [await this.database(), await this.s3()];
    const caCertificate = this.caCertificate();
    return {
      settings: this.settings,
      replication: replicationTargetOf(this.config),
      database,
      ...(caCertificate ? { caCertificate } : {}),
      ...(s3 ? { s3 } : {}),
    };
  }
}

async function airbyteAuth(
  settings: AirbyteSettings,
  io: CliIo,
  secretsManager: SecretsManagerClient,
): Promise<AirbyteAuth | undefined> {
  const fromEnv = airbyteCredentialsFromEnv(io.env);
  if (fromEnv) return fromEnv;
  if (settings.credentialsSecret)
    return readAirbyteCredentialsSecret(secretsManager, settings.credentialsSecret);
  return undefined;
}

function printPlan(plan: PlanResult, apiUrl: string, environment: string, io: CliIo) {
  io.stdout(
    JSON.stringify(
      {
        environment,
        apiUrl,
        workspaceId: plan.workspaceId ?? null,
        source: plan.source,
        destination: plan.destination,
        connection: plan.connection,
      },
      null,
      2,
    ),
  );
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseArguments(() => parseCli(argv), USAGE, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;
  const log = (line: string) => io.stderr(line);
  try {
    const config = loadEnvironmentFromCdkJson(options.env, io.cdkJsonPath);
    const settings = resolveAirbyteSettings(config);
    const region = config.region;
    const aws = {
      cloudFormation: new CloudFormationClient(region ? { region } : {}),
      secretsManager: new SecretsManagerClient(region ? { region } : {}),
    };
    const apiUrl =
      options.apiUrl ?? io.env[AIRBYTE_ENV.apiUrl] ?? settings.apiUrl ?? LOCAL_AIRBYTE_API_URL;
    const workspaceId =
      options.workspaceId ?? io.env[AIRBYTE_ENV.workspaceId] ?? settings.workspaceId;
    const { protocol, hostname } = new URL(apiUrl);
    if (protocol === 'http:' && !PRIVATE_HOST.test(hostname)) {
      log(
        `Warning: ${apiUrl} is plain http on a public address; the Airbyte credentials cross the network unencrypted. Put Airbyte behind https.`,
      );
    }
    const lenient = options.command === 'plan';
    let auth: AirbyteAuth | undefined;
    try {
      auth = await airbyteAuth(settings, io, aws.secretsManager);
    } catch (error) {
      if (!lenient) throw error;
      log(`Airbyte credentials: ${(error as Error).message}`);
    }
    if (!auth && !lenient) {
      throw new UsageError(
        `No Airbyte credentials: set ${AIRBYTE_ENV.clientId} and ${AIRBYTE_ENV.clientSecret} (abctl local credentials, or Settings > Applications in Airbyte), or ${AIRBYTE_ENV.token}, or airbyte.credentialsSecret in cdk.json`,
      );
    }
    const client = auth ? new AirbyteClient({ apiUrl, auth, log }) : undefined;

    if (options.command === 'destroy') {
      const result = await destroyAirbyte(settings, client!, { workspaceId, log });
      io.stdout(JSON.stringify({ environment: config.name, apiUrl, ...result }, null, 2));
      result.notes.forEach((note) => log(`Note: ${note}`));
      return 0;
    }

    const assembler = new TargetAssembler(options, config, settings, io, aws);
    const target = await assembler.target();
    assembler.notes.forEach((note) => log(`Note: ${note}`));

    if (options.command === 'plan') {
      let plan: PlanResult | undefined;
      if (client) {
        try {
          plan = await planAirbyte(target, client, {
            workspaceId,
            refreshSecrets: options.refreshSecrets,
          });
        } catch (error) {
          log(
            `Note: could not compare with Airbyte (${(error as Error).message.split('\n')[0]}); showing the requests only.`,
          );
        }
      } else {
        log(
          `Note: no Airbyte credentials, so the plan does not say what exists already (set ${AIRBYTE_ENV.clientId}/${AIRBYTE_ENV.clientSecret} or ${AIRBYTE_ENV.token}).`,
        );
      }
      plan ??= await planAirbyte(target, undefined, { workspaceId });
      printPlan(plan, apiUrl, config.name, io);
      return 0;
    }

    const result = await applyAirbyte(target, client!, {
      workspaceId,
      refreshSecrets: options.refreshSecrets,
      log,
    });
    io.stdout(JSON.stringify({ environment: config.name, apiUrl, ...result }, null, 2));
    return 0;
  } catch (error) {
    io.stderr(
      `airbyte ${options.command} --env ${options.env} failed: ${(error as Error).message}`,
    );
    return 1;
  }
}

if (require.main === module) runMain(() => main(process.argv.slice(2), processIo));
