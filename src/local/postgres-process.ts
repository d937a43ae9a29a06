import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import { PostgresStartError } from './postgres-start-error';
import { spawnAs, type RunAs } from './unprivileged-user';

/** How many chunks of the server log are kept: enough for the tail a start error shows. */
const LOG_CHUNKS_KEPT = 200;

/** A spawned postmaster and the latest chunks of its log (its stderr), oldest first. */
export interface PostmasterProcess {
  readonly child: ChildProcess;
  readonly log: readonly string[];
}

/** Spawn `postgres -D dataDir ...flags` and keep the end of its log. */
export function spawnPostgres(
  binDir: string,
  dataDir: string,
  flags: readonly string[],
  runAs: RunAs | undefined,
): PostmasterProcess {
  const log: string[] = [];
  const child = spawn(path.join(binDir, 'postgres'), ['-D', dataDir, ...flags], {
    // Its own process group, so that a server detach()ed from a terminal's job is not
    // signalled with it; until then the exit hooks stop it.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    ...spawnAs(runAs),
  });
  // A spawn that fails (EACCES, EAGAIN) emits 'error' and never 'exit': record it in the log
  // (waitUntilReady reports it) instead of crashing the process with an unheard event.
  child.on('error', (error) => log.push(`could not run postgres: ${error.message}\n`));
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    log.push(chunk);
    if (log.length > LOG_CHUNKS_KEPT) log.splice(0, log.length - LOG_CHUNKS_KEPT);
  });
  return { child, log };
}

/** Wait for "ready to accept connections" in the server log, or fail with the log's tail. */
export function waitUntilReady(
  { child, log }: PostmasterProcess,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string): void => {
      cleanup();
      reject(
        new PostgresStartError(`PostgreSQL did not start: ${reason}\n${log.slice(-20).join('')}`),
      );
    };
    const onData = (): void => {
      if (log.some((line) => line.includes('ready to accept connections'))) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`it exited (${signal ?? `code ${code}`})`);
    const onError = (error: Error): void => fail(`it could not be run (${error.message})`);
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stderr?.removeListener('data', onData);
      child.removeListener('exit', onExit);
      child.removeListener('error', onError);
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Fast shutdown, escalated to an immediate one after `timeoutMs`; resolves once it exited. */
export async function stopProcess(child: ChildProcess, timeoutMs = 10000): Promise<void> {
  // Exited, or never ran (a failed spawn has no pid and will never exit).
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGQUIT'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT'); // fast shutdown: roll back open transactions, disconnect clients
  });
}
