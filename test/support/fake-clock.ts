import type { Clock } from '../../src/local/npm-package-cache';

interface Ticker {
  readonly every: number;
  next: number;
  readonly tick: () => void;
}

/**
 * A Clock that moves only when told, so that tests of progress lines need no waiting and cannot
 * depend on how fast the machine is: advance() runs the ticks that fall due on the way, in order,
 * and sleep() advances by its own duration, so that a polling loop runs through at once.
 */
export class FakeClock implements Clock {
  private time = 0;
  private readonly tickers = new Set<Ticker>();

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.advance(ms);
  }

  every(ms: number, tick: () => void): () => void {
    const ticker: Ticker = { every: ms, next: this.time + ms, tick };
    this.tickers.add(ticker);
    return () => this.tickers.delete(ticker);
  }

  /** Move the time on by `ms`, running every tick that falls due meanwhile. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.tickers]
        .filter((ticker) => ticker.next <= end)
        .sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.time = due.next;
      due.next += due.every;
      due.tick();
    }
    this.time = end;
  }
}
