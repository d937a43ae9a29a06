import { runHelper } from '../../../src/local/helper-process';

describe('runHelper', () => {
  it('resolves when the program exits with 0', async () => {
    await expect(runHelper('sh', ['-c', 'exit 0'])).resolves.toBeUndefined();
  });

  it('rejects with its stderr, or its exit code when it printed nothing', async () => {
    await expect(runHelper('sh', ['-c', 'echo "  it broke  " >&2; exit 3'])).rejects.toThrow(
      /^it broke$/,
    );
    await expect(runHelper('sh', ['-c', 'exit 3'])).rejects.toThrow(/^exited with code 3$/);
  });

  it('runs in the given directory', async () => {
    await expect(runHelper('sh', ['-c', 'test "$(pwd)" = /'], { cwd: '/' })).resolves.toBe(
      undefined,
    );
  });

  it('rejects when the program does not exist', async () => {
    await expect(runHelper('rds-airbyte-cdc-no-such-program', [])).rejects.toThrow(/ENOENT/);
  });
});
