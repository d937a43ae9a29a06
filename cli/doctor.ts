/**
 * `npm run doctor -- --env dev`, or `npm run doctor -- --host H --port P --user U --password-env VAR
 * --database D`: is this PostgreSQL ready for Airbyte CDC, and if not, exactly what to run.
 */
import { loadEnvironmentFromCdkJson } from '../src/config';
import {
  exitCodeOf,
  formatReport,
  reportJson,
  runDoctor,
  upgradeTargetProblem,
} from '../src/doctor';
import { doctorOptionsFor, type DoctorRequest } from '../src/doctor/target';
import { InputError } from '../src/input-error';
import {
  type CliIo,
  integerFlag,
  parseArguments,
  parseFlags,
  processIo,
  runMain,
  UsageError,
} from './support';

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
  --upgrade-to VERSION        after the checks, what upgrading the engine to VERSION (18, 17.6)
                              does to the slot, from the server's version and the slot's state,
                              and the steps (docs/upgrading.md)
  --json                      print the report as JSON
  --fail-on-warning           exit 1 on ⚠️ too

Exit code: 0 when no check failed (warnings included, unless --fail-on-warning), 1 when one did
or the database could not be read, 2 for a usage error.`;

type CliOptions = DoctorRequest & Readonly<{ env: string; json: boolean; failOnWarning: boolean }>;

function parseCli(argv: string[]): CliOptions {
  const { values, camelCased } = parseFlags({
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
      'upgrade-to': { type: 'string' },
      json: { type: 'boolean', default: false },
      'fail-on-warning': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const ssl = values.ssl;
  if (ssl !== undefined && ssl !== 'verify-full' && ssl !== 'disable') {
    throw new UsageError(`--ssl must be verify-full or disable, got "${ssl}"`);
  }
  const upgradeTo = values['upgrade-to'];
  const upgradeProblem = upgradeTo === undefined ? undefined : upgradeTargetProblem(upgradeTo);
  if (upgradeProblem) throw new UsageError(`--upgrade-to ${upgradeProblem}`);
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
  return {
    ...camelCased,
    port: integerFlag(values, 'port', 1, 65535),
    ssl,
    lagWarnBytes: integerFlag(values, 'lag-warn-bytes', 1, Number.MAX_SAFE_INTEGER),
  };
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseArguments(() => parseCli(argv), USAGE, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;
  try {
    const config = loadEnvironmentFromCdkJson(options.env, io.cdkJsonPath);
    const report = await runDoctor(await doctorOptionsFor(options, config, io));
    io.stdout(options.json ? reportJson(report, options.failOnWarning) : formatReport(report));
    return exitCodeOf(report, options.failOnWarning);
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof InputError) {
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
