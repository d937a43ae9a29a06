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
