// HC-SR501 passive infrared motion sensor on a digital input with edge interrupts, ECMA-419 sensor
// class style. The output is high while the sensor reports motion.
//
// What the sensor does, and so what this driver can and cannot see:
// - Warm-up: for ≈60 s after power-on the output toggles without cause. Edges before `warmupMs`
//   (counted from construction, which should be at boot) are counted in `ignoredEdges` and reported
//   as nothing.
// - Hold: the output stays high for the hold time set on its potentiometer (≈3 s … 5 min) after a
//   detection. With the jumper on H (retriggerable, the default) each new detection restarts the
//   hold, so continuous movement is one long "motion"; on L the output falls after one hold time even
//   while movement continues, then rises again after the blocked time below. The driver reports the
//   output as it is: motion start on the rising edge, motion end on the falling edge. "End" is
//   therefore hold time after the last movement, not when movement stopped.
// - Blocked: for ≈2.5 s after the output falls the sensor detects nothing at all. Movement in that
//   window is never reported — not late, never. `blockedUntil` says when the sensor can see again.
// - A disconnected sensor with the default pull-down reads as "no motion" forever; there is no way
//   to tell it from an empty room.
//
// Edges are coalesced by the IO (one onReadable may stand for several edges), so the handler reads
// the level and compares it with the reported state rather than trusting the edge kind. sample()
// does the same check, which also picks up a level that was already high when warm-up ended.
import type { Clock, DigitalClass, DigitalInput } from '../../io';
import { closedError, messageOf, SensorError } from '../../errors';

export interface PirOptions {
  /** mode defaults to the class's InputPullDown. */
  sensor: { io: DigitalClass; pin: number; mode?: unknown };
  warmupMs?: number;
  clock?: Clock;
  /** Motion started (true) or ended (false), at `atMs` on `clock`. Called from the IO callback or sample(). */
  onMotion?: (active: boolean, atMs: number) => void;
}

export interface PirSample {
  motion: boolean;
  warmedUp: boolean;
}

export const PIR_WARMUP_MS = 60_000;
/** HC-SR501: the output cannot rise again for ≈2.5 s after it falls. */
export const PIR_BLOCKED_MS = 2_500;

export class Pir {
  #io: DigitalInput | undefined;
  #clock: Clock;
  #warmupEnds: number;
  #onMotion: ((active: boolean, atMs: number) => void) | undefined;
  #motion = false;
  #blockedUntil = 0;
  #ignoredEdges = 0;

  constructor(options: PirOptions) {
    const { sensor } = options;
    const warmupMs = options.warmupMs ?? PIR_WARMUP_MS;
    if (!(warmupMs >= 0)) throw new SensorError('PIR', 'config', `PIR warmupMs must be ≥ 0, not ${warmupMs}`);
    this.#clock = options.clock ?? Date.now;
    this.#warmupEnds = this.#clock() + warmupMs;
    this.#onMotion = options.onMotion;
    const io = sensor.io;
    try {
      this.#io = new io({
        ...sensor,
        mode: sensor.mode ?? io.InputPullDown,
        edge: io.Rising | io.Falling,
        onReadable: () => this.#update(true),
      });
    } catch (err) {
      throw new SensorError('PIR', 'absent', `PIR digital input on pin ${sensor.pin} could not be opened: ${messageOf(err)}`);
    }
  }

  configure(options: { onMotion?: (active: boolean, atMs: number) => void }): void {
    if ('onMotion' in options) this.#onMotion = options.onMotion;
  }

  sample(): PirSample {
    this.#update(false);
    return { motion: this.#motion, warmedUp: this.#clock() >= this.#warmupEnds };
  }

  /** Edges seen (and dropped) during warm-up. */
  get ignoredEdges(): number {
    return this.#ignoredEdges;
  }

  /** Clock time until which the sensor is blind after its output fell (0 before the first fall). */
  get blockedUntil(): number {
    return this.#blockedUntil;
  }

  close(): void {
    this.#io?.close();
    this.#io = undefined;
  }

  #update(fromEdge: boolean): void {
    const io = this.#io;
    if (!io) {
      if (fromEdge) return; // a callback already queued when close() ran
      throw closedError('PIR');
    }
    const now = this.#clock();
    if (now < this.#warmupEnds) {
      if (fromEdge) this.#ignoredEdges++;
      return;
    }
    const high = io.read() !== 0;
    if (high === this.#motion) return;
    this.#motion = high;
    if (!high) this.#blockedUntil = now + PIR_BLOCKED_MS;
    this.#onMotion?.(high, now);
  }
}

export default Pir;
