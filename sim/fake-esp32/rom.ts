// A fake ESP32 in download mode: the ROM serial loader and, once uploaded, the flasher stub, as
// the esptool serial protocol describes them (esptool docs, serial-protocol.rst). Sans-I/O: bytes
// in through `receive`, bytes out through `transmit`, control lines through `setSignals`; the
// serialport binding (binding.ts) and the pty server (pty.ts) are the edges.
//
// Modelled because flashing depends on it: SLIP, SYNC (eight replies from the ROM, one from the
// stub), chip detection and eFuse/UART registers, SPI user commands (RDID), RAM upload then `OHAI`
// and the switch to 2-byte status, FLASH_* and FLASH_DEFL_* (zlib) with checksum, length and
// sequence checks, NOR semantics (a write can only clear bits, so a missing erase shows), MD5 in
// both ROM (32 hex chars) and stub (16 raw bytes) form, the auto-reset circuit on DTR/RTS, and the
// boot banner. Faults are injected by option, never by patching the client.

import { createHash } from 'node:crypto';
import { constants, inflateSync } from 'node:zlib';
import { u32 as le32 } from '../../protocol/ota/le.ts';
import { SlipDecoder, slipEncode } from './slip.ts';

export const OP = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
} as const;

// ROM loader error codes (serial-protocol.rst) and stub ones (esptool stub_flasher.h).
const ROM_INVALID_MESSAGE = 0x05;
const ROM_INVALID_CRC = 0x07;
const ROM_DEFLATE_ERROR = 0x0b;
export const STUB_BAD_DATA_LEN = 0xc0;
export const STUB_BAD_DATA_CHECKSUM = 0xc1;
const STUB_NOT_IN_FLASH_MODE = 0xc6;
const STUB_INFLATE = 0xc7;
const STUB_NOT_ENOUGH_DATA = 0xc8;
const STUB_TOO_MUCH_DATA = 0xc9;
const STUB_NOT_IMPLEMENTED = 0xff;

const SECTOR = 0x1000;
const CHIP_MAGIC_ADDR = 0x40001000;
const ESP32_MAGIC = 0x00f01d83;
const SPI_BASE = 0x3ff42000;
const SPI_CMD_REG = SPI_BASE;
const SPI_USR2_REG = SPI_BASE + 0x24;
const SPI_W0_REG = SPI_BASE + 0x80;
const SPI_CMD_USR = 1 << 18;
const SPIFLASH_RDID = 0x9f;

export interface FakeEsp32Options {
  /** Flash size in bytes (default 4 MB); the RDID answer reports the matching capacity code. */
  flashSize?: number;
  /** Byte the flash starts filled with: 0xFF is erased, anything else stands for an old firmware. */
  initialFill?: number;
  /** 'download' is a chip reset with BOOT held (what a pty test sees); 'app' a running firmware. */
  startIn?: 'download' | 'app';
  /** A board without the DTR/RTS auto-reset transistors: resets come only from the EN button. */
  noAutoReset?: boolean;
  /** What the chip-detect register reads (default the ESP32's 0x00F01D83). */
  chipMagic?: number;
  /** IO0 pulled high for good (a broken BOOT circuit): every reset boots the app. */
  bootPinStuckHigh?: boolean;
  /** Flip one byte in this many flash data packets, as line noise would (checksum errors). */
  corruptDataPackets?: number;
  /** A bad flash cell: the byte written at this address reads back with bit 0 flipped. */
  badCellAt?: number;
}

type Mode = 'download' | 'app';

interface WriteState {
  kind: 'plain' | 'deflate';
  offset: number;
  size: number;
  blocks: number;
  blockSize: number;
  nextSeq: number;
  compressed: Uint8Array[];
  written: number;
}

export class FakeEsp32 {
  readonly flash: Uint8Array;
  /** Every command opcode received, in order: tests assert on what was (not) asked for. */
  readonly commands: number[] = [];
  /** The baud rate the fake's UART runs at; bytes sent at another rate arrive garbled. */
  baud = 115200;
  mode: Mode;
  stub = false;
  resets = 0;
  /** Called with every byte string the chip sends. */
  transmit: (bytes: Uint8Array) => void = () => {};

  private readonly decoder = new SlipDecoder();
  private readonly regs = new Map<number, number>();
  private readonly ram = new Map<number, Uint8Array>();
  private mem: { offset: number; size: number; blockSize: number; nextSeq: number } | undefined;
  private write: WriteState | undefined;
  private corruptLeft: number;
  private dtr = false;
  private rts = false;

