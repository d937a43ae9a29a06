import type { EnvironmentConfig } from '../config';
import { readCaCertificateFile } from '../config/ca-certificate';
import { DeployedStack, environmentRegion } from '../aws/deployed-stack';
import { InputError } from '../input-error';
import { slotThresholdsFrom } from '../watchdog';
import type { ConnectOptions, TlsOptions } from '../replication';
import { isLoopbackHost, rdsDatabaseFromHost, type DoctorOptions } from '.';

/**
 * Which database `npm run doctor` checks, as whom, and how strictly, as its flags give it.
 * Without `host`, the deployed stack of the environment is checked.
 */
export interface DoctorRequest {
  /** Check this server instead of the deployed stack. */
  readonly host?: string;
  /** With `host`. Default: the environment's database.port. */
  readonly port?: number;
  /** With `host`. Default: the environment's database.databaseName. */
  readonly database?: string;
  /** With `host`: the role to connect as. Default: the replication user. */
  readonly user?: string;
  /** With `host`, required: the environment variable holding the password of `user`. */
  readonly passwordEnv?: string;
  /** The replication user to check. Default: replication.user, or the deployed stack's. */
  readonly replicationUser?: string;
  /** With `host`: the environment variable holding its password, to try its login. */
  readonly replicationPasswordEnv?: string;
  /** Debezium heartbeat table the user may write. Default: replication.heartbeatTable. */
  readonly heartbeatTable?: string;
  /** Default: verify-full, except plain TCP to this machine when no CA file is given. */
  readonly ssl?: TlsOptions['mode'];
  /** CA bundle the server certificate must chain to. Default: airbyte.caCertificateFile. */
  readonly caFile?: string;
  /** Fail the TLS check for plain TCP to this machine too. */
  readonly requireTls: boolean;
  /** Warn above this much retained WAL. Default: monitoring.oldestReplicationSlotLagBytes. */
  readonly lagWarnBytes?: number;
  /** Also explain what upgrading the engine to this version does to the slot (checked by the CLI). */
  readonly upgradeTo?: string;
}

/** The process around the doctor. */
export interface DoctorContext {
  /** Where the passwords named by the request, and the fallback AWS region, are read. */
  readonly env: NodeJS.ProcessEnv;
  /** What a relative CA file is resolved against. Default: the project's root. */
  readonly projectRoot?: string;
}

/**
 * What {@link runDoctor} gets for a request: the connection, the replication user and its
 * password, from the flags or from the deployed stack (its outputs and both users' secrets).
 * A password variable that is unset or a CA file that cannot be read is an {@link InputError}.
 */
export async function doctorOptionsFor(
  request: DoctorRequest,
  config: EnvironmentConfig,
  context: DoctorContext,
): Promise<DoctorOptions> {
  const target = request.host
    ? givenTarget(request.host, request, config, context)
    : await deployedTarget(request, config, context);
  return {
    ...target,
    heartbeatTable: request.heartbeatTable,
    requireTls: request.requireTls,
    slotLagWarnBytes: request.lagWarnBytes ?? config.monitoring.oldestReplicationSlotLagBytes,
    rdsDatabase: rdsDatabaseFromHost(target.connection.host),
    slotThresholds: slotThresholdsFrom(config),
    ...(request.upgradeTo === undefined
      ? {}
      : {
          upgrade: {
            targetVersion: request.upgradeTo,
            environment: config.name,
            slotName: target.replication.slotName,
            publicationName: target.replication.publicationName,
            allowSlotRecreation: config.replication.allowSlotRecreation,
            airbyteManaged: config.airbyte.apiUrl !== undefined,
          },
        }),
  };
}

type DoctorTarget = Pick<DoctorOptions, 'connection' | 'replication' | 'replicationPassword'>;

function givenTarget(
  host: string,
  request: DoctorRequest,
  config: EnvironmentConfig,
  context: DoctorContext,
): DoctorTarget {
  const replication = replicationOf(request, config);
  if (request.passwordEnv === undefined) {
    throw new InputError(
      '--password-env VAR is required with --host (the password of --user is read from $VAR)',
    );
  }
  const connection: ConnectOptions = {
    host,
    port: request.port ?? config.database.port,
    database: request.database ?? config.database.databaseName,
    user: request.user ?? replication.user,
    password: passwordFrom(request.passwordEnv, '--password-env', context.env),
    tls: tlsFor(host, request, config, context),
  };
  const replicationPassword =
    request.replicationPasswordEnv === undefined
      ? undefined
      : passwordFrom(request.replicationPasswordEnv, '--replication-password-env', context.env);
  return { connection, replication, replicationPassword };
}

/** Connects as the master user, and tries the replication user's login with its own secret. */
async function deployedTarget(
  request: DoctorRequest,
  config: EnvironmentConfig,
  context: DoctorContext,
): Promise<DoctorTarget> {
  const stack = new DeployedStack(config.name, environmentRegion(config, context.env));
  const deployed = await stack.database();
  const master = await stack.masterUser();
  const replicationUser = await stack.replicationUser();
  return {
    connection: {
      host: deployed.host,
      port: deployed.port,
      database: deployed.database,
      user: master.username,
      password: master.password,
      tls: tlsFor(deployed.host, request, config, context),
    },
    // The deployed user is the one to check, should cdk.json have changed since.
    replication: {
      ...replicationOf(request, config),
      user: request.replicationUser ?? replicationUser.username,
    },
    // The secret's password is that user's: another --replication-user is not tried with it.
    ...(request.replicationUser === undefined ||
    request.replicationUser === replicationUser.username
      ? { replicationPassword: replicationUser.password }
      : {}),
  };
}

function replicationOf(request: DoctorRequest, config: EnvironmentConfig) {
  return { ...config.replication, user: request.replicationUser ?? config.replication.user };
}

function passwordFrom(variable: string, option: string, env: NodeJS.ProcessEnv): string {
  const value = env[variable];
  if (!value) {
    throw new InputError(`Environment variable ${variable} (${option}) is empty or unset`);
  }
  return value;
}

/** verify-full unless asked otherwise; plain TCP by default only to this machine. */
function tlsFor(
  host: string,
  request: DoctorRequest,
  config: EnvironmentConfig,
  context: DoctorContext,
): TlsOptions {
  const caFile = request.caFile ?? config.airbyte.caCertificateFile;
  const mode =
    request.ssl ??
    (isLoopbackHost(host) && request.caFile === undefined ? 'disable' : 'verify-full');
  if (mode === 'disable') return { mode };
  if (caFile === undefined) return { mode };
  const { projectRoot } = context;
  // Named by where it came from: the flag, or the environment's config.
  const namedBy =
    request.caFile !== undefined
      ? 'the CA file (--ca-file)'
      : `the CA file (airbyte.caCertificateFile of environment "${config.name}")`;
  return { mode, ca: readCaCertificateFile(caFile, { namedBy, projectRoot }) };
}
