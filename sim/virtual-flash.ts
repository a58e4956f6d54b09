// Two-slot virtual flash with an ESP-IDF-style bootloader, for tests and the simulator's devices.
// It behaves like NOR flash (erase sets 0xFF, programming can only clear bits, so rewriting the same
// bytes is harmless and anything else shows up on read-back) and like the rollback bootloader: a
// new image boots PENDING_VERIFY once; if the app reboots without confirming, the next boot marks
// it ABORTED and returns to the previous slot. Power loss is a countdown of programmed bytes.
import type { OtaFlash, OtaRecordStore } from '../protocol/ota/installer.ts';

export type SlotState = 'empty' | 'new' | 'pending-verify' | 'valid' | 'invalid' | 'aborted';

export class PowerLoss extends Error {
  override name = 'PowerLoss';
}

export interface VirtualFlashOptions {
  slotSize?: number;
  /** Contents of the running slot 0 at "factory" time. */
  factoryImage?: Uint8Array;
}

export class VirtualFlash implements OtaFlash {
  readonly slotSize: number;
  readonly slots: Uint8Array[];
  readonly states: SlotState[] = ['valid', 'empty'];
  running = 0;
  private boot = 0;
  private open = false;
  /** Counters tests assert on: any envelope or policy failure must leave these at zero. */
  writes = 0;
  erases = 0;
  bytesWritten = 0;
  /** Programmed bytes left before the power fails; undefined = never. */
  powerFailAfter: number | undefined;
  /** Flip a bit in the next programmed block (a failing flash cell). */
  corruptNextWrite = false;
  powered = true;

  constructor(o: VirtualFlashOptions = {}) {
    this.slotSize = o.slotSize ?? 0x1f0000;
    this.slots = [new Uint8Array(this.slotSize).fill(0xff), new Uint8Array(this.slotSize).fill(0xff)];
    if (o.factoryImage) this.slots[0].set(o.factoryImage);
  }

  get next(): number {
    return 1 - this.running;
  }

  private alive(): void {
    if (!this.powered) throw new PowerLoss('flash is unpowered');
  }

  begin(size: number): void {
    this.alive();
    if (size > this.slotSize) throw new Error(`image of ${size} bytes does not fit the ${this.slotSize}-byte slot`);
    this.slots[this.next].fill(0xff);
    this.states[this.next] = 'empty';
    this.erases++;
    this.open = true;
  }

  resume(size: number): void {
    this.alive();
    if (size > this.slotSize) throw new Error('resume beyond the slot');
    this.open = true;
  }

  write(offset: number, bytes: Uint8Array): void {
    this.alive();
    if (!this.open) throw new Error('write to a slot that is not open');
    if (offset + bytes.length > this.slotSize) throw new Error('write past the end of the slot');
    const slot = this.slots[this.next];
    let n = bytes.length;
    if (this.powerFailAfter === 0 && n > 0) {
      this.powerFailAfter = undefined;
      this.powered = false;
      throw new PowerLoss(`power lost before writing ${bytes.length} bytes at offset ${offset}`);
    }
    if (this.powerFailAfter !== undefined && this.powerFailAfter < n) n = this.powerFailAfter;
    for (let i = 0; i < n; i++) slot[offset + i] &= bytes[i];
    if (this.corruptNextWrite && n > 0) {
      slot[offset + (n >> 1)] ^= 0x01;
      this.corruptNextWrite = false;
    }
    this.writes++;
    this.bytesWritten += n;
    if (this.powerFailAfter !== undefined) {
      this.powerFailAfter -= n;
      if (n < bytes.length) {
        this.powerFailAfter = undefined;
        this.powered = false;
        throw new PowerLoss(`power lost after ${n} of ${bytes.length} bytes at offset ${offset}`);
      }
    }
  }

  read(offset: number, length: number): Uint8Array {
    this.alive();
    return this.slots[this.next].slice(offset, offset + length);
  }

  complete(): void {
    this.alive();
    if (!this.open) throw new Error('complete without an open slot');
    this.states[this.next] = 'new';
    this.boot = this.next;
    this.open = false;
  }

  abort(): void {
    this.open = false;
  }

  runningState(): 'pending-verify' | 'valid' {
    return this.states[this.running] === 'pending-verify' ? 'pending-verify' : 'valid';
  }

  markValid(): void {
    this.states[this.running] = 'valid';
  }

  markInvalid(): void {
    this.states[this.running] = 'invalid';
    this.boot = 1 - this.running;
  }

  /** Power back on (after a PowerLoss) or a reset: runs the bootloader's slot choice. */
  reboot(): void {
    this.powered = true;
    this.open = false;
    const s = this.states[this.boot];
    if (s === 'new') this.states[this.boot] = 'pending-verify';
    else if (s === 'pending-verify') {
      // Booted once and never confirmed: roll back.
      this.states[this.boot] = 'aborted';
      this.boot = 1 - this.boot;
    } else if (s !== 'valid') this.boot = 1 - this.boot;
    this.running = this.boot;
  }

  /** The bytes of the running image, `length` long. */
  runningImage(length: number): Uint8Array {
    return this.slots[this.running].slice(0, length);
  }
}

/** The installer's records in memory (what NVS keeps across reboots, not across a re-flash). */
export class MemoryRecordStore implements OtaRecordStore {
  readonly records = new Map<string, Uint8Array>();
  saves = 0;
  load(key: 'state' | 'package'): Uint8Array | undefined {
    return this.records.get(key)?.slice();
  }
  save(key: 'state' | 'package', bytes: Uint8Array): void {
    this.records.set(key, bytes.slice());
    this.saves++;
  }
}
