import { ChildProcess, spawn } from 'child_process';
import { existsSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopDetachedPostgres } from '../../../src/local/detached-server';
import { isAlive } from '../../../src/local/process-liveness';

/** A process that, like a detached postmaster, names `rootDir` on its command line. */
function processNaming(rootDir: string): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1000)', rootDir], {
    stdio: 'ignore',
  });
}

describe('stopDetachedPostgres', () => {
  it.each([
    ['stops the process that names rootDir', true],
    ['leaves alone a process that does not name rootDir (a reused pid)', false],
  ])('%s, and removes the directory', async (_what, namesRootDir) => {
    const rootDir = mkdtempSync(path.join(tmpdir(), 'detached-server-test-'));
    const other = path.join(tmpdir(), 'somewhere-else');
    const server = processNaming(namesRootDir ? rootDir : other);
    try {
      expect(await stopDetachedPostgres(server.pid as number, rootDir)).toBe(namesRootDir);
      expect(isAlive(server.pid as number)).toBe(!namesRootDir);
      expect(existsSync(rootDir)).toBe(false);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('reports a server that has already gone, and removes the directory', async () => {
    const rootDir = mkdtempSync(path.join(tmpdir(), 'detached-server-test-'));
    const gone = processNaming(rootDir);
    await new Promise((resolve) => {
      gone.once('exit', resolve);
      gone.kill('SIGKILL');
    });
    expect(await stopDetachedPostgres(gone.pid as number, rootDir)).toBe(false);
    expect(existsSync(rootDir)).toBe(false);
  });
});
