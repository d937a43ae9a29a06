/**
 * `npm run airbyte -- plan|apply|destroy --env dev`: the Airbyte source, destination and
 * connection for an environment, for an Airbyte the stack does not manage (e.g. on a laptop).
 */
import { loadEnvironmentFromCdkJson } from '../src/config';
import { LOCAL_AIRBYTE_API_URL } from '../src/airbyte/client';
import { type AirbyteCommandRequest, runAirbyteCommand } from '../src/airbyte/command';
import { AIRBYTE_ENV } from '../src/airbyte/credentials';
import { type CliIo, parseArguments, parseFlags, processIo, runMain, UsageError } from './support';

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

interface CliOptions extends AirbyteCommandRequest {
  readonly env: string;
}

function parseCli(argv: string[]): CliOptions {
  const { values, positionals, camelCased } = parseFlags({
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
  return { ...camelCased, command, env: values.env, port };
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseArguments(() => parseCli(argv), USAGE, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;
  const log = (line: string) => io.stderr(line);
  try {
    const config = loadEnvironmentFromCdkJson(options.env, io.cdkJsonPath);
    const { env, projectRoot } = io;
    const outcome = await runAirbyteCommand(options, config, { env, projectRoot, log });
    io.stdout(JSON.stringify(outcome.report, null, 2));
    outcome.notes.forEach((note) => log(`Note: ${note}`));
    return 0;
  } catch (error) {
    io.stderr(
      `airbyte ${options.command} --env ${options.env} failed: ${(error as Error).message}`,
    );
    return 1;
  }
}

if (require.main === module) runMain(() => main(process.argv.slice(2), processIo));
