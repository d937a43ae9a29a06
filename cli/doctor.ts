/**
 * `npm run doctor -- --env dev`, or `npm run doctor -- --host H --port P --user U --password-env VAR
 * --database D`: is this PostgreSQL ready for Airbyte CDC, and if not, exactly what to run.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { type EnvironmentConfig, loadEnvironmentFromCdkJson } from '../src/config';
import { stackNameFor, StackOutputs } from '../src/contract/outputs';
import { deployedDatabaseOf, readStackOutputs, requireOutput } from '../src/aws/stack-outputs';
import { readDatabaseSecret } from '../src/aws/secrets';
import {
  exitCodeOf,
  formatReport,
  isLoopbackHost,
  rdsInstanceIdentifierFromHost,
  reportJson,
  runDoctor,
  type DoctorOptions,
} from '../src/doctor';
import type { ConnectOptions, TlsOptions } from '../src/replication';
import { type CliIo, parseArguments, processIo, runMain, UsageError } from './support';

const USAGE = `Usage: npm run doctor -- [--env NAME] [options]

Checks that a PostgreSQL is ready for Airbyte CDC: one line per check (✅ pass, ⚠️ warning,
❌ failure, ➖ not applicable) and, under each ❌/⚠️, the SQL to run or the parameter to set.

Which database (default: the deployed stack of --env, read with your AWS credentials: its
outputs, the master user's secret to connect, the replication user's secret to try its login):
  --env NAME                  environment in cdk.json (default: dev); also the names, tables and
                              thresholds checked
  --host HOST                 check this server instead of the deployed stack
  --port PORT                 (default: the environment's database.port)
  --database NAME             (default: the environment's database.databaseName)
  --user NAME                 role to connect as: the master user, or the replication user
                              itself (default: the environment's replication.user)
  --password-env VAR          environment variable holding that role's password (required with --host)
  --replication-user NAME     the replication user to check (default: replication.user)
  --replication-password-env VAR
                              its password, to try its login when --user is another role
  --heartbeat-table NAME      Debezium heartbeat table the user may write (default:
                              replication.heartbeatTable)
  --ssl verify-full|disable   TLS (default: verify-full, except plain TCP for 127.0.0.1/localhost
                              without --ca-file)
  --require-tls               fail the TLS check for plain TCP to 127.0.0.1/localhost too
  --ca-file PATH              CA bundle the server certificate must chain to (for RDS, the RDS
                              global bundle; default: airbyte.caCertificateFile, else the Node.js
                              trust store and NODE_EXTRA_CA_CERTS)
  --lag-warn-bytes N          warn when the slot retains more WAL (default:
                              monitoring.oldestReplicationSlotLagBytes)
  --json                      print the report as JSON
  --fail-on-warning           exit 1 on ⚠️ too

Exit code: 0 when no check failed (warnings included, unless --fail-on-warning), 1 when one did
or the database could not be read, 2 for a usage error.`;

/** Process boundaries, replaceable in tests. */

interface CliOptions {
  readonly env: string;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly user?: string;
  readonly passwordEnv?: string;
  readonly replicationUser?: string;
  readonly replicationPasswordEnv?: string;
  readonly heartbeatTable?: string;
  readonly ssl?: TlsOptions['mode'];
  readonly caFile?: string;
  readonly requireTls: boolean;
  readonly lagWarnBytes?: number;
  readonly json: boolean;
  readonly failOnWarning: boolean;
}

function positiveInteger(option: string, value: string | undefined, max: number) {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max) {
    throw new UsageError(`--${option} must be a whole number from 1 to ${max}, got "${value}"`);
  }
  return number;
}

function parseCli(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        env: { type: 'string', default: 'dev' },
        host: { type: 'string' },
        port: { type: 'string' },
        database: { type: 'string' },
        user: { type: 'string' },
        'password-env': { type: 'string' },
        'replication-user': { type: 'string' },
        'replication-password-env': { type: 'string' },
        'heartbeat-table': { type: 'string' },
        ssl: { type: 'string' },
        'ca-file': { type: 'string' },
        'require-tls': { type: 'boolean', default: false },
        'lag-warn-bytes': { type: 'string' },
        json: { type: 'boolean', default: false },
        'fail-on-warning': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) throw new UsageError('');
  const ssl = values.ssl;
  if (ssl !== undefined && ssl !== 'verify-full' && ssl !== 'disable') {
    throw new UsageError(`--ssl must be verify-full or disable, got "${ssl}"`);
  }
  const hostOnly = [
    'port',
    'database',
    'user',
    'password-env',
    'replication-password-env',
  ] as const;
  const stray = hostOnly.find((option) => values[option] !== undefined && !values.host);
  if (stray) {
    throw new UsageError(
      `--${stray} applies to a database given with --host (without --host the deployed stack of --env is checked)`,
    );
  }
  if (values.host && !values['password-env']) {
    throw new UsageError(
      '--password-env VAR is required with --host (the password of --user is read from $VAR)',
    );
  }
  return {
    env: values.env ?? 'dev',
    host: values.host,
    port: positiveInteger('port', values.port, 65535),
    database: values.database,
    user: values.user,
    passwordEnv: values['password-env'],
    replicationUser: values['replication-user'],
    replicationPasswordEnv: values['replication-password-env'],
    heartbeatTable: values['heartbeat-table'],
    ssl,
    caFile: values['ca-file'],
    requireTls: values['require-tls'] ?? false,
    lagWarnBytes: positiveInteger(
      'lag-warn-bytes',
      values['lag-warn-bytes'],
      Number.MAX_SAFE_INTEGER,
    ),
    json: values.json ?? false,
    failOnWarning: values['fail-on-warning'] ?? false,
  };
}

