// `canopy flash` through the CLI entry and a real pseudo-terminal pair (socat): serialport's OS
// binding, termios, --port, and the ESP-IDF v5.2.2 fixture images written into the fake ESP32.
// A pty has no DTR/RTS, so the fake starts in download mode, like a board with BOOT held.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main.ts';
import { FakeEsp32, OP } from '../sim/fake-esp32/rom.ts';
import { PtyPair } from '../sim/fake-esp32/pty.ts';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/esp-idf');
const esp32 = (file: string) => new Uint8Array(readFileSync(join(FIXTURES, 'esp32', file)));

let pty: PtyPair;
beforeEach(async () => {
  pty = await new PtyPair().start();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await pty.stop();
});

/** Runs `canopy ...` in this process and captures what it prints. */
async function canopy(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((t) => (out.push(String(t)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((t) => (err.push(String(t)), true));
  vi.spyOn(console, 'error').mockImplementation((t) => void err.push(String(t) + '\n'));
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, out: out.join(''), err: err.join('') };
}

describe('canopy flash over a pty', () => {
  it('writes and verifies the ESP-IDF fixture build (bootloader, partition table, app) byte for byte', async () => {
    const chip = new FakeEsp32();
    await pty.attach(chip);
    const { code, out, err } = await canopy(['flash', '--port', pty.host, '--baud', '921600', join(FIXTURES, 'esp32')]);
    expect(err).not.toMatch(/canopy flash:/);
    expect(code).toBe(0);
    for (const [address, file] of [
      [0x1000, 'bootloader.bin'],
      [0x8000, 'partition-table.bin'],
      [0x10000, 'hello_world.bin'],
    ] as const) {
      const image = esp32(file);
      expect(Buffer.from(chip.flash.subarray(address, address + image.length)).equals(Buffer.from(image)), file).toBe(true);
    }
    expect(chip.commands.filter((op) => op === OP.SPI_FLASH_MD5)).toHaveLength(3);
    // node:zlib level 9 (host/flash/deflate.ts); esptool-js's pako made 77900 bytes of the same files.
    expect(out).toMatch(/0x10000 {2}hello_world\.bin +124416 bytes \(52% on the wire\) .* verified md5 b33546d26b53d14ce95821ba4f6e058e/);
    expect(out).toMatch(/wrote 152352 bytes \(79963 sent\) in [\d.]+ s; all files verified/);
  });

  it('waits through no fixed sleeps on a port without modem lines (no reset pulse, drains on data events)', async () => {
    // Counts the delays of the timers that actually fired: a reply that arrives cancels its read
    // timeout, so what is left is time spent sleeping. esptool-js's reset pulse (100 + 50 ms per
    // attempt), its drain after the unsupported GET_SECURITY_INFO (2 × 100 ms) and the final reset
    // (100 ms) slept 450 ms here; none of them can do anything on a pty.
    const chip = new FakeEsp32();
    await pty.attach(chip);
    const real = globalThis.setTimeout;
    let slept = 0;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: (...a: unknown[]) => void, ms?: number, ...rest: unknown[]) =>
      real(() => {
        slept += ms ?? 0;
        fn(...rest);
      }, ms)) as typeof setTimeout);
    const { code, out } = await canopy(['flash', '--port', pty.host, '--baud', '115200', `0x8000=${join(FIXTURES, 'esp32', 'partition-table.bin')}`]);
    expect(code).toBe(0);
    expect(out).toMatch(/all files verified/);
    expect(slept).toBeLessThan(100);
  });

  it('fails with exit code 1 and says so when the flash reads back wrong', async () => {
    const chip = new FakeEsp32({ badCellAt: 0x8000 + 7 });
    await pty.attach(chip);
    const { code, err } = await canopy(['flash', '--port', pty.host, '--baud', '115200', `0x8000=${join(FIXTURES, 'esp32', 'partition-table.bin')}`]);
    expect(code).toBe(1);
    expect(err).toMatch(/canopy flash: \S*partition-table\.bin at 0x8000 did not write correctly: flash MD5 [0-9a-f]{32}, file MD5 5d61d196adc3dba01928f264eb169be7/);
  });

  it('says the port is busy when another program holds it', async () => {
    const holder = new SerialPort({ path: pty.host, baudRate: 115200, autoOpen: false });
    await new Promise<void>((done, fail) => holder.open((e) => (e ? fail(e) : done())));
    try {
      const { code, err } = await canopy(['flash', '--port', pty.host, join(FIXTURES, 'esp32')]);
      expect(code).toBe(1);
      expect(err).toMatch(/is busy: another program holds it \(a serial monitor/);
    } finally {
      await new Promise<void>((done) => holder.close(() => done()));
    }
  });
});
