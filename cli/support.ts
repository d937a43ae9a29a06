import { parseArgs, type ParseArgsConfig } from 'util';
import {
  belowBaselineNote,
  isBelowBaseline,
  silenceSdkNodeVersionWarning,
} from '../src/aws/node-version';
import { InputError } from '../src/input-error';

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
 * On a Node.js older than the baseline: say so in one line, and turn off the AWS SDK's own
 * eight-line warning, which would say the same on every run that creates a client.
 */
export function noteNodeVersion(
  version: string,
  env: NodeJS.ProcessEnv,
  stderr: (text: string) => void,
): void {
  if (!isBelowBaseline(version)) return;
  stderr(belowBaselineNote(version));
  silenceSdkNodeVersionWarning(env);
}

/**
 * Run a command's main and turn its result into the exit code. Sets process.exitCode instead
 * of calling process.exit, so cleanup handlers and open streams finish first. First notes a
 * Node.js older than the baseline, once per process (each command runs main once).
 */
export function runMain(main: () => Promise<number>): void {
  noteNodeVersion(process.version, process.env, processIo.stderr);
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
 * A command-line mistake, the {@link InputError} found while parsing: shown with the usage, exit
 * code 2. An empty message asks for the usage alone (`--help`), exit code 0.
 */
export class UsageError extends InputError {}

/** `password-env` as a property name: `passwordEnv`. */
type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** Flag values under property names: `--password-env` is `passwordEnv`. */
export type CamelCaseKeys<T> = { [K in keyof T as K extends string ? CamelCase<K> : never]: T[K] };

/** Flag values keyed as an options object names them (`passwordEnv`). */
function camelCaseKeys<T extends object>(values: T): CamelCaseKeys<T> {
  const entries = Object.entries(values).map(([flag, value]) => [
    flag.replace(/-([a-z])/g, (_dash, letter: string) => letter.toUpperCase()),
    value,
  ]);
  // The replacement above is what CamelCase spells out for the type checker.
  return Object.fromEntries(entries) as CamelCaseKeys<T>;
}

/** What util.parseArgs returns for `T`. */
type ParsedFlags<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/**
 * `util.parseArgs` for a command whose options include `help`: a parse error is a usage error,
 * `--help` asks for the usage alone. Besides `values`, keyed by flag (`password-env`), it gives
 * them `camelCased` (`passwordEnv`), as the command's options object names them.
 */
export function parseFlags<T extends ParseArgsConfig & { options: { help: { type: 'boolean' } } }>(
  config: T,
): ParsedFlags<T> & { readonly camelCased: CamelCaseKeys<ParsedFlags<T>['values']> } {
  let parsed: ParsedFlags<T>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if ('help' in parsed.values && parsed.values.help) throw new UsageError('');
  return { ...parsed, camelCased: camelCaseKeys(parsed.values) };
}

/**
 * An integer flag from `min` to `max`, or undefined when it is not given.
 * @param option the flag without its dashes, as `values` holds it
 */
export function integerFlag<K extends string>(
  values: { readonly [key in K]?: string },
  option: K,
  min: number,
  max: number,
): number | undefined {
  const value = values[option];
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(
      `--${option} must be a whole number from ${min} to ${max}, got "${value}"`,
    );
  }
  return number;
}

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
