import type { ChildProcess } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { isAlive } from './process-liveness';

/** initdb and openssl while they run, so that Ctrl-C can kill them before removing their files. */
const helperProcesses = new Set<ChildProcess>();

/**
 * Directories of servers being started or running (with the postmaster's pid once spawned), so
 * that an exit or Ctrl-C at any point leaves neither a process nor a data directory.
 */
const serverDirectories = new Map<string, { readonly pid?: number }>();
let exitHooksInstalled = false;

/**
 * Kill `helper` (and its process group) if this process exits or is interrupted while it runs.
 * Call right after spawning it; it is forgotten once it has exited.
 */
export function trackHelperProcess(helper: ChildProcess): void {
  helperProcesses.add(helper);
  helper.once('error', () => helperProcesses.delete(helper));
  helper.once('close', () => helperProcesses.delete(helper));
}

/**
 * Remove `rootDir` if this process exits or is interrupted, after stopping the server
 * `serverPid` when given. Call again with the pid once the server is spawned, and without it
 * once that server has stopped.
 */
export function cleanUpOnExit(rootDir: string, serverPid?: number): void {
  installExitHooks();
  serverDirectories.set(rootDir, { pid: serverPid });
}

/**
 * Create a temporary directory (`mkdtempSync(prefix)`) that is removed if this process exits or
 * is interrupted, like cleanUpOnExit(rootDir) but with no moment at which it exists unguarded.
 * Until the first hook is installed Ctrl-C ends the process by the default action, which runs no
 * JavaScript: a signal landing between mkdtempSync and a later cleanUpOnExit would leave the
 * directory behind. Installed first, the hooks cannot miss it: Node runs signal listeners from
 * the event loop, so one that arrives meanwhile waits until the directory is registered.
 */
export function createDirectoryRemovedOnExit(prefix: string): string {
  installExitHooks();
  const rootDir = mkdtempSync(prefix);
  serverDirectories.set(rootDir, {});
  return rootDir;
}

/** Remove `rootDir` now (its server has stopped): there is nothing left to do at exit. */
export function removeNow(rootDir: string): void {
  rmSync(rootDir, { recursive: true, force: true });
  serverDirectories.delete(rootDir);
}

/** Leave `rootDir` and its server alone at exit: they now outlive this process. */
export function keepAfterExit(rootDir: string): void {
  serverDirectories.delete(rootDir);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * True while a process of group `pgid` is still running (zombies do not count). SIGKILL reaches
 * the whole group at once, but each member dies only when next scheduled: the leader may be gone
 * while initdb's backend still runs in the directory about to be removed. Linux lists the members
 * in /proc; elsewhere only the leader can be checked.
 */
function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return isAlive(pgid);
  }
  return entries.some((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After "pid (comm) ": state, ppid, pgrp. comm may hold spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === pgid && state !== 'Z';
    } catch {
      return false; // exited meanwhile
    }
  });
}

/** Synchronous cleanup: an 'exit' handler cannot wait for events. */
function killAllSync(): void {
  for (const helper of helperProcesses) {
    if (helper.pid === undefined) continue;
    try {
      process.kill(-helper.pid, 'SIGKILL'); // the whole group: initdb runs a postgres backend
    } catch {
      // already gone
    }
    // The bound only ends the wait for a process that cannot die (stuck in the kernel).
    for (let waited = 0; waited < 2000 && groupAlive(helper.pid); waited += 10) sleepSync(10);
    helperProcesses.delete(helper);
  }
  for (const [rootDir, { pid }] of serverDirectories) {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGQUIT'); // immediate shutdown: the data is thrown away anyway
      } catch {
        // already gone
      }
      for (let waited = 0; waited < 5000 && isAlive(pid); waited += 20) sleepSync(20);
    }
    removeNow(rootDir);
  }
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      killAllSync();
      process.removeListener(signal, onSignal);
      // Our listener replaced the default "terminate"; restore it unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
