// The flash plan (what goes where, checked before a port is opened), port selection and error
// wording, and the progress/summary text. No serial port involved.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlashError } from '../host/flash/errors.ts';
import { verifyOtaPackage } from '../host/flash/ota-input.ts';
import { trustedKey, trustStoreJson } from '../protocol/ota/trust.ts';
import { generateKeyPem, signingKey } from '../ota/keys.ts';
import { pack } from '../ota/pack.ts';
import { bootAppPartition, parsePartitionTable } from '../host/flash/partition-table.ts';
import { parseAddress, planFromBuildDir, planFromOtaPackage, planFromPairs, type FlashPlan } from '../host/flash/plan.ts';
import { openError, pickPort } from '../host/flash/ports.ts';
import { progressLine } from '../host/flash/progress.ts';
import { fakeBoard, flashCli, folder, noise } from './support/fake-esp32/board.ts';

const FIXTURES = resolve(import.meta.dirname, '../../shared/fixtures/esp-idf');
const load = (chip: string, file: string) => new Uint8Array(readFileSync(join(FIXTURES, chip, file)));
const boot = load('esp32', 'bootloader.bin');
const table = load('esp32', 'partition-table.bin');
const app = load('esp32', 'hello_world.bin');

const layout = (plan: FlashPlan) => plan.entries.map((e) => [e.address, e.name, e.role, e.chipName ?? null]);

function thrown(run: () => unknown): FlashError {
  try {
    run();
  } catch (err) {
    if (err instanceof FlashError) return err;
    throw err;
  }
  throw new Error('expected a FlashError');
}

// An ESP-IDF build folder as idf.py leaves it.
const idfBuild = {
  'bootloader/bootloader.bin': boot,
  'partition_table/partition-table.bin': table,
  'hello_world.bin': app,
};
const flasherArgs = {
  write_flash_args: ['--flash_mode', 'dio', '--flash_size', '2MB', '--flash_freq', '40m'],
  flash_files: { '0x1000': 'bootloader/bootloader.bin', '0x10000': 'hello_world.bin', '0x8000': 'partition_table/partition-table.bin' },
  extra_esptool_args: { after: 'hard_reset', before: 'default_reset', stub: true, chip: 'esp32' },
};
const expected = [
  [0x1000, 'bootloader/bootloader.bin', 'bootloader', 'ESP32'],
  [0x8000, 'partition_table/partition-table.bin', 'partition-table', null],
  [0x10000, 'hello_world.bin', 'app', 'ESP32'],
];

