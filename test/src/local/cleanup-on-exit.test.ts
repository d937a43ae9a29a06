import { spawn } from 'child_process';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { isAlive } from '../../../src/local/process-liveness';

const SOURCE = path.join(__dirname, '../../../src/local');

/**
 * In a child Node process: register `removed` for cleanup with a stand-in server process, hand
 * `kept` over (keepAfterExit), run a helper that never ends, report the pids of the server and
 * of the helper's child, then exit by itself unless told otherwise.
 */
const SCRIPT = `
  const { spawn } = require('child_process');
  const { existsSync, readFileSync } = require('fs');
  const { cleanUpOnExit, keepAfterExit } = require(${JSON.stringify(path.join(SOURCE, 'cleanup-on-exit'))});
  const { runHelper } = require(${JSON.stringify(path.join(SOURCE, 'helper-process'))});
  const [removed, kept, helperPidFile, exitByItself] = process.argv.slice(1);
  cleanUpOnExit(kept);
  keepAfterExit(kept);
  cleanUpOnExit(removed);
  const server = spawn('sleep', ['60'], { cwd: removed, stdio: 'ignore' });
  cleanUpOnExit(removed, server.pid);
  // Like initdb and its backend: a helper whose own child must die with it.
  runHelper('sh', ['-c', 'sleep 60 & echo $! > "$0"; wait', helperPidFile]).catch(() => undefined);
  const report = setInterval(() => {
    const helperChildPid = existsSync(helperPidFile) ? readFileSync(helperPidFile, 'utf8').trim() : '';
    if (!helperChildPid) return;
    clearInterval(report);
    console.log(JSON.stringify({ serverPid: server.pid, helperChildPid: Number(helperChildPid) }));
    if (exitByItself === 'yes') process.exit(0);
  }, 20);
`;

interface Outcome {
  readonly serverPid: number;
  readonly helperChildPid: number;
  readonly code: number | null;
  readonly signal: string | null;
}

/** Run SCRIPT; send `signal` once it has reported, unless it exits by itself. */
function runScript(
  removed: string,
  kept: string,
  helperPidFile: string,
  signal?: NodeJS.Signals,
): Promise<Outcome> {
  const child = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', '-e', SCRIPT, removed, kept, helperPidFile, signal ? 'no' : 'yes'],
    { cwd: path.join(__dirname, '../../..'), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n') && signal) child.kill(signal);
    });
    child.once('error', reject);
    child.once('close', (code, exitSignal) => {
      try {
        resolve({ ...JSON.parse(output), code, signal: exitSignal });
      } catch {
        reject(new Error(`child exited (${code ?? exitSignal}) without reporting: ${output}`));
      }
    });
  });
}

/**
 * In a child Node process: createDirectoryRemovedOnExit(prefix) with mkdtempSync patched to
 * report the directory and send this process Ctrl-C the instant it exists, then stay alive until
 * the signal ends it (with nothing to wait for, Node would exit before handling it).
 */
const CTRL_C_WHILE_CREATING = `
  const fs = require('fs');
  const { createDirectoryRemovedOnExit } = require(${JSON.stringify(path.join(SOURCE, 'cleanup-on-exit'))});
  const mkdtempSync = fs.mkdtempSync;
  fs.mkdtempSync = (...args) => {
    const dir = mkdtempSync(...args);
    console.log(dir);
    process.kill(process.pid, 'SIGINT');
    return dir;
  };
  createDirectoryRemovedOnExit(process.argv[1]);
  setInterval(() => undefined, 1000);
`;

describe('cleanup on exit', () => {
  const parent = mkdtempSync(path.join(tmpdir(), 'cleanup-on-exit-test-'));
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it.each([
    ['Ctrl-C (SIGINT)', 'SIGINT' as const],
    ['a normal exit', undefined],
  ])(
    'on %s stops the server, removes its directory and leaves a kept one',
    async (_when, signal) => {
      const removed = mkdtempSync(path.join(parent, 'removed-'));
      const kept = mkdtempSync(path.join(parent, 'kept-'));
      const helperPidFile = path.join(parent, `helper-${signal ?? 'exit'}.pid`);
      const outcome = await runScript(removed, kept, helperPidFile, signal);
      // The signal is raised again once cleaned up, so the process still ends by it.
      expect(outcome.signal).toBe(signal ?? null);
      if (!signal) expect(outcome.code).toBe(0);
      expect(isAlive(outcome.serverPid)).toBe(false);
      expect(isAlive(outcome.helperChildPid)).toBe(false);
      expect(existsSync(removed)).toBe(false);
      expect(existsSync(kept)).toBe(true);
    },
  );

  it('removes a directory from createDirectoryRemovedOnExit on a Ctrl-C the instant it exists', async () => {
    const child = spawn(
      process.execPath,
      ['--require', 'tsx/cjs', '-e', CTRL_C_WHILE_CREATING, path.join(parent, 'armed-')],
      { cwd: path.join(__dirname, '../../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const signal = await new Promise<string | null>((resolve) =>
      child.once('close', (_code, exitSignal) => resolve(exitSignal)),
    );
    const created = output.trim();
    expect(path.basename(created)).toMatch(/^armed-/);
    // Ended by that Ctrl-C, raised again once the directory was removed.
    expect(signal).toBe('SIGINT');
    expect(existsSync(created)).toBe(false);
  });
});
