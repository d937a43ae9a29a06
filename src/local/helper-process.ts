import { spawn } from 'child_process';
import { trackHelperProcess } from './cleanup-on-exit';

/** Where and as whom a helper program runs. */
export interface HelperOptions {
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * Run a helper program to completion; rejects with its stderr. Asynchronous because a blocked
 * event loop cannot answer Ctrl-C (tsx SIGKILLs a child that does not react within 30 ms, and
 * then nothing cleans up). Its own process group, so that initdb's backend dies with it.
 */
export function runHelper(
  file: string,
  args: readonly string[],
  options: HelperOptions = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...options,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    trackHelperProcess(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(stderr.trim() || `exited with ${signal ?? `code ${code}`}`));
    });
  });
}
