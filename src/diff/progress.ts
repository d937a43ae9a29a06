import { performance } from 'perf_hooks';

/** Calls `tick` every `milliseconds` until the returned function is called. */
export type Repeat = (milliseconds: number, tick: () => void) => () => void;

/** setInterval that does not keep the process alive. */
const repeatWithTimer: Repeat = (milliseconds, tick) => {
  const timer = setInterval(tick, milliseconds);
  timer.unref();
  return () => clearInterval(timer);
};

/** How often a long step says it is still running. */
const HEARTBEAT_MILLISECONDS = 10_000;

const seconds = (milliseconds: number) => `${(milliseconds / 1000).toFixed(1)} s`;

/**
 * Progress lines for a command that takes a while, each with the time since it started:
 * `[ 4.2 s] base: synthesized`. While steps run, every 10 s a line says which ones still do,
 * so that a slow machine never looks hung.
 */
export class Progress {
  private readonly started: number;
  private readonly running: string[] = [];
  private stopHeartbeat?: () => void;

  constructor(
    private readonly write: (line: string) => void,
    private readonly now: () => number = () => performance.now(),
    private readonly repeat: Repeat = repeatWithTimer,
  ) {
    this.started = now();
  }

  /** Seconds since the command started, e.g. `12.3 s`. */
  elapsed(): string {
    return seconds(this.now() - this.started);
  }

  say(message: string): void {
    this.write(`[${this.elapsed().padStart(6)}] ${message}`);
  }

  /** Run a step named `name`, saying when it is done (or failed) and how long it took. */
  async step<T>(name: string, work: () => Promise<T>): Promise<T> {
    const stepStarted = this.now();
    this.running.push(name);
    this.stopHeartbeat ??= this.repeat(HEARTBEAT_MILLISECONDS, () =>
      this.say(`still running: ${this.running.join(', ')}`),
    );
    const took = () => seconds(this.now() - stepStarted);
    try {
      const result = await work();
      this.say(`${name}: done in ${took()}`);
      return result;
    } catch (error) {
      this.say(`${name}: failed after ${took()}`);
      throw error;
    } finally {
      this.running.splice(this.running.indexOf(name), 1);
      if (this.running.length === 0) {
        this.stopHeartbeat?.();
        this.stopHeartbeat = undefined;
      }
    }
  }
}
