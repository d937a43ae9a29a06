import { createHash, randomBytes } from 'crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';

/** Environment variable that moves the synth cache elsewhere (tests and the benchmark use it). */
export const SYNTH_CACHE_DIR_ENV = 'RDS_AIRBYTE_CDC_SYNTH_CACHE';

/**
 * Where work that `cdk synth` would otherwise redo is kept: under node_modules, so that a fresh
 * `npm ci` starts clean and a git worktree that links node_modules (npm run diff) shares it.
 */
export function synthCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env[SYNTH_CACHE_DIR_ENV] ||
    path.join(__dirname, '..', 'node_modules', '.cache', 'rds-airbyte-cdc-synth')
  );
}

/** Hex SHA-256 of a string or bytes. */
export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * One entry of a cache: a JSON file named after what it is for (`identity`), holding the latest
 * result with whatever the caller needs to tell whether it is still valid. One entry per
 * identity, replaced when the result changes, so the cache does not grow with every edit.
 */
export class CacheEntry<T> {
  private readonly file: string;

  constructor(kind: string, identity: unknown, cacheDir: string = synthCacheDir()) {
    this.file = path.join(cacheDir, kind, `${sha256(JSON.stringify(identity))}.json`);
  }

  /** The stored value, or undefined when there is none or it cannot be read. */
  read(): T | undefined {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as T;
    } catch {
      // Missing, half-deleted by hand, or from an incompatible version: a miss either way.
      return undefined;
    }
  }

  /**
   * Store the value. Written to a temporary file and renamed, so that a concurrent synth (npm
   * run diff runs two) reads the old entry or the new one, never half of one. A cache that
   * cannot be written (read-only checkout) only costs the next synth its time.
   */
  write(value: T): void {
    const temporary = `${this.file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileSync(temporary, JSON.stringify(value));
      renameSync(temporary, this.file);
    } catch {
      rmSync(temporary, { force: true });
    }
  }
}
