import { Progress } from '../../../src/diff/progress';

/** A Progress on a clock the test moves, whose heartbeat the test triggers. */
function progressUnderTest() {
  const lines: string[] = [];
  let now = 0;
  let heartbeat: (() => void) | undefined;
  const progress = new Progress(
    (line) => lines.push(line),
    () => now,
    (_milliseconds, tick) => {
      heartbeat = tick;
      return () => {
        heartbeat = undefined;
      };
    },
  );
  return {
    progress,
    lines,
    advance: (milliseconds: number) => (now += milliseconds),
    beat: () => heartbeat?.(),
    beating: () => heartbeat !== undefined,
  };
}

describe('Progress', () => {
  it('stamps each line with the time since the start and says how long each step took', async () => {
    const { progress, lines, advance } = progressUnderTest();
    progress.say('starting');
    advance(1500);
    await progress.step('base', async () => {
      advance(2250);
    });
    expect(lines).toEqual(['[ 0.0 s] starting', '[ 3.8 s] base: done in 2.3 s']);
  });

  it('names the steps still running on every heartbeat, and stops beating after the last', async () => {
    const { progress, lines, beat, beating } = progressUnderTest();
    let finishBase = () => {};
    const base = progress.step(
      'base',
      () => new Promise<void>((resolve) => (finishBase = resolve)),
    );
    const head = progress.step('head', async () => {
      await Promise.resolve();
      beat();
    });
    await head;
    beat();
    finishBase();
    await base;
    expect(lines).toEqual([
      '[ 0.0 s] still running: base, head',
      '[ 0.0 s] head: done in 0.0 s',
      '[ 0.0 s] still running: base',
      '[ 0.0 s] base: done in 0.0 s',
    ]);
    expect(beating()).toBe(false);
  });

  it('says when a step failed, and lets the error through', async () => {
    const { progress, lines, beating } = progressUnderTest();
    await expect(
      progress.step('base', () => Promise.reject(new Error('no cdk.json'))),
    ).rejects.toThrow('no cdk.json');
    expect(lines).toEqual(['[ 0.0 s] base: failed after 0.0 s']);
    expect(beating()).toBe(false);
  });
});
