// `canopy serial`: the line stamper on its own, then the monitor against the fake board in memory
// (reset on open through DTR/RTS) and through a real pty (no modem lines there).

import { afterEach, describe, expect, it } from 'vitest';
import { runSerial } from '../cli/commands/serial.ts';
import { LineStamper } from '../host/serial/monitor.ts';
import { fakeBoard } from './support/fake-esp32/board.ts';
import { PtyPair } from '../sim/fake-esp32/pty.ts';
import { FakeEsp32 } from '../sim/fake-esp32/rom.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const at = (ms: number) => new Date(2026, 0, 1, 12, 0, 0, ms);

describe('LineStamper', () => {
  it('stamps each line with the arrival of its first byte, across chunk and UTF-8 boundaries', () => {
    const s = new LineStamper();
    expect(s.push(bytes('I (31) boot: ESP-IDF v5.2.2\r\nI (35) te'), at(5))).toEqual(['[12:00:00.005] I (31) boot: ESP-IDF v5.2.2']);
    const degree = bytes('mp 21.5 °C\n');
    const cut = degree.indexOf(0xc2) + 1; // inside the two-byte '°'
    expect(s.push(degree.subarray(0, cut), at(40))).toEqual([]);
    expect(s.push(degree.subarray(cut), at(90))).toEqual(['[12:00:00.005] I (35) temp 21.5 °C']);
    expect(s.push(bytes('\n\nprompt> '), at(120))).toEqual(['', '']);
    expect(s.flush()).toEqual(['[12:00:00.120] prompt> ']);
    expect(s.flush()).toEqual([]);
  });

  it('prints bare lines when timestamps are off', () => {
    const s = new LineStamper(null);
    expect(s.push(bytes('a\r\nb\n'), at(0))).toEqual(['a', 'b']);
  });
});

function waitFor(lines: string[], pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (lines.join('').match(pattern) ? resolve() : setImmediate(check));
    check();
  });
}

describe('canopy serial', () => {
  let pty: PtyPair | undefined;
  afterEach(async () => {
    await pty?.stop();
    pty = undefined;
  });

  it('resets the board on open and shows its boot log with timestamps, then stops cleanly', async () => {
    const { chip, binding } = fakeBoard();
    const out: string[] = [];
    const err: string[] = [];
    const stop = new AbortController();
    const done = runSerial(['--reset'], { out: (t) => out.push(t), err: (t) => err.push(t), binding, env: {} }, stop.signal);
    await waitFor(out, /Hello world!\n/);
    stop.abort();
    expect(await done).toBe(0);
    expect(chip.resets).toBe(1);
    expect(chip.mode).toBe('app');
    expect(out.join('')).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] ets Jun {2}8 2016 00:22:57\n\[[\d:.]+\] \n\[[\d:.]+\] rst:0x1 \(POWERON_RESET\),boot:0x13 \(SPI_FAST_FLASH_BOOT\)\n/);
    expect(err.join('')).toBe('monitoring /dev/ttyUSB0 at 115200 baud (Ctrl-C to stop)\n');
    // The port is free again: a second monitor opens it.
    const again = new AbortController();
    again.abort();
    expect(await runSerial(['--port', '/dev/ttyUSB0'], { out: () => {}, err: () => {}, binding, env: {} }, again.signal)).toBe(0);
  });

  it('monitors a real pty, says it cannot reset there, and reports the far end going away', async () => {
    pty = await new PtyPair().start();
    await pty.attach(new FakeEsp32({ startIn: 'app' }));
    const out: string[] = [];
    const err: string[] = [];
    const never = new AbortController();
    const done = runSerial(['--port', pty.host, '--reset', '--no-timestamps'], { out: (t) => out.push(t), err: (t) => err.push(t), env: {} }, never.signal);
    await waitFor(err, /no DTR\/RTS lines/);
    await pty.print('I (310) canopy: sensor ready\r\nW (320) canopy: no broker yet\r\n');
    await waitFor(out, /no broker yet\n/);
    expect(out.join('')).toBe('I (310) canopy: sensor ready\nW (320) canopy: no broker yet\n');
    expect(err.join('')).toMatch(/has no DTR\/RTS lines: press EN\/RESET on the board to see it boot/);
    await pty.stop();
    pty = undefined;
    expect(await done).toBe(1);
    expect(err.join('')).toMatch(/closed: the board was unplugged or reset its USB/);
  });
});
