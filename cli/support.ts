/** What a command-line entry point talks to; tests pass their own. */
export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** cdk.json to read environments from. Default: the project's. */
  readonly cdkJsonPath?: string;
  /** Root that relative paths in cdk.json are resolved against. Default: the project's. */
  readonly projectRoot?: string;
}

/** The real process: its environment and standard streams, one line per call. */
export const processIo: CliIo = {
  env: process.env,
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
};

/**
 * Run a command's main and turn its result into the exit code. Sets process.exitCode instead
 * of calling process.exit, so cleanup handlers and open streams finish first.
 */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

/**
 * A command-line mistake: shown with the usage, exit code 2. An empty message asks for the
 * usage alone (`--help`), exit code 0.
 */
export class UsageError extends Error {}

/** Parse the arguments, or print the usage and say which exit code to end with. */
export function parseArguments<T>(
  parse: () => T,
  usage: string,
  io: Pick<CliIo, 'stdout' | 'stderr'>,
): { readonly options: T } | { readonly exitCode: number } {
  try {
    return { options: parse() };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (!error.message) {
      io.stdout(usage);
      return { exitCode: 0 };
    }
    io.stderr(`${error.message}\n\n${usage}`);
    return { exitCode: 2 };
  }
}