describe('flash plan', () => {
  it('reads the offsets an ESP-IDF build recorded in flasher_args.json (also under build/)', () => {
    const dir = folder({ ...Object.fromEntries(Object.entries(idfBuild).map(([k, v]) => [`build/${k}`, v])), 'build/flasher_args.json': JSON.stringify(flasherArgs) });
    const plan = planFromBuildDir(dir);
    expect(layout(plan)).toEqual(expected);
    expect(plan.partitions?.map((p) => p.label)).toEqual(['nvs', 'phy_init', 'factory']);
  });

  it('reads flash_project_args when there is no flasher_args.json', () => {
    const args = '--flash_mode dio --flash_freq 40m --flash_size 2MB\n0x1000 bootloader/bootloader.bin\n0x10000 hello_world.bin\n0x8000 partition_table/partition-table.bin\n';
    expect(layout(planFromBuildDir(folder({ ...idfBuild, flash_project_args: args })))).toEqual(expected);
  });

  it('places bare images by content and the partition table when nothing recorded offsets', () => {
    expect(layout(planFromBuildDir(join(FIXTURES, 'esp32')))).toEqual([
      [0x1000, 'bootloader.bin', 'bootloader', 'ESP32'],
      [0x8000, 'partition-table.bin', 'partition-table', null],
      [0x10000, 'hello_world.bin', 'app', 'ESP32'],
    ]);
    // ESP32-C3 and -S3 bootloaders live at 0x0.
    expect(layout(planFromBuildDir(join(FIXTURES, 'esp32-c3')))[0]).toEqual([0, 'bootloader.bin', 'bootloader', 'ESP32-C3']);
    expect(layout(planFromBuildDir(join(FIXTURES, 'esp32-s3')))[0]).toEqual([0, 'bootloader.bin', 'bootloader', 'ESP32-S3']);
  });

  it('asks for an address when given a single image instead of a folder', () => {
    const e = thrown(() => planFromBuildDir(join(FIXTURES, 'esp32', 'hello_world.bin')));
    expect(e.message).toMatch(/hello_world\.bin is a file, not a build folder: give it an address, e\.g\. 0x10000=/);
    expect(thrown(() => planFromBuildDir('/nonexistent/build')).message).toMatch(/cannot read the build folder \/nonexistent\/build: no such file/);
  });

  it('takes ADDRESS=FILE pairs, in hex or decimal, sorted by address', () => {
    const dir = folder({ 'nvs.bin': noise(0x2000, 3), 'app.bin': app });
    const plan = planFromPairs(['65536=app.bin', '0x9000=nvs.bin'], dir);
    expect(layout(plan)).toEqual([
      [0x9000, 'nvs.bin', 'data', null],
      [0x10000, 'app.bin', 'app', 'ESP32'],
    ]);
  });

  it('refuses bad input with the reason and the file', () => {
    const damaged = app.slice();
    damaged[0x40] ^= 0xff;
    const mixed = load('esp32-c3', 'bootloader.bin');
    const dir = folder({ 'app.bin': app, 'bad.bin': damaged, 'c3.bin': mixed, 'empty.bin': new Uint8Array(0), 'table.bin': table, 'big.bin': new Uint8Array(0x100001).fill(0xe9) });
    const cases: Array<[string[], string, RegExp]> = [
      [['0x10000'], 'plan', /"0x10000" is not ADDRESS=FILE/],
      [['ten=app.bin'], 'plan', /address in "ten=app.bin" "ten" is not a number/],
      [['0x10800=app.bin'], 'plan', /app\.bin at 0x10800: flash addresses must be multiples of 4 KiB/],
      [['0x10000=missing.bin'], 'plan', /cannot read missing\.bin: no such file/],
      [['0x10000=empty.bin'], 'plan', /empty\.bin is empty/],
      [['0x10000=bad.bin'], 'plan', /bad\.bin is not a valid ESP image: checksum mismatch: stored 0x[0-9A-F]{2}, computed 0x[0-9A-F]{2}/],
      [['0x10000=app.bin', '0x20000=app.bin'], 'plan', /app\.bin \(0x10000\.\.0x2E600\) overlaps app\.bin at 0x20000/],
      [['0x0=c3.bin', '0x10000=app.bin'], 'chip-mismatch', /different chips: c3\.bin for ESP32-C3 \(chip id 5\), app\.bin for ESP32 \(chip id 0\)/],
      [['0x8000=table.bin', '0x20000=app.bin'], 'plan', /app\.bin at 0x20000 does not start an app partition of table\.bin/],
    ];
    for (const [pairs, reason, message] of cases) {
      const e = thrown(() => planFromPairs(pairs, dir));
      expect([e.reason, e.message], pairs.join(' ')).toEqual([reason, expect.stringMatching(message)]);
    }
    // An app larger than its partition: a tiny table whose factory partition is 64 KiB.
    const small = table.slice(0, 128);
    small.set([0, 0, 1, 0], 64 + 8); // factory size 0x10000
    small.fill(0xff, 96, 128); // drop the MD5 entry, which no longer matches
    const tiny = folder({ 'app.bin': app, 'table.bin': small });
    const e = thrown(() => planFromPairs(['0x8000=table.bin', '0x10000=app.bin'], tiny));
    expect(e.reason).toBe('too-big');
    expect(e.message).toMatch(/app\.bin is 124416 bytes, larger than its partition "factory" \(65536 bytes\)/);
  });

  it('reads the partition table and checks its MD5 entry', () => {
    const parts = parsePartitionTable(table);
    expect(parts).toEqual([
      { label: 'nvs', type: 1, subtype: 2, offset: 0x9000, size: 0x6000 },
      { label: 'phy_init', type: 1, subtype: 1, offset: 0xf000, size: 0x1000 },
      { label: 'factory', type: 0, subtype: 0, offset: 0x10000, size: 0x100000 },
    ]);
    expect(bootAppPartition(parts)?.label).toBe('factory');
    const tampered = table.slice();
    tampered[8] ^= 1;
    expect(() => parsePartitionTable(tampered, 'pt.bin')).toThrow(/pt\.bin: MD5 entry at 0x60 does not match the entries before it/);
  });

  it('parses addresses strictly', () => {
    expect([parseAddress('0x1000'), parseAddress('4096'), parseAddress('0X10000')]).toEqual([0x1000, 4096, 0x10000]);
    for (const bad of ['', '0x', '1e3', '-1', '0x1_000', '0x100000000']) expect(() => parseAddress(bad)).toThrow(FlashError);
  });
});

