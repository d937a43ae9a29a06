import { spawn } from 'child_process';
import { isAlive } from '../../../src/local/process-liveness';

describe('isAlive', () => {
  it('is true for a running process and false once it has exited', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid as number;
    expect(isAlive(pid)).toBe(true);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(isAlive(pid)).toBe(false);
  });

  (process.platform === 'linux' ? it : it.skip)(
    'is false for a zombie, which still answers kill 0',
    async () => {
      // sh starts a short-lived child, then becomes a `sleep` that never reaps it.
      const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      try {
        const zombie = await new Promise<number>((resolve) =>
          parent.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))),
        );
        for (let waited = 0; waited < 5000 && isAlive(zombie); waited += 20) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(isAlive(zombie)).toBe(false);
        expect(() => process.kill(zombie, 0)).not.toThrow();
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );
});
