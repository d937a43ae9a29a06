/**
 * Something the user gave is wrong: a flag, the environment variable a flag names, a file that a
 * flag or cdk.json points to. The message says which one and how to put it right; a command line
 * may show its usage with it.
 */
export class InputError extends Error {}
