// Clock and timers on Moddable: `Time.ticks` is the monotonic millisecond counter, `timer` the
// runtime's one-shot timers. Unix time counts as unset until SNTP (or a host) has set the clock.
import Time from 'time';
import Timer from 'timer';
import type { DeviceClock } from '../types';

/** Any date before 2023 is an unset RTC counting from 1970 or from the build date. */
const CLOCK_SET_AFTER = 1_672_531_200;

export const moddableClock: DeviceClock = {
  now: () => Time.ticks,
  unixTime: () => {
    const s = Math.floor(Date.now() / 1000);
    return s > CLOCK_SET_AFTER ? s : 0;
  },
  setTimer: (callback, ms) => Timer.set(() => callback(), ms),
  clearTimer: (handle) => Timer.clear(handle as Timer),
};
