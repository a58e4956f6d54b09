// Time for guest code in an XS worker. xsnap has no timers and nothing runs in the guest unless
// the host sends it a message, so the host owns time: guest code arms timers over the bridge's
// "timer" channel (protocol/xs-bridge.ts defines the payloads) and the host fires them by
// calling back into the guest. With a VirtualClock an hour of device time runs in well under a
// second of real time, deterministically.

import type { Bridge } from './bridge.ts';
import { decodeTimerMessage, encodeTime, encodeTimerMessage, TIMER_CHANNEL } from '../../protocol/xs-bridge.ts';

/** Runs when a timer is due; a returned promise is awaited before the next virtual timer fires. */
export type TimerCallback = () => void | Promise<void>;

export interface Clock {
  /** Milliseconds since the clock started. */
  now(): number;
  /** Runs `callback` at absolute time `at` (or as soon as possible if that has passed). */
  schedule(at: number, callback: TimerCallback): number;
  cancel(handle: number): void;
}

/** Wall-clock time; a callback's rejection goes to `onError` (there is no caller to give it to). */
export class RealClock implements Clock {
  private readonly start = performance.now();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextHandle = 1;

  constructor(private readonly onError: (err: unknown) => void = reportTimerError) {}

  now(): number {
    return performance.now() - this.start;
  }

  schedule(at: number, callback: TimerCallback): number {
    const handle = this.nextHandle++;
    this.arm(handle, at, callback);
    return handle;
  }

  private arm(handle: number, at: number, callback: TimerCallback): void {
    const t = setTimeout(() => {
      // Node's timers run off the event loop's cached millisecond clock and can fire a little
      // early by performance.now(); a guest must never see its timer before its time.
      if (this.now() < at) return this.arm(handle, at, callback);
      this.timers.delete(handle);
      let result: void | Promise<void>;
      try {
        result = callback();
      } catch (err) {
        this.onError(err);
        return;
      }
      // Most callbacks are synchronous: no promise pair per timer for them.
      if (result !== undefined) Promise.resolve(result).catch(this.onError);
      // Whole milliseconds: Node keeps one list per distinct duration, and fractional ones gave
      // nearly every timer of a fleet its own list in the timers' priority queue.
    }, Math.max(0, Math.ceil(at - this.now())));
    this.timers.set(handle, t);
  }

  cancel(handle: number): void {
    clearTimeout(this.timers.get(handle));
    this.timers.delete(handle);
  }

  /** Cancels everything, so a closed worker does not keep the host process alive. */
  cancelAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** Wall-clock time sped up `speed` times: an hour of device time in a minute at 60. */
export class ScaledClock implements Clock {
  private readonly real: RealClock;

  constructor(
    readonly speed: number,
    onError?: (err: unknown) => void,
  ) {
    if (!(speed > 0)) throw new RangeError(`clock speed must be positive, got ${speed}`);
    this.real = new RealClock(onError);
  }

  now(): number {
    return this.real.now() * this.speed;
  }

  schedule(at: number, callback: TimerCallback): number {
    return this.real.schedule(at / this.speed, callback);
  }

  cancel(handle: number): void {
    this.real.cancel(handle);
  }

  cancelAll(): void {
    this.real.cancelAll();
  }
}

interface VirtualTimer {
  at: number;
  seq: number;
  callback: TimerCallback;
}

/** Time that moves only when told to. Timers fire in due order, ties in scheduling order. */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, VirtualTimer>();
  private advancing = false;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  schedule(at: number, callback: TimerCallback): number {
    const handle = ++this.seq;
    this.timers.set(handle, { at: Math.max(at, this.current), seq: handle, callback });
    return handle;
  }

  cancel(handle: number): void {
    this.timers.delete(handle);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** When the earliest armed timer is due, or undefined when none is armed. */
  nextDueAt(): number | undefined {
    let at: number | undefined;
    for (const t of this.timers.values()) if (at === undefined || t.at < at) at = t.at;
    return at;
  }

  /**
   * Moves time forward by `ms`, running each due timer at its own instant and awaiting it, so
   * timers it arms (e.g. a guest re-arming) also fire within the window. Resolves with the count fired.
   * If a timer's callback fails, the advance rejects with its error and time stays at that timer's instant.
   */
  async advance(ms: number): Promise<number> {
    if (!(ms >= 0)) throw new RangeError(`VirtualClock.advance needs a non-negative duration, got ${ms}`);
    return this.advanceTo(this.current + ms);
  }

  async advanceTo(target: number): Promise<number> {
    if (this.advancing) throw new Error('VirtualClock.advance called while an advance is running (from a timer callback?)');
    this.advancing = true;
    let fired = 0;
    try {
      for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
        const [handle, timer] = next;
        this.timers.delete(handle);
        this.current = timer.at;
        fired++;
        await timer.callback();
      }
      this.current = Math.max(this.current, target);
    } finally {
      this.advancing = false;
    }
    return fired;
  }

  // A linear scan: guest programs hold a handful of timers, and this keeps ties trivially stable.
  private nextDue(limit: number): [number, VirtualTimer] | undefined {
    let best: [number, VirtualTimer] | undefined;
    for (const entry of this.timers) {
      const t = entry[1];
      if (t.at > limit) continue;
      if (!best || t.at < best[1].at || (t.at === best[1].at && t.seq < best[1].seq)) best = entry;
    }
    return best;
  }
}

/** Serves the guest's "timer" channel from `clock`; fires by calling the guest back over the bridge. */
export class GuestTimers {
  /** guest timer id → clock handle of its next firing */
  private readonly armed = new Map<number, number>();
  private disposed = false;

  constructor(
    private readonly bridge: Bridge,
    readonly clock: Clock,
  ) {
    bridge.handle(TIMER_CHANNEL, (payload) => this.serve(payload));
  }

  /** Guest timers currently armed on the host. */
  get active(): number {
    return this.armed.size;
  }

  /** Cancels every guest timer, e.g. before closing the worker. */
  dispose(): void {
    this.disposed = true;
    for (const handle of this.armed.values()) this.clock.cancel(handle);
    this.armed.clear();
    this.bridge.unhandle(TIMER_CHANNEL);
  }

  private serve(payload: Uint8Array): Uint8Array | void {
    const m = decodeTimerMessage(payload);
    switch (m.op) {
      case 'set':
        this.cancel(m.id);
        this.arm(m.id, this.clock.now() + m.delayMs, m.periodMs);
        return;
      case 'clear':
        this.cancel(m.id);
        return;
      case 'now':
        return encodeTime(this.clock.now());
      default:
        throw new Error(`timer op ${m.op} goes host -> guest only`);
    }
  }

  private arm(id: number, at: number, period: number): void {
    const handle = this.clock.schedule(at, () => {
      this.armed.delete(id);
      // Re-arm from the due time, not from now: intervals keep their cadence however late a fire runs.
      if (period > 0) this.arm(id, at + period, period);
      return this.bridge.call(TIMER_CHANNEL, encodeTimerMessage({ op: 'fire', id })).then(
        () => undefined,
        (err: unknown) => {
          // A fire in flight when the worker was shut down or killed (a power cut) is not an error.
          if (!this.disposed) throw err;
        },
      );
    });
    this.armed.set(id, handle);
  }

  private cancel(id: number): void {
    const handle = this.armed.get(id);
    if (handle === undefined) return;
    this.clock.cancel(handle);
    this.armed.delete(id);
  }
}

function reportTimerError(err: unknown): void {
  console.error('XS guest timer failed:', err);
}
