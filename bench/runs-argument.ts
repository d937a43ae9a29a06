import { integerFlag, parseArguments, parseFlags, processIo } from '../cli/support';

/**
 * The one option every bench takes, `--runs <n>` (1 to 50; the figures are medians of the runs),
 * or the exit code to end with after `--help` or a usage error.
 */
export function parseRunsArgument(
  argv: string[],
  usage: string,
  defaultRuns: number,
): { readonly runs: number } | { readonly exitCode: number } {
  const parsed = parseArguments(
    () => {
      const { values } = parseFlags({
        args: argv,
        options: { runs: { type: 'string' }, help: { type: 'boolean', default: false } },
      });
      return integerFlag(values, 'runs', 1, 50) ?? defaultRuns;
    },
    usage,
    processIo,
  );
  return 'exitCode' in parsed ? parsed : { runs: parsed.options };
}
