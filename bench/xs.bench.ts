// The XS worker's costs: round trips across the pipes in both directions, a virtual-time timer
// fire through the bridge, and the live heap of an empty worker (the footprint baseline every
// device-app figure is measured against). Host slots are 32 B; the same slot is 16 B on an ESP32.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bridge } from '../host/xs/bridge.ts';
import { buildXsBundle } from '../host/xs/bundle.ts';
import { GuestTimers, VirtualClock } from '../host/xs/timers.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { median, row, type BenchRow } from './harness.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = 5;

/** Median over rounds of µs per operation; `run(n)` performs n operations. */
async function microsPerOp(run: (n: number) => Promise<void>, n: number): Promise<number> {
  await run(Math.ceil(n / 4)); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await run(n);
    samples.push(((performance.now() - start) * 1000) / n);
  }
  return median(samples);
}

async function liveSlots(worker: XsWorker): Promise<number> {
  return (await worker.evaluate('gc()')).meter.heapSlots;
}

export default async function xsBench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const worker = new XsWorker({ name: 'bench', onCommand: (b) => b });
  try {
    // Footprint first, before anything else lands in this worker's heap.
    const emptySlots = await liveSlots(worker);
    const baseline = 'empty XS worker after gc() (baseline)';
    rows.push(row('xs: live heap slots, empty worker', emptySlots, 'slots', baseline, emptySlots));

    // Reference: the cheapest async hop on the host itself.
    const nodeAsync = async (b: Uint8Array) => b;
    const payload = new Uint8Array(8);
    const nodeUs = await microsPerOp(async (n) => {
      for (let i = 0; i < n; i++) await nodeAsync(payload);
    }, 200_000);

    await worker.evaluate('globalThis.handleCommand = (ab) => ab');
    const hostToGuestUs = await microsPerOp(async (n) => {
      for (let i = 0; i < n; i++) await worker.issueCommand(payload);
    }, 5_000);
    rows.push(row('xs: host→guest issueCommand round trip (8 B echo)', hostToGuestUs, 'µs/op', 'Node: await of an async function call', nodeUs));

    // Timed inside the guest, so the one evaluate that carries the loop does not count.
    const guestToHost: number[] = [];
    for (let i = 0; i < ROUNDS + 1; i++) {
      const r = await worker.evaluate(`
        const b = new ArrayBuffer(8), n = 20000, t0 = performance.now();
        for (let i = 0; i < n; i++) issueCommand(b);
        new Float64Array([(performance.now() - t0) * 1000 / n]).buffer`);
      if (i > 0) guestToHost.push(new Float64Array(r.bytes.buffer, r.bytes.byteOffset, 1)[0]);
    }
    rows.push(
      row('xs: guest→host issueCommand round trip (8 B echo)', median(guestToHost), 'µs/op', 'xs: host→guest issueCommand round trip', hostToGuestUs),
    );
  } finally {
    await worker.close();
  }

  // A device-style guest: the bridge and its timers loaded, one interval ticking in virtual time.
  const bridgeBundle = await buildXsBundle({
    resolveDir: root,
    sourcefile: 'bench-guest.ts',
    source: `import * as xs from './device/platform/xs-bridge'; (globalThis as any).xs = xs;`,
  });
  const guest = new XsWorker({ name: 'bench-timers' });
  try {
    const bridge = new Bridge(guest);
    const clock = new VirtualClock();
    const timers = new GuestTimers(bridge, clock);
    const emptySlots = await liveSlots(guest);
    await guest.evaluate(bridgeBundle.code);
    await guest.evaluate('globalThis.ticks = 0; xs.setInterval(() => ticks++, 1000)');
    const bridgeSlots = await liveSlots(guest);
    rows.push(row('xs: live heap slots, + xs-bridge and one interval', bridgeSlots, 'slots', 'empty XS worker after gc() (baseline)', emptySlots));
    const utf8Bundle = await buildXsBundle({ entry: join(root, 'protocol/utf8.ts') });
    rows.push(row('xs: xs-bridge bundle size (unminified)', bridgeBundle.bytes, 'B', 'protocol/utf8.ts bundled alone', utf8Bundle.bytes));

    const fireUs = await microsPerOp(async (n) => void (await clock.advance(n * 1000)), 3_600);
    const rawWorker = new XsWorker({ name: 'bench-raw' });
    await rawWorker.evaluate('globalThis.handleCommand = (ab) => ab');
    const payload = new Uint8Array(5);
    const rawUs = await microsPerOp(async (n) => {
      for (let i = 0; i < n; i++) await rawWorker.issueCommand(payload);
    }, 3_600);
    await rawWorker.close();
    rows.push(row('xs: guest interval tick under VirtualClock (bridge + timers)', fireUs, 'µs/tick', 'xs: host→guest issueCommand round trip', rawUs));
    timers.dispose();
  } finally {
    await guest.close();
  }
  return rows;
}