describe('OTA package input', () => {
  const signer = signingKey(generateKeyPem('ES256'));
  const stranger = signingKey(generateKeyPem('ES256'));
  const trustJson = JSON.stringify(trustStoreJson({ threshold: 1, keys: [trustedKey(signer.spki, 'release')] }));
  const good = pack(app, [signer], { seq: 3, vendor: 'acme', class: 'sensor-v1' });
  const forged = pack(app, [stranger], { seq: 3, vendor: 'acme', class: 'sensor-v1' });
  const tampered = good.slice();
  tampered[tampered.length - 100] ^= 1;
  const dir = folder({ 'good.canopy': good, 'forged.canopy': forged, 'tampered.canopy': tampered, 'trust.json': trustJson });

  it('verifies the package against the trust store, then writes its payload at the app offset', async () => {
    const plan = await planFromOtaPackage(join(dir, 'good.canopy'), verifyOtaPackage(join(dir, 'trust.json')));
    expect(layout(plan)).toEqual([[0x10000, 'good.canopy payload (hello_world v1.4.1-2-g0296947-dirty (sequence 3))', 'app', 'ESP32']]);
    expect(Buffer.from(plan.entries[0].data).equals(Buffer.from(app))).toBe(true);
  });

  it.each([
    ['forged.canopy', /not a valid package \(signature: .*Nothing was written/],
    ['tampered.canopy', /not a valid package \((digest|chunk|esp-image): /],
  ])('refuses %s before opening the port', async (file, message) => {
    const { chip, binding } = fakeBoard();
    const { code, out } = await flashCli(['--ota', join(dir, file), '--trust', join(dir, 'trust.json'), '--json'], binding);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({ ok: false, command: 'flash', error: { reason: 'ota-invalid', code: 1, message: expect.stringMatching(message) } });
    expect(chip.commands).toEqual([]);
  });

  it('needs a trust store', async () => {
    await expect(planFromOtaPackage(join(dir, 'good.canopy'), verifyOtaPackage(undefined))).rejects.toMatchObject({
      reason: 'ota-invalid',
      message: expect.stringMatching(/--ota needs --trust TRUST\.json/),
    });
  });

  it('puts a verified payload at the app offset, and refuses a payload that is not an app', async () => {
    const plan = await planFromOtaPackage(join(dir, 'good.canopy'), async () => ({ image: app, description: 'hello_world 1.0' }));
    expect(layout(plan)).toEqual([[0x10000, 'good.canopy payload (hello_world 1.0)', 'app', 'ESP32']]);
    const elsewhere = await planFromOtaPackage(join(dir, 'good.canopy'), async () => ({ image: app, description: 'x' }), 0x110000);
    expect(elsewhere.entries[0].address).toBe(0x110000);
    await expect(planFromOtaPackage(join(dir, 'good.canopy'), async () => ({ image: boot, description: 'x' }))).rejects.toThrow(/is not an ESP-IDF app image/);
    await expect(planFromOtaPackage(join(dir, 'good.canopy'), async () => { throw new FlashError('plan', 'signature: no trusted key'); })).rejects.toThrow(/no trusted key/);
  });
});

describe('ports and messages', () => {
  const cp2102 = { path: '/dev/ttyUSB0', vendorId: '10c4', productId: 'ea60' };
  it('picks the only known bridge among other serial devices, whatever the id spelling', () => {
    expect(pickPort([{ path: '/dev/ttyS0' }, cp2102]).path).toBe('/dev/ttyUSB0');
    expect(pickPort([{ path: '/dev/ttyACM0', vendorId: '0x303A', productId: '1001' }]).path).toBe('/dev/ttyACM0');
    for (const [vid, pid] of [['1a86', '7523'], ['0403', '6001'], ['0403', '6010'], ['0403', '6014'], ['0403', '6015']]) {
      expect(pickPort([{ path: '/dev/x', vendorId: vid, productId: pid }]).path).toBe('/dev/x');
    }
    expect(() => pickPort([])).toThrow(/No serial ports found at all/);
  });

  it('turns the OS open errors into what to do', () => {
    // The texts bindings-cpp builds from strerror (serialport_unix.cpp).
    expect(openError('/dev/ttyUSB0', new Error('Error: Permission denied, cannot open /dev/ttyUSB0'))).toMatchObject({
      reason: 'permission-denied',
      message: expect.stringMatching(/sudo usermod -aG dialout \$USER/),
    });
    expect(openError('/dev/ttyUSB0', new Error('Error Resource temporarily unavailable Cannot lock port')).reason).toBe('port-busy');
    expect(openError('/dev/ttyUSB9', new Error('Error: No such file or directory, cannot open /dev/ttyUSB9')).reason).toBe('port-missing');
    expect(openError('/dev/ttyUSB0', new Error('Error: Input/output error, cannot open /dev/ttyUSB0'))).toMatchObject({
      reason: 'port-failed',
      message: 'cannot open /dev/ttyUSB0: Error: Input/output error, cannot open /dev/ttyUSB0',
    });
  });

  it('draws a progress bar', () => {
    expect(progressLine('app.bin', 0x10000, 0, 2048)).toBe('app.bin                   0x10000  [........................]   0%  0.0 KiB/2.0 KiB');
    expect(progressLine('app.bin', 0x10000, 1024, 2048, 8)).toBe('app.bin                   0x10000  [####....]  50%  1.0 KiB/2.0 KiB');
    expect(progressLine('app.bin', 0x10000, 0, 0, 4)).toMatch(/\[####\] 100%/);
  });
});
