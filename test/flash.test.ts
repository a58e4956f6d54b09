// `canopy flash` end to end in memory: unmodified esptool-js, Canopy's Web Serial adapter and the
// real serialport stream, with a fake ESP32 (ROM loader + stub) where the OS driver would be.
// Images are small here where their content is not the point; the real ESP-IDF fixture build goes
// through the pty test (byte for byte) and the chip-mismatch cases below.

import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlashError } from '../host/flash/errors.ts';
import { BOARD_PATH, fakeBoard, flashCli, folder, noise } from './support/fake-esp32/board.ts';
import { OP } from '../sim/fake-esp32/rom.ts';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/esp-idf');

const a = noise(8 * 1024, 1);
const b = noise(3 * 1024 + 2, 2); // not a multiple of 4: esptool pads with 0xFF
const files = folder({ 'a.bin': a, 'b.bin': b });
const pairs = [`0x9000=${join(files, 'a.bin')}`, `0x20000=${join(files, 'b.bin')}`];

const region = (flash: Uint8Array, at: number, length: number) => Buffer.from(flash.subarray(at, at + length));
const wrote = (ops: number[], op: number) => ops.includes(op);

async function failure(run: Promise<unknown>): Promise<FlashError> {
  try {
    await run;
  } catch (err) {
    if (err instanceof FlashError) return err;
    throw err;
  }
  throw new Error('expected canopy flash to fail');
}

