// A NOR flash for the outbox-log tests, pure TS so it runs on XS too: erase sets a sector to 0xFF,
// a write may only program erased bytes (anything else is a bug in the store and throws), and a
// power cut can be scheduled at any operation, leaving a write or an erase half done.
import type { FlashArea } from '../../protocol/session/outbox-log';

export class PowerCut extends Error {
  constructor() {
    super('power cut');
  }
}

export interface Cut {
  /** Operations (writes and erases) that complete before the cut. */
  after: number;
  /** Bytes of the cut write that reach the flash (or of the cut erase that become 0xFF). */
  keep: number;
  /** The byte after the kept ones is half programmed (some bits cleared), as a cut page program can leave it. */
  garble?: boolean;
}

export class NorFlash implements FlashArea {
  readonly bytes: Uint8Array;
  readonly blockSize: number;
  writes = 0;
  erases = 0;
  bytesWritten = 0;
  readonly erasesPerSector: number[];
  private cut: Cut | undefined;
  private ops = 0;
  private dead = false;

  constructor(sectors: number, blockSize = 4096) {
    this.blockSize = blockSize;
    this.bytes = new Uint8Array(sectors * blockSize).fill(0xff);
    this.erasesPerSector = new Array<number>(sectors).fill(0);
  }

  get byteLength(): number {
    return this.bytes.length;
  }

  /** Schedules a power cut; `reboot()` brings the flash back with what it held at that moment. */
  cutPower(cut: Cut): void {
    this.cut = { ...cut, after: this.ops + cut.after };
  }

  reboot(): void {
    this.dead = false;
    this.cut = undefined;
  }

  read(offset: number, byteLength: number): ArrayBuffer {
    this.alive();
    return this.bytes.slice(offset, offset + byteLength).buffer;
  }

  write(offset: number, byteLength: number, buffer: ArrayBuffer): void {
    this.alive();
    const data = new Uint8Array(buffer, 0, byteLength);
    if (offset < 0 || offset + byteLength > this.bytes.length) throw new RangeError(`write of ${byteLength} at ${offset} is outside the area`);
    for (let i = 0; i < byteLength; i++) {
      if (this.bytes[offset + i] !== 0xff) throw new Error(`write over programmed byte at ${offset + i}`);
    }
    const cut = this.tick();
    const n = cut ? Math.min(cut.keep, byteLength) : byteLength;
    this.bytes.set(data.subarray(0, n), offset);
    if (cut) {
      if (cut.garble && n < byteLength) this.bytes[offset + n] = data[n] & 0x5a;
      this.die();
    }
    this.writes++;
    this.bytesWritten += byteLength;
  }

  erase(sector: number): void {
    this.alive();
    const start = sector * this.blockSize;
    const cut = this.tick();
    const n = cut ? Math.min(cut.keep, this.blockSize) : this.blockSize;
    this.bytes.fill(0xff, start, start + n);
    if (cut) this.die();
    this.erases++;
    this.erasesPerSector[sector]++;
  }

  private tick(): Cut | undefined {
    const cut = this.cut && this.ops >= this.cut.after ? this.cut : undefined;
    this.ops++;
    return cut;
  }

  private die(): never {
    this.dead = true;
    throw new PowerCut();
  }

  private alive(): void {
    if (this.dead) throw new PowerCut();
  }
}
