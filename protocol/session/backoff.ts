// Reconnect delays: exponential backoff with "full jitter" (delay = random × min(cap, base × 2^n)).
// Full jitter spreads a fleet that lost its broker at the same instant, so a restarted broker
// is not hit by every device in the same millisecond.

export interface BackoffOptions {
  /** First ceiling, ms. */
  baseMs?: number;
  /** Largest ceiling, ms. */
  capMs?: number;
}

export class Backoff {
  readonly baseMs: number;
  readonly capMs: number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 500;
    this.capMs = options.capMs ?? 60_000;
    if (!(this.baseMs > 0) || !(this.capMs >= this.baseMs)) {
      throw new RangeError(`backoff needs 0 < baseMs <= capMs, got base ${this.baseMs} cap ${this.capMs}`);
    }
  }

  /** Ceiling for the next attempt, before jitter. */
  ceiling(): number {
    // 2^attempt overflows nothing useful past ~40; the cap wins long before.
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 40));
  }

  /** Delay before the next attempt; `random` returns [0, 1). */
  next(random: () => number): number {
    const delay = Math.floor(random() * this.ceiling());
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