  constructor(private readonly options: FakeEsp32Options = {}) {
    this.flash = new Uint8Array(options.flashSize ?? 4 * 1024 * 1024).fill(options.initialFill ?? 0xff);
    this.mode = options.startIn ?? 'download';
    this.corruptLeft = options.corruptDataPackets ?? 0;
    // ESP32-D0WD revision 3, 40 MHz crystal, MAC 24:0a:c4:12:34:56 (esptool's ESP32ROM reads these).
    this.regs.set(CHIP_MAGIC_ADDR, options.chipMagic ?? ESP32_MAGIC);
    this.regs.set(0x3ff5a000 + 4 * 1, 0xc4123456);
    this.regs.set(0x3ff5a000 + 4 * 2, 0x0000240a);
    this.regs.set(0x3ff5a000 + 4 * 3, (1 << 15) | (1 << 9));
    this.regs.set(0x3ff5a000 + 4 * 5, 1 << 20);
    this.regs.set(0x3ff6607c, 0x80000000);
    this.regs.set(0x3ff40014, 347); // UART_CLKDIV: 115200 * 347 / 1e6 ≈ 40 MHz
  }

  /** The JEDEC id RDID returns: Winbond, capacity code log2(size). */
  get flashId(): number {
    return ((Math.log2(this.flash.length) & 0xff) << 16) | 0x4000 | 0xef;
  }

  /**
   * The auto-reset circuit of ESP32 dev boards: EN = !(RTS && !DTR), IO0 = !(DTR && !RTS). The chip
   * boots when EN rises and samples IO0 then: low means the ROM download mode.
   */
  setSignals(signals: { dtr?: boolean; rts?: boolean }): void {
    if (this.options.noAutoReset) return;
    const enBefore = !(this.rts && !this.dtr);
    if (signals.dtr !== undefined) this.dtr = signals.dtr;
    if (signals.rts !== undefined) this.rts = signals.rts;
    const en = !(this.rts && !this.dtr);
    const io0 = !(this.dtr && !this.rts);
    if (!enBefore && en) this.boot(io0 || this.options.bootPinStuckHigh ? 'app' : 'download');
  }

  /** A power-on or EN-button reset; `boot` says what the strapping pins select. */
  boot(mode: Mode): void {
    this.resets++;
    this.mode = mode;
    this.stub = false;
    this.mem = undefined;
    this.write = undefined;
    this.baud = 115200;
    const bootByte = mode === 'download' ? '0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))' : '0x13 (SPI_FAST_FLASH_BOOT)';
    let banner = `ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),${'boot:' + bootByte}\r\n`;
    banner += mode === 'download' ? 'waiting for download\r\n' : 'I (29) boot: ESP-IDF v5.2.2 2nd stage bootloader\r\nHello world!\r\n';
    this.transmit(new TextEncoder().encode(banner));
  }

  receive(bytes: Uint8Array): void {
    // A running app does not listen to the loader protocol; it only prints.
    if (this.mode !== 'download') return;
    for (const frame of this.decoder.push(bytes)) this.command(frame);
  }

