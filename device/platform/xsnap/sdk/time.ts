// Moddable's `time` for the simulator's XS engine (manifest.json's xsnap platform maps "time"
// here): `ticks` is the host's clock, virtual under test, as the firmware's clock
// (device/platform/moddable/clock.ts) reads it. The simulated device's wall time is the host's
// too, so there is no clock for `set` to set, and it refuses.
//
// Module name "time", so imports are by full module name.
import type SdkTime from 'time';
import { now } from 'device/platform/xs-bridge';

const Time = {
  get ticks(): number {
    return now();
  },
  delta(start: number, end?: number): number {
    return (end ?? now()) - start;
  },
  set(_seconds: number): void {
    throw new Error('Time.set is not available in the simulator: its wall clock is the host\'s');
  },
  timezone: 0,
  dst: 0,
} satisfies typeof SdkTime;

export default Time;
