// `canopy flash` of the 124 KB ESP-IDF hello_world app into the fake ROM loader over a real pty
// (socat), at 460800 baud, the CLI run as a user runs it (a child process, --json). The reference
// is esptool.py writing the same file into the same fake the same way, when esptool.py is on PATH;
// Debian has no package for it, so otherwise the row compares with the figures issue 12 measured
// (esptool.py 4.6: 0.27 s wall, "Wrote ... in 0.075 seconds"), and says so. docs/flashing.md
// describes the reference run. The fake lives in test/support: it is the loader being measured.
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { FakeEsp32 } from '../sim/fake-esp32/rom.ts';
import { PtyPair } from '../sim/fake-esp32/pty.ts';
import { median, row, type BenchRow } from './harness.ts';

const APP = resolve(import.meta.dirname, '../../shared/fixtures/esp-idf/esp32/hello_world.bin');
const CLI = process.env.CANOPY_BENCH_FLASH_CLI ?? resolve(import.meta.dirname, '../bin/canopy.js');
const BAUD = '460800';
const ROUNDS = 3;
/** Issue 12's esptool.py 4.6 run into the same fake: wall time, and its "Wrote ... in" figure. */
export const ISSUE_REFERENCE = { wall: 0.27, write: 0.075 };

interface Run {
  wall: number;
  /** The write itself, as esptool prints it ("Wrote ... in N seconds"): no connect, stub or MD5. */
  write: number;
  /** Port open to close (connect, stub, baud change, write, MD5 check, reset); Canopy only. */
  session?: number;
}

function run(cmd: string, args: string[]): Promise<{ wall: number; out: string; err: string; code: number | null }> {
  const start = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => done({ wall: (performance.now() - start) / 1000, out, err, code }));
  });
}

/** One flash into a fresh fake (download mode, as a board with BOOT held: a pty has no DTR/RTS). */
async function intoFake(flash: (port: string) => Promise<Run>): Promise<Run> {
  const pty = await new PtyPair().start();
  try {
    await pty.attach(new FakeEsp32());
    return await flash(pty.host);
  } finally {
    await pty.stop();
  }
}

async function canopy(port: string): Promise<Run> {
  // --verbose puts esptool's "Wrote ... in N seconds" line on stderr, the figure esptool.py prints.
  const r = await run(process.execPath, [CLI, 'flash', '--port', port, '--baud', BAUD, '--json', '--verbose', `0x10000=${APP}`]);
  // --json wraps the FlashReport in {ok, command, result} (docs/cli-json.md).
  const report = JSON.parse(r.out) as { ok: boolean; result: { seconds: number } };
  const wrote = /Wrote \d+ bytes .* in ([\d.]+) seconds/.exec(r.err);
  if (r.code !== 0 || !report.ok || !wrote) throw new Error(`canopy flash failed (${r.code}): ${r.out}${r.err}`);
  return { wall: r.wall, write: Number(wrote[1]), session: report.result.seconds };
}

function esptoolOnPath(): string | undefined {
  for (const bin of ['esptool.py', 'esptool']) if (spawnSync(bin, ['version']).status === 0) return bin;
  return undefined;
}

async function esptool(bin: string, port: string): Promise<Run> {
  // The fake starts in the loader and a pty has no lines to pulse: no reset before or after.
  const args = ['--chip', 'esp32', '--port', port, '--baud', BAUD, '--before', 'no_reset', '--after', 'no_reset', 'write_flash', '0x10000', APP];
  const r = await run(bin, args);
  const wrote = /Wrote \d+ bytes .* in ([\d.]+) seconds/.exec(r.out);
  if (r.code !== 0 || !wrote) throw new Error(`${bin} failed (${r.code}): ${r.out}${r.err}`);
  return { wall: r.wall, write: Number(wrote[1]) };
}

export default async function (): Promise<BenchRow[]> {
  const bin = esptoolOnPath();
  const ours: Run[] = [];
  const theirs: Run[] = [];
  await intoFake(canopy); // warm the disk cache and tsx's transform cache
  for (let i = 0; i < ROUNDS; i++) {
    ours.push(await intoFake(canopy));
    if (bin) theirs.push(await intoFake((port) => esptool(bin, port)));
  }
  const ref = bin ? { wall: median(theirs.map((r) => r.wall)), write: median(theirs.map((r) => r.write)) } : ISSUE_REFERENCE;
  const refName = bin ? `${bin} into the same fake, same run` : 'esptool.py 4.6, issue 12 figure (esptool.py not on PATH)';
  const ms = (s: number) => s * 1000;
  return [
    row('flash: 124 KB app into the fake loader, write phase, 460800 baud', ms(median(ours.map((r) => r.write))), 'ms', refName, ms(ref.write)),
    row('flash: same, connect to reset (port open to close)', ms(median(ours.map((r) => r.session ?? 0))), 'ms', `${refName}, wall`, ms(ref.wall)),
    row('flash: same, wall time of `canopy flash`', ms(median(ours.map((r) => r.wall))), 'ms', `${refName}, wall`, ms(ref.wall)),
  ];
}
