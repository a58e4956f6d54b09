// Client keepalive (MQTT-3.1.2-23/24): a PINGREQ when we have sent nothing for one interval, or
// heard nothing for one; the connection is dead after 1.5 intervals of silence from the broker.
// Pure bookkeeping over the caller's clock: it says what is due and when to look again; the
// Session writes the PINGREQ and closes the connection.

export type KeepaliveDue = { kind: 'ping' } | { kind: 'dead'; silentMs: number } | undefined;

export class Keepalive {
  /** 0 disables keepalive. */
  readonly intervalMs: number;
  private lastSent = 0;
  private lastReceived = 0;
  private pingOutstanding = false;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /** Any packet written. */
  sent(now: number): void {
    this.lastSent = now;
  }

  /** Any bytes read (a transport connection counts as hearing from the broker). */
  received(now: number): void {
    this.lastReceived = now;
  }

  /** PINGRESP, a new connection, or a lost one: no ping is outstanding. */
  settle(): void {
    this.pingOutstanding = false;
  }

  /** What is due at `now`. A 'ping' is counted as outstanding from here on. */
  due(now: number): KeepaliveDue {
    if (this.intervalMs === 0) return undefined;
    const silent = now - this.lastReceived;
    if (silent >= this.intervalMs * 1.5) return { kind: 'dead', silentMs: silent };
    if (!this.pingOutstanding && (now - this.lastSent >= this.intervalMs || silent >= this.intervalMs)) {
      this.pingOutstanding = true;
      return { kind: 'ping' };
    }
    return undefined;
  }

  /** When `due` may next have something to say; undefined when keepalive is off. */
  deadline(): number | undefined {
    if (this.intervalMs === 0) return undefined;
    const dead = this.lastReceived + this.intervalMs * 1.5;
    const ping = this.pingOutstanding ? Infinity : Math.min(this.lastSent, this.lastReceived) + this.intervalMs;
    return Math.min(dead, ping);
  }
}
