import { execFileSync } from 'child_process';
import { chownSync } from 'fs';

/** uid/gid to run PostgreSQL as: the `postgres` OS user when we are root (it refuses root). */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

const SERVICE_USER = 'postgres';

/**
 * The `postgres` OS user (created as a system user if missing) when this process is root;
 * undefined otherwise, when the server simply runs as the current user.
 */
export function runAsServiceUserIfRoot(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = (flag: '-u' | '-g'): number =>
    Number(execFileSync('id', [flag, SERVICE_USER], { encoding: 'utf8' }).trim());
  try {
    return { uid: lookup('-u'), gid: lookup('-g') };
  } catch {
    execFileSync('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      SERVICE_USER,
    ]);
    return { uid: lookup('-u'), gid: lookup('-g') };
  }
}

/** Hand `files` to `runAs` so that the server can use them; nothing to do without it. */
export function chownToRunAs(runAs: RunAs | undefined, ...files: readonly string[]): void {
  if (!runAs) return;
  for (const file of files) chownSync(file, runAs.uid, runAs.gid);
}

/** The `spawn` options that run a program as `runAs` (as the current user without it). */
export function spawnAs(runAs: RunAs | undefined): { uid?: number; gid?: number } {
  return { uid: runAs?.uid, gid: runAs?.gid };
}
