/**
 * The Node.js major this project is documented and tested on. package.json's `engines` still
 * admits 20, past its end of life, so that machines without a newer Node.js keep working.
 */
export const BASELINE_NODE_MAJOR = 22;

/**
 * The switch the AWS SDK for JavaScript v3 documents for its Node.js version warning
 * (https://github.com/aws/aws-sdk-js-v3/issues/7983). @aws-sdk/core reads it each time a client is
 * created, and otherwise writes, once per process, an eight-line `NodeVersionSupportWarning` with
 * process.emitWarning on any Node.js older than 22.
 */
export const SDK_NODE_VERSION_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** The major of a `process.version` such as `v20.20.2`. */
const majorOf = (version: string): number => Number(/^v(\d+)\./.exec(version)?.[1]);

/** Whether `version` (as `process.version` spells it) is older than the baseline. */
export const isBelowBaseline = (version: string): boolean => majorOf(version) < BASELINE_NODE_MAJOR;

/** The one line a command prints on a Node.js older than the baseline. */
export const belowBaselineNote = (version: string): string =>
  `Note: Node.js ${version} is past its end of life; this project's baseline is Node.js ${BASELINE_NODE_MAJOR} or later (AWS SDK releases from January 2027 require it).`;

/**
 * Turn off the AWS SDK's Node.js version warning in `env` (before any client is created): the
 * caller says the same in one line, or, in tests, knows it already. Other warnings are untouched.
 */
export function silenceSdkNodeVersionWarning(env: NodeJS.ProcessEnv): void {
  env[SDK_NODE_VERSION_WARNING_SWITCH] = 'true';
}
