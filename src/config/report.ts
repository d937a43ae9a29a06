import { InputError } from '../input-error';
import { ConfigError } from './index';

/**
 * Run `synthesize` (build the CDK app and synthesize it) and say which exit code to end with. A
 * mistake in what the user gave, a {@link ConfigError} (cdk.json, `-c`) or an
 * {@link InputError} (a file cdk.json names), is printed alone on stderr, exit code 1: its
 * message names the environment and the field, and a stack trace would only bury it. Any other
 * error is a bug of the app and is rethrown, so that Node prints it with its stack.
 */
export function synthesizeReportingConfigErrors(
  synthesize: () => void,
  stderr: (text: string) => void = (text) => process.stderr.write(text),
): number {
  try {
    synthesize();
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof InputError)) throw error;
    stderr(`${error.message}\n`);
    return 1;
  }
}