function readCaFile(file: string, io: CliIo): string {
  const resolved = path.resolve(io.projectRoot ?? path.join(__dirname, '..'), file);
  try {
    return readFileSync(resolved, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read the CA file ${resolved}: ${(error as Error).message}`);
  }
}

/** verify-full unless asked otherwise; plain TCP by default only to this machine. */
function tlsFor(host: string, options: CliOptions, config: EnvironmentConfig, io: CliIo) {
  const caFile = options.caFile ?? config.airbyte.caCertificateFile;
  const mode =
    options.ssl ??
    (isLoopbackHost(host) && options.caFile === undefined ? 'disable' : 'verify-full');
  if (mode === 'disable') return { mode } as const;
  return caFile === undefined
    ? ({ mode } as const)
    : ({ mode, ca: readCaFile(caFile, io) } as const);
}

function passwordFrom(variable: string, option: string, io: CliIo): string {
  const value = io.env[variable];
  if (!value) {
    throw new UsageError(`Environment variable ${variable} (${option}) is empty or unset`);
  }
  return value;
}

/** Connection, replication user and its password, from the flags or the deployed stack. */
async function resolveTarget(
  options: CliOptions,
  config: EnvironmentConfig,
  io: CliIo,
): Promise<Pick<DoctorOptions, 'connection' | 'replication' | 'replicationPassword'>> {
  const replication = {
    ...config.replication,
    user: options.replicationUser ?? config.replication.user,
  };
  if (options.host) {
    const connection: ConnectOptions = {
      host: options.host,
      port: options.port ?? config.database.port,
      database: options.database ?? config.database.databaseName,
      user: options.user ?? replication.user,
      password: passwordFrom(options.passwordEnv as string, '--password-env', io),
      tls: tlsFor(options.host, options, config, io),
    };
    const replicationPassword =
      options.replicationPasswordEnv === undefined
        ? undefined
        : passwordFrom(options.replicationPasswordEnv, '--replication-password-env', io);
    return { connection, replication, replicationPassword };
  }

  const stackName = stackNameFor(config.name);
  const region = config.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  const aws = {
    cloudFormation: new CloudFormationClient(region ? { region } : {}),
    secretsManager: new SecretsManagerClient(region ? { region } : {}),
  };
  const outputs = await readStackOutputs(aws.cloudFormation, stackName);
  const deployed = deployedDatabaseOf(outputs, stackName);
  const master = await readDatabaseSecret(
    aws.secretsManager,
    requireOutput(outputs, StackOutputs.masterUserSecretArn, stackName),
    'master user secret',
  );
  const replicationSecret = await readDatabaseSecret(
    aws.secretsManager,
    deployed.replicationUserSecretArn,
    'replication user secret',
  );
  return {
    connection: {
      host: deployed.host,
      port: deployed.port,
      database: deployed.database,
      user: master.username,
      password: master.password,
      tls: tlsFor(deployed.host, options, config, io),
    },
    // The deployed user is the one to check, should cdk.json have changed since.
    replication: { ...replication, user: options.replicationUser ?? replicationSecret.username },
    replicationPassword: replicationSecret.password,
  };
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseArguments(() => parseCli(argv), USAGE, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;
  try {
    const config = loadEnvironmentFromCdkJson(options.env, io.cdkJsonPath);
    const target = await resolveTarget(options, config, io);
    const report = await runDoctor({
      ...target,
      heartbeatTable: options.heartbeatTable,
      requireTls: options.requireTls,
      slotLagWarnBytes: options.lagWarnBytes ?? config.monitoring.oldestReplicationSlotLagBytes,
      rdsInstanceIdentifier: rdsInstanceIdentifierFromHost(target.connection.host),
    });
    io.stdout(options.json ? reportJson(report, options.failOnWarning) : formatReport(report));
    return exitCodeOf(report, options.failOnWarning);
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof UsageError) {
      io.stderr(`${message}\n\n${USAGE}`);
      return 2;
    }
    const alternative =
      options.host || message.includes('--host')
        ? ''
        : '\nWithout AWS access, check any database with --host H --port P --user U --password-env VAR --database D.';
    io.stderr(`doctor --env ${options.env} failed: ${message}${alternative}`);
    return 1;
  }
}

if (require.main === module) runMain(() => main(process.argv.slice(2), processIo));
