/**
 * `npm run local`: the whole tutorial on this machine, on a throwaway PostgreSQL configured like
 * the environment's RDS instance. `--keep` leaves it running for Airbyte; `--stop` stops it.
 */
import { tmpdir } from 'os';
import * as path from 'path';
import { keptServersDir, stopKeptServers } from '../src/local/kept-servers';
import { prepareChangesFile, runLocal } from '../src/local/run';
import { integerFlag, parseArguments, parseFlags, processIo, runMain, UsageError } from './support';

const DEFAULT_CHANGES_FILE = path.join(tmpdir(), 'rds-airbyte-cdc-local-changes.jsonl');

const USAGE = `Usage: npm run local -- [--env NAME] [--keep] [--port PORT] [--changes-file PATH]
       npm run local -- --stop [--port PORT]

Starts a throwaway PostgreSQL with the environment's RDS parameter group settings, applies the
replication setup exactly as the deploy does, streams the tutorial's changes (insert (3,'c'),
delete id 2, update id 1 -> 'd') over pgoutput as the replication user, prints each captured
change as a JSON line and the Airbyte source settings, then stops and removes the server.

  --env NAME            environment in cdk.json (default: dev)
  --keep                leave the server running (for Airbyte, psql, npm run doctor)
  --port PORT           port on 127.0.0.1 (default: a free one); with --stop, the server to stop
  --changes-file PATH   where the captured changes go, one JSON object per line
                        (default: ${DEFAULT_CHANGES_FILE})
  --stop                stop the servers --keep left running (all, or the one on --port)

Exit code: 0 when all three changes were captured, 1 otherwise, 2 for a usage error.`;

interface CliOptions {
  readonly env: string;
  readonly keep: boolean;
  readonly stop: boolean;
  readonly port?: number;
  readonly changesFile: string;
}

function parseCli(argv: string[]): CliOptions {
  const { values, camelCased } = parseFlags({
    args: argv,
    options: {
      env: { type: 'string', default: 'dev' },
      keep: { type: 'boolean', default: false },
      stop: { type: 'boolean', default: false },
      port: { type: 'string' },
      'changes-file': { type: 'string', default: DEFAULT_CHANGES_FILE },
      help: { type: 'boolean', default: false },
    },
  });
  const port = integerFlag(values, 'port', 1024, 65535);
  if (values.stop && values.keep) throw new UsageError('--stop and --keep exclude each other');
  return { ...camelCased, port };
}

async function stop(port: number | undefined, print: (line: string) => void): Promise<number> {
  const stopped = await stopKeptServers(port);
  if (stopped.length === 0) {
    print(
      `No server kept by "npm run local -- --keep"${port === undefined ? '' : ` on port ${port}`} is recorded in ${keptServersDir()}.`,
    );
    return 0;
  }
  for (const { server, wasRunning } of stopped) {
    print(
      wasRunning
        ? `Stopped PostgreSQL on port ${server.port} (pid ${server.pid}) and removed ${server.rootDir}.`
        : `PostgreSQL on port ${server.port} (pid ${server.pid}) was no longer running; removed ${server.rootDir}.`,
    );
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const print = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const parsed = parseArguments(() => parseCli(argv), USAGE, processIo);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { options } = parsed;
  if (options.stop) return stop(options.port, print);
  try {
    const result = await runLocal({
      environment: options.env,
      keep: options.keep,
      port: options.port,
      changesFile: prepareChangesFile(options.changesFile),
      print,
    });
    return result.success ? 0 : 1;
  } catch (error) {
    process.stderr.write(`npm run local failed: ${(error as Error).message}\n`);
    return 1;
  }
}

// `npm run local` runs this file with `node --import tsx`, not the tsx CLI: one process that gets
// Ctrl-C itself, where tsx would SIGKILL a child that does not acknowledge it within 30 ms (a busy
// machine), leaving the server and its directory behind.
if (require.main === module) runMain(() => main(process.argv.slice(2)));
