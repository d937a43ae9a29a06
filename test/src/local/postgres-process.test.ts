import { ChildProcess } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { spawnPostgres, stopProcess, waitUntilReady } from '../../../src/local/postgres-process';
import { PostgresStartError } from '../../../src/local/postgres-start-error';

/**
 * A stand-in for the postgres binary, so that these tests need no real server: what it does is
 * chosen by the data directory argument (`-D <behaviour>`).
 */
const FAKE_POSTGRES = `#!/bin/sh
echo "LOG:  started with $*" >&2
case "$2" in
  ready)
    trap 'echo "LOG:  received fast shutdown request" >&2; exit 0' INT
    echo "LOG:  database system is ready to accept connections" >&2 ;;
  invalid)
    echo 'FATAL:  invalid value for parameter "wal_level": "bogus"' >&2
    exit 1 ;;
  silent) trap 'exit 0' INT; echo "LOG:  trap set" >&2 ;;
  stubborn) trap '' INT; echo "LOG:  trap set" >&2 ;;
esac
while :; do sleep 0.05; done
`;

describe('the postmaster process', () => {
  const binDir = mkdtempSync(path.join(tmpdir(), 'postgres-process-test-'));
  writeFileSync(path.join(binDir, 'postgres'), FAKE_POSTGRES, { mode: 0o755 });
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const child of started) child.kill('SIGKILL');
    rmSync(binDir, { recursive: true, force: true });
  });

  const spawnFake = (behaviour: string, flags: string[] = []): ReturnType<typeof spawnPostgres> => {
    const postmaster = spawnPostgres(binDir, behaviour, flags, undefined);
    started.push(postmaster.child);
    return postmaster;
  };

  /** Resolves once the fake has set its signal trap (it says so in its log). */
  const trapSet = async (postmaster: ReturnType<typeof spawnPostgres>): Promise<void> => {
    for (let waited = 0; !postmaster.log.join('').includes('trap set'); waited += 20) {
      if (waited > 10000) throw new Error('the fake postgres never set its trap');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('waits until the server is ready, and stops it with a fast shutdown', async () => {
    const postmaster = spawnFake('ready', ['-c', 'port=5432']);
    await waitUntilReady(postmaster, 10000);
    expect(postmaster.log.join('')).toContain('started with -D ready -c port=5432');
    await stopProcess(postmaster.child);
    expect(postmaster.log.join('')).toContain('received fast shutdown request');
    expect(postmaster.child.exitCode).toBe(0);
    await stopProcess(postmaster.child); // already stopped: returns at once
  });

  it('fails with how the server exited and the end of its log', async () => {
    const postmaster = spawnFake('invalid');
    const failure = waitUntilReady(postmaster, 10000);
    await expect(failure).rejects.toThrow(PostgresStartError);
    await expect(failure).rejects.toThrow(
      /^PostgreSQL did not start: it exited \(code 1\)\n[\s\S]*invalid value for parameter "wal_level"/,
    );
  });

  it('fails when the server is not ready in time', async () => {
    const postmaster = spawnFake('silent');
    await expect(waitUntilReady(postmaster, 200)).rejects.toThrow(
      /^PostgreSQL did not start: not ready after 200 ms\n/,
    );
    await trapSet(postmaster);
    await stopProcess(postmaster.child);
    expect(postmaster.child.exitCode).toBe(0);
  });

  it('escalates to an immediate shutdown when a fast one takes too long', async () => {
    const postmaster = spawnFake('stubborn');
    await trapSet(postmaster);
    await stopProcess(postmaster.child, 200);
    expect(postmaster.child.signalCode).toBe('SIGQUIT');
  });
});