  private command(frame: Uint8Array): void {
    if (frame.length < 8 || frame[0] !== 0x00) return; // the ROM ignores what is not a request
    const op = frame[1];
    const size = frame[2] | (frame[3] << 8);
    const chk = le32(frame, 4);
    const data = frame.subarray(8);
    this.commands.push(op);
    if (data.length !== size) return this.fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN);
    switch (op) {
      case OP.SYNC:
        return this.sync(op, data);
      case OP.READ_REG:
        return this.reply(op, this.readReg(le32(data, 0)));
      case OP.WRITE_REG:
        return this.writeRegs(op, data);
      case OP.SPI_ATTACH:
      case OP.SPI_SET_PARAMS:
        return this.reply(op);
      case OP.CHANGE_BAUDRATE:
        // Answered at the old rate; the new one applies to everything after.
        this.reply(op);
        this.baud = le32(data, 0);
        return;
      case OP.MEM_BEGIN:
        return this.memBegin(op, data);
      case OP.MEM_DATA:
        return this.memData(op, data, chk);
      case OP.MEM_END:
        return this.memEnd(op, data);
      case OP.FLASH_BEGIN:
      case OP.FLASH_DEFL_BEGIN:
        return this.flashBegin(op, data);
      case OP.FLASH_DATA:
      case OP.FLASH_DEFL_DATA:
        return this.flashData(op, data, chk);
      case OP.FLASH_END:
      case OP.FLASH_DEFL_END:
        return this.flashEnd(op);
      case OP.SPI_FLASH_MD5:
        return this.md5(op, data);
      case OP.ERASE_FLASH:
        if (!this.stub) return this.unsupported(op);
        this.flash.fill(0xff);
        return this.reply(op);
      case OP.ERASE_REGION: {
        if (!this.stub) return this.unsupported(op);
        const [offset, length] = [le32(data, 0), le32(data, 4)];
        if (offset % SECTOR || length % SECTOR || offset + length > this.flash.length) return this.fail(op, 0, STUB_BAD_DATA_LEN);
        this.flash.fill(0xff, offset, offset + length);
        return this.reply(op);
      }
      default:
        // GET_SECURITY_INFO included: the ESP32 ROM predates it.
        return this.unsupported(op);
    }
  }

  private sync(op: number, data: Uint8Array): void {
    const expected = [0x07, 0x07, 0x12, 0x20];
    if (data.length !== 36 || expected.some((b, i) => data[i] !== b) || data.subarray(4).some((b) => b !== 0x55)) return;
    if (this.stub) return this.reply(op, 0);
    for (let i = 0; i < 8; i++) this.reply(op, 0x20120707);
  }

  private readReg(addr: number): number {
    return this.regs.get(addr) ?? 0;
  }

  private writeRegs(op: number, data: Uint8Array): void {
    // One or more (address, value, mask, delay) quadruples.
    for (let o = 0; o + 16 <= data.length; o += 16) {
      const [addr, value, mask] = [le32(data, o), le32(data, o + 4), le32(data, o + 8)];
      const next = ((this.readReg(addr) & ~mask) | (value & mask)) >>> 0;
      this.regs.set(addr, next);
      if (addr === SPI_CMD_REG && next & SPI_CMD_USR) this.spiUserCommand();
    }
    this.reply(op);
  }

  // The SPI peripheral's user command, as esptool drives it for RDID: command byte in USR2's low
  // byte, result in W0, CMD_USR cleared when done (instantly here).
  private spiUserCommand(): void {
    const command = this.readReg(SPI_USR2_REG) & 0xff;
    if (command === SPIFLASH_RDID) this.regs.set(SPI_W0_REG, this.flashId);
    this.regs.set(SPI_CMD_REG, this.readReg(SPI_CMD_REG) & ~SPI_CMD_USR);
  }

  private memBegin(op: number, data: Uint8Array): void {
    const [size, , blockSize, offset] = [le32(data, 0), le32(data, 4), le32(data, 8), le32(data, 12)];
    this.mem = { offset, size, blockSize, nextSeq: 0 };
    this.ram.set(offset, new Uint8Array(size));
    this.reply(op);
  }

  private memData(op: number, data: Uint8Array, chk: number): void {
    const payload = this.dataPayload(op, data, chk, false);
    if (!payload) return;
    const mem = this.mem;
    if (!mem || le32(data, 4) !== mem.nextSeq) return this.fail(op, ROM_INVALID_MESSAGE, STUB_NOT_IN_FLASH_MODE);
    (this.ram.get(mem.offset) as Uint8Array).set(payload.subarray(0, mem.size - mem.nextSeq * mem.blockSize), mem.nextSeq * mem.blockSize);
    mem.nextSeq++;
    this.reply(op);
  }

  private memEnd(op: number, data: Uint8Array): void {
    const [noEntry, entry] = [le32(data, 0), le32(data, 4)];
    this.reply(op);
    if (noEntry) return;
    // Jumping into RAM that was never loaded would crash the chip: stay silent, like a crash.
    const loaded = [...this.ram].some(([start, bytes]) => entry >= start && entry < start + bytes.length);
    if (!loaded) return;
    this.stub = true;
    this.transmit(slipEncode(new TextEncoder().encode('OHAI')));
  }

  private flashBegin(op: number, data: Uint8Array): void {
    const [size, blocks, blockSize, offset] = [le32(data, 0), le32(data, 4), le32(data, 8), le32(data, 12)];
    const kind = op === OP.FLASH_BEGIN ? 'plain' : 'deflate';
    // The ROM's deflate begin gives blocks * blockSize as the erase size; the stub the real size.
    if (offset % SECTOR || offset + size > this.flash.length) return this.fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN);
    const eraseEnd = Math.min(this.flash.length, offset + Math.ceil(size / SECTOR) * SECTOR);
    this.flash.fill(0xff, offset, eraseEnd);
    this.write = { kind, offset, size, blocks, blockSize, nextSeq: 0, compressed: [], written: 0 };
    this.reply(op);
  }

  private flashData(op: number, data: Uint8Array, chk: number): void {
    const w = this.write;
    const kind = op === OP.FLASH_DATA ? 'plain' : 'deflate';
    if (!w || w.kind !== kind) return this.fail(op, ROM_INVALID_MESSAGE, STUB_NOT_IN_FLASH_MODE);
    const payload = this.dataPayload(op, data, chk, true);
    if (!payload) return;
    // A block refused for its checksum comes again under the same number; anything else out of order is refused.
    const seq = le32(data, 4);
    if (seq !== w.nextSeq) return this.fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN);
    if (kind === 'plain') {
      this.program(w.offset + seq * w.blockSize, payload);
      w.written += payload.length;
    } else {
      w.compressed.push(payload.slice());
      let out: Uint8Array;
      try {
        out = inflateSync(Buffer.concat(w.compressed), { finishFlush: constants.Z_SYNC_FLUSH });
      } catch {
        this.write = undefined;
        return this.fail(op, ROM_DEFLATE_ERROR, STUB_INFLATE);
      }
      if (out.length > w.size) {
        this.write = undefined;
        return this.fail(op, ROM_DEFLATE_ERROR, STUB_TOO_MUCH_DATA);
      }
      this.program(w.offset + w.written, out.subarray(w.written));
      w.written = out.length;
    }
    w.nextSeq++;
    this.reply(op);
  }

  private flashEnd(op: number): void {
    const w = this.write;
    this.write = undefined;
    // The stub refuses to end a compressed write that has not delivered everything it announced.
    if (w && w.kind === 'deflate' && this.stub && w.written < w.size) return this.fail(op, ROM_DEFLATE_ERROR, STUB_NOT_ENOUGH_DATA);
    this.reply(op);
  }

  /** Checks a *_DATA header and checksum; returns the payload, or undefined after replying an error. */
  private dataPayload(op: number, data: Uint8Array, chk: number, flashWrite: boolean): Uint8Array | undefined {
    const length = le32(data, 0);
    const payload = data.subarray(16);
    if (payload.length !== length) {
      this.fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN);
      return undefined;
    }
    if (flashWrite && this.corruptLeft > 0 && payload.length > 0) {
      this.corruptLeft--;
      payload[payload.length >> 1] ^= 0x20;
    }
    let x = 0xef;
    for (const b of payload) x ^= b;
    if (x !== (chk & 0xff)) {
      this.fail(op, ROM_INVALID_CRC, STUB_BAD_DATA_CHECKSUM);
      return undefined;
    }
    return payload;
  }

  /** NOR programming: bits only go from 1 to 0, and only an erase brings them back. */
  private program(at: number, bytes: Uint8Array): void {
    const end = Math.min(this.flash.length, at + bytes.length);
    for (let i = at; i < end; i++) this.flash[i] &= bytes[i - at];
    const bad = this.options.badCellAt;
    if (bad !== undefined && bad >= at && bad < end) this.flash[bad] ^= 0x01;
  }

  private md5(op: number, data: Uint8Array): void {
    const [addr, size] = [le32(data, 0), le32(data, 4)];
    if (addr + size > this.flash.length) return this.fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN);
    const digest = createHash('md5').update(this.flash.subarray(addr, addr + size)).digest();
    this.reply(op, 0, this.stub ? new Uint8Array(digest) : new TextEncoder().encode(digest.toString('hex')));
  }

  private unsupported(op: number): void {
    if (this.stub) return this.fail(op, 0, STUB_NOT_IMPLEMENTED);
    // The ROM's answer to an opcode it lacks does not echo the opcode, which is how esptool tells
    // "unsupported" (fall back) from "failed" (give up).
    this.send(0x00, 0, Uint8Array.of(1, ROM_INVALID_MESSAGE, 0, 0));
  }

  private reply(op: number, value = 0, body: Uint8Array = new Uint8Array(0)): void {
    const status = this.stub ? [0, 0] : [0, 0, 0, 0];
    this.send(op, value, Uint8Array.from([...body, ...status]));
  }

  private fail(op: number, romError: number, stubError: number): void {
    this.send(op, 0, Uint8Array.from(this.stub ? [1, stubError] : [1, romError, 0, 0]));
  }

  private send(op: number, value: number, data: Uint8Array): void {
    const frame = new Uint8Array(8 + data.length);
    frame[0] = 0x01;
    frame[1] = op;
    frame[2] = data.length & 0xff;
    frame[3] = data.length >> 8;
    new DataView(frame.buffer).setUint32(4, value >>> 0, true);
    frame.set(data, 8);
    this.transmit(slipEncode(frame));
  }
}
