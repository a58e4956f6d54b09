// When to try again after a connection ends or an attempt fails: full-jitter exponential backoff
// (backoff.ts), restarted from the base only by a connection that proved stable.
//
// An accepted CONNACK is not proof: a broker that accepts and then drops the client (a session
// takeover by a second device with the same client id, a broker-side ACL or quota kick) would
// otherwise be hit every 0-0.5 s forever. Acks are no proof either, since such a broker answers
// SUBSCRIBE and the birth before the drop. What counts is having stayed up for `stableMs`.
import { Backoff, type BackoffOptions } from './backoff';

export interface ReconnectOptions {
  backoff?: BackoffOptions;
  /** [0, 1) source for jitter; inject a seeded one for reproducible runs. */
  random?: () => number;
  /** A connection up this long (ms) restarts the backoff from its base. */
  stableMs: number;
}

export class Reconnect {
  readonly stableMs: number;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private connectedAt: number | undefined;

  constructor(options: ReconnectOptions) {
    this.backoff = new Backoff(options.backoff);
    this.random = options.random ?? Math.random;
    this.stableMs = options.stableMs;
    if (!(this.stableMs >= 0)) throw new RangeError(`stableMs must be >= 0, got ${this.stableMs}`);
  }

  /** The broker accepted the connection (CONNACK 0). */
  connected(now: number): void {
    this.connectedAt = now;
  }

  /** The connection, or the attempt at one, is gone: how long to wait before the next. */
  delay(now: number): number {
    if (this.connectedAt !== undefined && now - this.connectedAt >= this.stableMs) this.backoff.reset();
    this.connectedAt = undefined;
    return this.backoff.next(this.random);
  }
}
