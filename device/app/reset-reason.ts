// The reset reason a platform can know without the chip's help: a restart the app asked for
// (reboot command, OTA) leaves a mark in storage just before it happens, so the next boot can
// tell "software" from everything else. Everything else is a power-on in the simulator (its only
// other way down is a power cut); on the firmware it may also be a panic, a watchdog or a
// brownout, which only ESP-IDF's esp_reset_reason can tell apart (docs/info.md).
import type { ResetReason } from '../../protocol/info';
import type { DeviceStorage } from '../platform/types';

/** NVS keys are at most 15 characters. */
const MARK = 'resetMark';

export interface BootReason {
  /** Why this boot happened. */
  readonly reason: ResetReason;
  /** Call right before a software restart. */
  markRestart(): void;
}

/** Reads and clears the mark once, at boot; `otherwise` is the reason when there is none. */
export function bootReason(storage: DeviceStorage, otherwise: ResetReason): BootReason {
  const marked = storage.get(MARK) === 'software';
  if (marked) storage.delete(MARK);
  return {
    reason: marked ? 'software' : otherwise,
    markRestart: () => storage.set(MARK, 'software'),
  };
}
