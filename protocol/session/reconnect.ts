// When to try again after a connection ends or an attempt fails: full-jitter exponential backoff
// (backoff.ts), restarted from the base by a connection that was accepted.
import { Backoff, type BackoffOptions } from './backoff';

export interface ReconnectOptions {
  backoff?: BackoffOptions;
  /** [0, 1) source for jitter; inject a seeded one for reproducible runs. */
  random?: () => number;
}

export class Reconnect {
  private readonly backoff: Backoff;
  private readonly random: () => number;

  constructor(options: ReconnectOptions = {}) {
    this.backoff = new Backoff(options.backoff);
    this.random = options.random ?? Math.random;
  }

  /** The broker accepted the connection (CONNACK 0). */
  connected(_now: number): void {
    this.backoff.reset();
  }

  /** The connection, or the attempt at one, is gone: how long to wait before the next. */
  delay(_now: number): number {
    return this.backoff.next(this.random);
  }
}
