// `canopy flash --nvs nvs.bin`: the image `canopy provision` wrote goes to the nvs partition of
// the partition table being flashed (one firmware image, each device's identity beside it), into
// the fake ESP32's flash and read back by an independent NVS reader; and every refusal before the
// port opens, with its exit code and message.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeBoard, flashCli, folder, noise } from './support/fake-esp32/board.ts';
import { canopy } from './support/run-canopy.ts';
import { writeNvsImage, type NvsItem } from '../host/nvs/writer.ts';
import { readNvs } from './support/nvs-reader.ts';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/esp-idf');
const load = (file: string) => new Uint8Array(readFileSync(join(FIXTURES, 'esp32', file)));
const boot = load('bootloader.bin');
const table = load('partition-table.bin'); // nvs at 0x9000, 0x6000 bytes; factory at 0x10000
const app = load('hello_world.bin');

const items: NvsItem[] = [
  { namespace: 'canopy', key: 'deviceId', value: { type: 'str', value: 'greenhouse-7' } },
  { namespace: 'canopy', key: 'broker', value: { type: 'str', value: 'mqtts://broker.example:8883' } },
  { namespace: 'canopy', key: 'tlsCert', value: { type: 'blob', value: noise(700, 3) } },
];

/** A partition table with no nvs partition: phy_init and factory only, no MD5 entry. */
function tableWithoutNvs(): Uint8Array {
  const out = new Uint8Array(0xc00).fill(0xff);
  const entry = (at: number, type: number, subtype: number, offset: number, size: number, label: string) => {
    const e = new Uint8Array(32);
    const v = new DataView(e.buffer);
    e.set([0xaa, 0x50, type, subtype]);
    v.setUint32(4, offset, true);
    v.setUint32(8, size, true);
    e.set(new TextEncoder().encode(label), 12);
    out.set(e, at);
  };
  entry(0, 1, 1, 0xf000, 0x1000, 'phy_init');
  entry(32, 0, 0, 0x10000, 0x100000, 'factory');
  return out;
}

const dir = folder({
  'bootloader.bin': boot,
  'partition-table.bin': table,
  'app.bin': app,
  'nvs.bin': writeNvsImage(items, 0x5000), // smaller than the partition: the rest must be erased
  'big-nvs.bin': writeNvsImage(items, 0x7000),
  'noise.bin': noise(0x3000, 9),
  'odd.bin': new Uint8Array(1000).fill(0xff),
  'no-nvs-table.bin': tableWithoutNvs(),
});
const f = (name: string) => join(dir, name);
const build = [`0x1000=${f('bootloader.bin')}`, `0x8000=${f('partition-table.bin')}`, `0x10000=${f('app.bin')}`];

describe('canopy flash --nvs', () => {
  it('writes the provisioned NVS image over the whole nvs partition, beside the app, verified', async () => {
    const { chip, binding } = fakeBoard({ initialFill: 0x00 }); // old settings everywhere
    const { code, out } = await flashCli([...build, '--nvs', f('nvs.bin'), '--json'], binding);
    expect(code, out).toBe(0);
    const report = JSON.parse(out);
    expect(report.result.files.map((x: { address: number; bytes: number }) => [x.address, x.bytes])).toEqual([
      [0x1000, boot.length],
      [0x8000, table.length],
      [0x9000, 0x6000],
      [0x10000, app.length],
    ]);
    const nvs = chip.flash.slice(0x9000, 0xf000);
    // The image, then 0xFF to the end of the partition: no old page survives beside it.
    expect(Buffer.from(nvs.subarray(0, 0x5000)).equals(Buffer.from(readFileSync(f('nvs.bin'))))).toBe(true);
    expect(nvs.subarray(0x5000).every((b) => b === 0xff)).toBe(true);
    const read = readNvs(nvs).get('canopy');
    expect(read?.get('deviceId')).toEqual({ type: 'str', value: 'greenhouse-7' });
    expect(read?.get('tlsCert')).toMatchObject({ type: 'blob', value: Buffer.from(noise(700, 3)) });
    expect(Buffer.from(chip.flash.subarray(0x10000, 0x10000 + app.length)).equals(Buffer.from(app))).toBe(true);
  });

  it.each([
    ['an image larger than the nvs partition', [...build, '--nvs', f('big-nvs.bin')], /big-nvs\.bin is 28672 bytes, larger than the nvs partition "nvs" \(24576 bytes at 0x9000\); provision with --nvs-size 0x6000/],
    ['no nvs partition in the table', [`0x8000=${f('no-nvs-table.bin')}`, `0x10000=${f('app.bin')}`, '--nvs', f('nvs.bin')], /no-nvs-table\.bin has no nvs partition \(type data, subtype nvs\)/],
    ['no partition table at all', [`0x10000=${f('app.bin')}`, '--nvs', f('nvs.bin')], /--nvs needs the partition table, to find the nvs partition/],
    ['a file that is not an NVS image', [...build, '--nvs', f('noise.bin')], /noise\.bin is not an NVS partition image \(its first page has no NVS page state .*\); give the nvs\.bin that `canopy provision` wrote/],
    ['a file that is not whole pages', [...build, '--nvs', f('odd.bin')], /odd\.bin is not an NVS partition image \(its size, 1000 bytes, is not a whole number of 4096-byte NVS pages\)/],
    ['a missing file', [...build, '--nvs', f('none.bin')], /cannot read .*none\.bin: no such file/],
  ])('refuses %s before the port opens: exit 1 and a sentence', async (_what, args, message) => {
    const r = await canopy('flash', ...args, '--port', '/dev/nonexistent-canopy-port');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/nonexistent-canopy-port/); // refused before any port was tried
    const { chip, binding } = fakeBoard();
    const j = await flashCli([...args, '--json'], binding);
    expect(j.code).toBe(1);
    expect(chip.commands).toEqual([]); // the board never heard from us
    expect(JSON.parse(j.out)).toMatchObject({ ok: false, command: 'flash', error: { code: 1, message: expect.stringMatching(message) } });
  });

  it('refuses --nvs with --ota (a package carries no partition table): exit 2', async () => {
    const r = await canopy('flash', '--ota', f('app.bin'), '--trust', f('app.bin'), '--nvs', f('nvs.bin'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--nvs needs the partition table of a build folder or ADDRESS=FILE pairs; --ota writes the app only/);
  });
});
