// Moddable's `timer` for the simulator's XS engine: manifest.json's xsnap platform maps the SDK
// name "timer" to this file, so the firmware's own clock (device/platform/moddable/clock.ts) runs
// in the simulator unchanged, on the host's clock (virtual time under test) over the bridge's
// "timer" channel. The SDK's semantics for what the firmware uses: the callback gets its timer;
// a one-shot timer is done once it fires unless its callback schedules it again; `schedule`
// without an interval unschedules; `clear` of a done timer, undefined or null does nothing.
//
// Its module name is "timer", not its path, so it imports by full module name: XS would resolve
// a relative specifier against "timer".
import type SdkTimer from 'timer';
import { clearTimeout, startTimer } from 'device/platform/xs-bridge';

type TimerCallback = (timer: SdkTimer) => void;

class BridgeTimer {
  /** The bridge timer while scheduled. */
  id: number | undefined;
  constructor(readonly callback: TimerCallback) {}
}

// The SDK's Timer is a host object with a private brand; this one stands in for it.
const asSdk = (t: BridgeTimer): SdkTimer => t as unknown as SdkTimer;

function own(timer: SdkTimer): BridgeTimer {
  const t = timer as unknown;
  if (!(t instanceof BridgeTimer)) throw new TypeError('not a timer');
  return t;
}

function arm(t: BridgeTimer, interval: number | undefined, repeat: number | undefined): void {
  const period = repeat ?? 0;
  t.id = startTimer(() => {
    if (!(period > 0)) t.id = undefined;
    t.callback(asSdk(t));
  }, interval ?? 0, period);
}

function unschedule(t: BridgeTimer): void {
  clearTimeout(t.id);
  t.id = undefined;
}

const Timer = {
  set(callback: TimerCallback, interval?: number, repeat?: number): SdkTimer {
    if (typeof callback !== 'function') throw new TypeError('timer callback must be a function');
    const t = new BridgeTimer(callback);
    arm(t, interval, repeat);
    return asSdk(t);
  },
  repeat(callback: TimerCallback, interval: number): SdkTimer {
    return Timer.set(callback, interval, interval);
  },
  schedule(timer: SdkTimer, interval?: number, repeat?: number): void {
    const t = own(timer);
    unschedule(t);
    if (interval !== undefined) arm(t, interval, repeat);
  },
  clear(timer: SdkTimer | undefined | null): void {
    if (timer !== undefined && timer !== null) unschedule(own(timer));
  },
  delay(_milliseconds: number): void {
    // On the board it blocks the engine; here the host's clock cannot move while the guest waits.
    throw new Error('Timer.delay is not available in the simulator: it would block the host clock');
  },
} satisfies Omit<typeof SdkTimer, 'prototype'>;

export default Timer;
