// A fake ESP32 dev board plugged in over a CP2102 (10c4:ea60), and `canopy flash` run against it
// in-process with its output captured.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runFlash } from '../../../cli/commands/flash.ts';
import type { OtaPayloadStep } from '../../../host/flash/ota-input.ts';
import { fakeBinding, type FakeUsbDevice } from '../../../sim/fake-esp32/binding.ts';
import { FakeEsp32, type FakeEsp32Options } from '../../../sim/fake-esp32/rom.ts';

export const BOARD_PATH = '/dev/ttyUSB0';

export function fakeBoard(options: FakeEsp32Options = {}, others: FakeUsbDevice[] = []) {
  const chip = new FakeEsp32({ startIn: 'app', ...options });
  const binding = fakeBinding([{ path: BOARD_PATH, chip, vendorId: '10c4', productId: 'ea60', manufacturer: 'Silicon Labs' }, ...others]);
  return { chip, binding };
}

export async function flashCli(args: string[], binding: object, ota?: OtaPayloadStep) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runFlash(args, { out: (t) => out.push(t), err: (t) => err.push(t), tty: false, binding, env: {}, ota });
  return { code, out: out.join(''), err: err.join('') };
}

/** Deterministic bytes that do not compress much, for small images where content is not the point. */
export function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Writes files into a fresh temporary folder and returns its path. */
export function folder(files: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'canopy-flash-'));
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return dir;
}
