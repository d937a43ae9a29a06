/**
 * What `npm run diff` exits with. .github/workflows/pr-diff.yml tells a destructive change
 * (the PR needs the `destructive-ok` label) from a diff that could not be made (the job fails).
 */
export const DIFF_EXIT_CODES = {
  /** The report is written; no destructive change, or --fail-on-destructive was not given. */
  ok: 0,
  /** The diff itself failed: a side did not synthesize, the base is not found, … */
  failed: 1,
  /** A command-line mistake, as every command of this project (cli/support.ts). */
  usage: 2,
  /** The report is written and --fail-on-destructive found a destructive change. */
  destructive: 3,
} as const;
