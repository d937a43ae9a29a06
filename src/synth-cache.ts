import { createHash, randomBytes } from 'crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';
import type { z } from 'zod';

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

/** Whether a value read from the cache has the shape its entry's users expect. */
export type CacheValueGuard<T> = (value: unknown) => value is T;

/** A guard that accepts what the zod schema accepts. */
export function matchesSchema<T>(schema: z.ZodType<T>): CacheValueGuard<T> {
  return (value): value is T => schema.safeParse(value).success;
}

/**
 * One entry of a cache: a JSON file named after what it is for (`identity`), holding the latest
 * result with whatever the caller needs to tell whether it is still valid. One entry per
 * identity, replaced when the result changes, so the cache does not grow with every edit.
 */
export class CacheEntry<T> {
  private readonly file: string;

  /**
   * @param kind the directory of the entries of one format, named with its version
   *   (`lambda-bundles-v2`): another revision of the code shares the cache (the base worktree of
   *   npm run diff, a branch switched to), so a change of format gets a new version and leaves
   *   the entries of the old one alone.
   */
  constructor(kind: string, identity: unknown, cacheDir: string = synthCacheDir()) {
    this.file = path.join(cacheDir, kind, `${sha256(JSON.stringify(identity))}.json`);
  }

  /**
   * The stored value, or undefined when there is none, it cannot be parsed, or it has not the
   * shape `isValue` accepts: a miss, never a crash of the synth.
   */
  read(isValue: CacheValueGuard<T>): T | undefined {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      // Missing, or half-deleted by hand.
      return undefined;
    }
    // Written by a revision of the code that kept another format under the same kind.
    return isValue(value) ? value : undefined;
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
