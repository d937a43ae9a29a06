/**
 * The psql the bench times `psql -f` with, for its hand-written-SQL baseline. Optional: the
 * embedded PostgreSQL packages bring initdb, pg_ctl and postgres but no psql, and the quick
 * start needs no PostgreSQL install, so without one the bench skips the baseline and says why.
 */
import { accessSync, constants, statSync } from 'fs';
import * as path from 'path';

/** The environment variable naming a psql binary; it wins over PATH. */
export const PSQL_ENV_VAR = 'PSQL';

/** Where psql is, or, when there is none to use, the one line saying what is skipped and why. */
export type PsqlLocation =
  | { readonly found: true; readonly psql: string }
  | { readonly found: false; readonly skipped: string };

/** An executable regular file. */
export function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

const skipped = (why: string): PsqlLocation => ({
  found: false,
  skipped: `Skipping the psql -f baseline: ${why}. To compare against it, install the PostgreSQL client (psql on PATH) or set ${PSQL_ENV_VAR}=/path/to/psql.`,
});

/**
 * $PSQL if set, else the first `psql` on $PATH. Pure apart from `isExecutable`, which tests
 * replace.
 */
export function locatePsql(
  env: NodeJS.ProcessEnv,
  isExecutable: (file: string) => boolean = isExecutableFile,
): PsqlLocation {
  const named = env[PSQL_ENV_VAR];
  if (named) {
    return isExecutable(named)
      ? { found: true, psql: named }
      : skipped(`${PSQL_ENV_VAR}=${named} is not an executable file`);
  }
  const onPath = (env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => path.join(dir, 'psql'))
    .find(isExecutable);
  return onPath
    ? { found: true, psql: onPath }
    : skipped('no psql on PATH (the embedded PostgreSQL brings none)');
}