describe('canopy flash into a fake ESP32 (in memory)', () => {
  it('resets the board into the loader, uploads the stub, raises the baud rate, writes compressed and verifies', async () => {
    const { chip, binding } = fakeBoard();
    const { code, out, err } = await flashCli([...pairs, '--baud', '921600'], binding);
    expect(code).toBe(0);
    expect(region(chip.flash, 0x9000, a.length).equals(Buffer.from(a))).toBe(true);
    expect(region(chip.flash, 0x20000, b.length).equals(Buffer.from(b))).toBe(true);
    expect(region(chip.flash, 0x20000 + b.length, 2).equals(Buffer.from([0xff, 0xff]))).toBe(true);
    // DTR/RTS took it from the running app into download mode, and back into the app at the end.
    expect(chip.resets).toBe(2);
    expect(chip.mode).toBe('app');
    expect(chip.commands).toContain(OP.CHANGE_BAUDRATE);
    expect(wrote(chip.commands, OP.FLASH_DEFL_BEGIN)).toBe(true);
    expect(wrote(chip.commands, OP.FLASH_BEGIN)).toBe(false);
    expect(out).toMatch(/ESP32 ESP32-D0WD-V3 \(revision 3\), MAC 24:0a:c4:12:34:56, 4MB flash on \/dev\/ttyUSB0 at 921600 baud/);
    expect(out).toMatch(/0x9000 {2}\S*a\.bin +8192 bytes .* verified md5 [0-9a-f]{32}/);
    expect(out).toMatch(/all files verified/);
    expect(err).toMatch(/a\.bin +0x9000 {2}\[#+\] 100%/);
  });

  it('--erase --no-compress at the ROM baud rate: plain FLASH_* writes over an erased chip', async () => {
    const { chip, binding } = fakeBoard({ initialFill: 0x00 }); // an old firmware everywhere
    const { code, out } = await flashCli([...pairs, '--erase', '--no-compress', '--baud', '115200', '--json', '--no-reset'], binding);
    expect(code).toBe(0);
    // Still in the stub, as asked, at the ROM rate.
    expect([chip.mode, chip.stub, chip.baud]).toEqual(['download', true, 115200]);
    const report = JSON.parse(out);
    expect(report).toMatchObject({ ok: true, command: 'flash', result: { chip: 'ESP32', baud: 115200, verified: true, flashSize: '4MB' } });
    expect(report.result.files.map((f: { address: number; bytes: number }) => [f.address, f.bytes])).toEqual([
      [0x9000, 8192],
      [0x20000, b.length + 2],
    ]);
    expect(region(chip.flash, 0x9000, a.length).equals(Buffer.from(a))).toBe(true);
    expect(region(chip.flash, 0x20000, b.length).equals(Buffer.from(b))).toBe(true);
    expect(chip.flash.subarray(0x30000).every((x) => x === 0xff)).toBe(true);
    expect(chip.commands.filter((op) => [OP.ERASE_FLASH, OP.FLASH_BEGIN, OP.CHANGE_BAUDRATE, OP.FLASH_DEFL_BEGIN].includes(op as never))).toEqual([
      OP.ERASE_FLASH,
      OP.FLASH_BEGIN,
      OP.FLASH_BEGIN,
    ]);
  });

  it('rides out a block damaged on the line (the stub refuses its checksum, esptool-js resends it)', async () => {
    const { chip, binding } = fakeBoard({ corruptDataPackets: 1 });
    const { code } = await flashCli([pairs[0], '--baud', '115200'], binding);
    expect(code).toBe(0);
    expect(region(chip.flash, 0x9000, a.length).equals(Buffer.from(a))).toBe(true);
  });

  it('fails clearly when every block arrives damaged', async () => {
    const { binding } = fakeBoard({ corruptDataPackets: Infinity });
    const e = await failure(flashCli([pairs[0], '--baud', '115200'], binding));
    expect(e.reason).toBe('write-failed');
    expect(e.message).toMatch(/^writing .*a\.bin at 0x9000 failed: .*status 1,193.*The chip rejected the data \(checksum or length\)/s);
  });

  it('fails clearly when the flash reads back different from the file (MD5)', async () => {
    const { binding } = fakeBoard({ badCellAt: 0x9000 + 100 });
    const { code, out } = await flashCli([pairs[0], '--baud', '115200', '--json'], binding);
    expect(code).toBe(1);
    const result = JSON.parse(out);
    expect(result).toMatchObject({ ok: false, command: 'flash', error: { reason: 'verify-failed', code: 1 } });
    expect(result.error.message).toMatch(/a\.bin at 0x9000 did not write correctly: flash MD5 [0-9a-f]{32}, file MD5 [0-9a-f]{32}\. Run the command again/);
  });

  it.each(['esp32-c3', 'esp32-s3'])('refuses the %s build on an ESP32 before writing anything', async (target) => {
    const { chip, binding } = fakeBoard();
    const e = await failure(flashCli([join(FIXTURES, target), '--baud', '115200'], binding));
    expect(e.reason).toBe('chip-mismatch');
    const name = target === 'esp32-c3' ? 'ESP32-C3' : 'ESP32-S3';
    const id = target === 'esp32-c3' ? 5 : 9;
    expect(e.message).toMatch(new RegExp(`^bootloader\\.bin is built for ${name} \\(chip id ${id}\\), but the board on /dev/ttyUSB0 is an ESP32 \\(chip id 0\\); nothing was written`));
    // Detected by register reads alone: no stub upload, no erase, no write.
    for (const op of [OP.MEM_BEGIN, OP.FLASH_BEGIN, OP.FLASH_DEFL_BEGIN, OP.ERASE_FLASH]) expect(chip.commands).not.toContain(op);
    expect(chip.flash.every((x) => x === 0xff)).toBe(true);
  });

  it('refuses an image that runs past the end of the detected flash, before writing', async () => {
    const { chip, binding } = fakeBoard({ flashSize: 2 * 1024 * 1024 });
    const e = await failure(flashCli([`0x1ff000=${join(files, 'a.bin')}`, '--baud', '115200'], binding));
    expect(e.reason).toBe('too-big');
    expect(e.message).toMatch(/a\.bin ends at 0x201000, past the end of the 2MB flash; nothing was written/);
    expect(chip.commands).not.toContain(OP.FLASH_DEFL_BEGIN);
  });

  it('says to hold BOOT when the chip boots its app instead of the loader', async () => {
    const { binding } = fakeBoard({ bootPinStuckHigh: true });
    const e = await failure(flashCli([pairs[0], '--connect-attempts', '1'], binding));
    expect(e.reason).toBe('no-sync');
    expect(e.message).toMatch(/no answer from the ESP ROM loader on \/dev\/ttyUSB0/);
    expect(e.message).toMatch(/booted in mode 0x13 \(SPI_FAST_FLASH_BOOT\)/);
    expect(e.message).toMatch(/Hold the BOOT \(IO0\) button, press and release EN\/RESET/);
  });

  it('names a chip esptool-js does not know instead of blaming the connection', async () => {
    const { chip, binding } = fakeBoard({ chipMagic: 0x12345678 });
    const e = await failure(flashCli([pairs[0]], binding));
    expect(e.reason).toBe('loader');
    expect(e.message).toMatch(/the loader on \/dev\/ttyUSB0 answered, but esptool-js does not know this chip: .*0x12345678/i);
    expect(chip.commands).not.toContain(OP.MEM_BEGIN);
  });

  it('finds the one known bridge, and lists them when there are several or none', async () => {
    const { binding } = fakeBoard();
    const { code } = await flashCli([pairs[0], '--baud', '115200'], binding); // no --port
    expect(code).toBe(0);

    const { chip: other } = fakeBoard();
    const two = fakeBoard({}, [{ path: '/dev/ttyACM0', chip: other, vendorId: '303a', productId: '1001' }]);
    const several = await failure(flashCli([pairs[0]], two.binding));
    expect(several.reason).toBe('several-ports');
    expect(several.message).toMatch(/\/dev\/ttyUSB0 {2}\(10c4:ea60, Silicon Labs CP210x\)\n {2}\/dev\/ttyACM0 {2}\(303a:1001, Espressif USB Serial\/JTAG\)/);

    const none = fakeBoard({}, []);
    const onlyMouse = { list: async () => [{ path: '/dev/ttyS0', vendorId: '046d', productId: 'c52b' }], open: none.binding.open };
    const missing = await failure(flashCli([pairs[0]], onlyMouse));
    expect(missing.reason).toBe('no-port');
    expect(missing.message).toMatch(/\/dev\/ttyS0 {2}\(046d:c52b, unknown device\)/);
    expect(missing.message).toMatch(/10c4:ea60 Silicon Labs CP210x, 1a86:7523 WCH CH340, 0403:6001 FTDI FT232R/);
  });

  it('names a busy port and a missing one', async () => {
    const { binding } = fakeBoard();
    const port = await (binding.open({ path: BOARD_PATH, baudRate: 115200 }) as Promise<{ close(): Promise<void> }>);
    const busy = await failure(flashCli([pairs[0], '--port', BOARD_PATH], binding));
    expect(busy.reason).toBe('port-busy');
    expect(busy.message).toMatch(/\/dev\/ttyUSB0 is busy: another program holds it/);
    await port.close();
    const gone = await failure(flashCli([pairs[0], '--port', '/dev/ttyUSB7'], binding));
    expect(gone.reason).toBe('port-missing');
  });
});
