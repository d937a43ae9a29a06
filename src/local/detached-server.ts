import { existsSync, readFileSync, rmSync } from 'fs';
import { isAlive } from './process-liveness';

/** Poll every 50 ms until `pid` has gone or `timeoutMs` has passed. */
async function waitUntilGone(pid: number, timeoutMs: number): Promise<void> {
  for (let waited = 0; waited < timeoutMs && isAlive(pid); waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Stop a server started by another process and detach()ed, then remove its directory. Does
 * nothing to the process unless its command line names `rootDir` (the pid may have been reused).
 * Returns whether a server was running.
 */
export async function stopDetachedPostgres(pid: number, rootDir: string): Promise<boolean> {
  let running = isAlive(pid);
  if (running && existsSync('/proc/self/cmdline')) {
    try {
      running = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(rootDir);
    } catch {
      running = false; // exited meanwhile
    }
  }
  if (running) {
    process.kill(pid, 'SIGINT'); // fast shutdown
    await waitUntilGone(pid, 10000);
    if (isAlive(pid)) process.kill(pid, 'SIGQUIT');
    await waitUntilGone(pid, 5000);
  }
  rmSync(rootDir, { recursive: true, force: true });
  return running;
}
