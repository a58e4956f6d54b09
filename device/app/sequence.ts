// A sequence number that never repeats across reboots without writing flash on every message:
// storage holds the end of a reserved block; a reboot starts past it, so numbers may skip ahead
// after a power cut but never go back (receivers de-duplicate QoS 1 resends by seq).
import type { DeviceStorage } from '../platform/types';

export class SequenceCounter {
  private next: number;
  private reservedUntil: number;

  constructor(
    private readonly storage: DeviceStorage,
    private readonly key: string,
    private readonly block = 1000,
  ) {
    const stored = storage.get(key);
    this.next = typeof stored === 'number' && Number.isInteger(stored) && stored > 0 ? stored : 1;
    this.reservedUntil = this.next;
  }

  /** The next number, 1..2^32-1, wrapping to 1. */
  take(): number {
    if (this.next > 0xffffffff) this.next = this.reservedUntil = 1;
    if (this.next >= this.reservedUntil) {
      this.reservedUntil = Math.min(this.next + this.block, 0xffffffff + 1);
      this.storage.set(this.key, this.reservedUntil);
    }
    return this.next++;
  }
}
