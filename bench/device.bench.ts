// Device footprint on the real XS engine: the firmware bundle runs 10,000 samples in virtual time
// against the embedded broker; live heap slots (after gc) are compared with an empty worker
// measured in the same run (the engine's own objects), with a worker holding the same bundle
// loaded but not started (the code's own objects), and with the same device after warm-up
// (growth, which must be zero). Goal: ≤ 1,500 slots above the empty baseline. Host slots are
// 32 B; the same slot is 16 B on an ESP32.
import { readFileSync } from 'node:fs';
import { EmbeddedBroker } from '../host/broker.ts';
import { NetActivity } from '../host/device-socket.ts';
import { simulatorProgram } from '../host/xs/program.ts';
import { XsDevice } from '../sim/xs-device.ts';
import { VirtualClock } from '../host/xs/timers.ts';
import { XsWorker } from '../host/xs/worker.ts';
import { deviceBundleCode } from '../sim/fleet.ts';
import { SensorModel } from '../sim/models.ts';
import { networkQuiet } from '../sim/runner.ts';
import { row, type BenchRow } from './harness.ts';

const SAMPLES = Number(process.env.CANOPY_BENCH_SAMPLES ?? 10_000);
const WARMUP = 200;

/** Live slots of a fresh worker after gc(), with `code` evaluated first when given. */
async function workerSlots(code?: string): Promise<number> {
  const w = new XsWorker({ name: 'bench-baseline' });
  try {
    if (code) await w.evaluate(code);
    return (await w.evaluate('gc()')).meter.heapSlots;
  } finally {
    await w.close();
  }
}

/** Resident set of a process, in KB (Linux). */
function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
}

/**
 * RSS of one XS device's worker after `samples` samples in virtual time, with the ESP32-sized heap
 * (the default: host/xs/device-heap.ts) or xsnap's own 32 MB chunk heap.
 */
async function deviceRssKb(broker: EmbeddedBroker, heap: 'device' | 'unbounded', samples: number): Promise<number> {
  const clock = new VirtualClock(0);
  const sensors = new SensorModel(clock, { seed: 2, epoch: 1_780_272_000, motion: { perHour: 6 } });
  let n = 0;
  const activity = new NetActivity();
  const device = new XsDevice({
    code: await deviceBundleCode(),
    activity,
    config: { deviceId: `bench-rss-${heap}`, broker: broker.url, intervalMs: 1000, qos: 1, keepalive: 60 },
    clock,
    sensors,
    epoch: 1_780_272_000,
    heap: heap === 'unbounded' ? 'unbounded' : undefined,
    onEvent: (e) => {
      if (e.type === 'sample') n++;
    },
  });
  try {
    await device.boot();
    while (n < samples) {
      await networkQuiet(activity, 1, 50);
      await clock.advanceTo(clock.nextDueAt() ?? clock.now() + 1000);
    }
    await networkQuiet(activity, 5, 500);
    return rssKb(device.xsWorker!.pid!);
  } finally {
    await device.powerCut();
    sensors.close();
  }
}

export default async function deviceBench(): Promise<BenchRow[]> {
  const broker = await new EmbeddedBroker({ port: 0 }).start();
  const clock = new VirtualClock(0);
  const sensors = new SensorModel(clock, { seed: 1, epoch: 1_780_272_000, motion: { perHour: 6 } });
  let samples = 0;
  const activity = new NetActivity();
  const device = new XsDevice({
    code: await deviceBundleCode(),
    config: { deviceId: 'bench-1', broker: broker.url, intervalMs: 1000, qos: 1, keepalive: 60 },
    clock,
    sensors,
    epoch: 1_780_272_000,
    activity,
    onEvent: (e) => {
      if (e.type === 'sample') samples++;
    },
  });
  const rows: BenchRow[] = [];
  try {
    const empty = await workerSlots();
    const loaded = await workerSlots(await deviceBundleCode());
    await device.boot();
    const run = async (until: number) => {
      while (samples < until) {
        await networkQuiet(activity, 1, 50);
        await clock.advanceTo(clock.nextDueAt() ?? clock.now() + 1000);
      }
      await networkQuiet(activity, 5, 500);
    };
    const slots = async () => (await device.xsWorker!.evaluate('gc()')).meter.heapSlots;
    await run(WARMUP);
    const warm = await slots();
    const started = performance.now();
    await run(SAMPLES);
    const seconds = (performance.now() - started) / 1000;
    const steady = await slots();
    const stats = await device.stats();
    if (stats.delivered !== undefined && Number(stats.delivered) < SAMPLES) throw new Error(`only ${stats.delivered} of ${SAMPLES} samples were acknowledged`);
    rows.push(row(`device on xs: live slots above an empty worker after ${SAMPLES} samples`, steady - empty, 'slots', `goal ≤ 1500 (empty worker: ${empty} slots)`, 1500));
    // On an ESP32 the firmware's modules are preloaded: their functions and frozen constants
    // live in flash, so RAM holds only what the running app allocates.
    rows.push(row(`device on xs: of which the app's running state (above the bundle loaded, not started)`, steady - loaded, 'slots', 'goal ≤ 1500', 1500));
    rows.push(row('device on xs: of which code and module constants (preloaded to flash on an ESP32)', loaded - empty, 'slots', `empty worker (${empty} slots)`, empty));
    rows.push(row(`device on xs: heap growth from sample ${WARMUP} to ${SAMPLES}`, steady - warm, 'slots', `live slots after warm-up (${warm})`, warm));
    rows.push(row('device on xs: samples per wall-clock second (virtual time, QoS 1, aedes)', SAMPLES / seconds, 'samples/s', 'one sample per device-second in real time', 1));
    const program = await simulatorProgram();
    const unbounded = await deviceRssKb(broker, 'unbounded', WARMUP);
    const sized = await deviceRssKb(broker, 'device', WARMUP);
    rows.push(row(`device on xs: worker RSS, ESP32-sized heap, after ${WARMUP} samples`, sized / 1024, 'MB', `xsnap's default 32 MB chunk heap (${(unbounded / 1024).toFixed(1)} MB)`, unbounded / 1024));
    rows.push(row('device on xs: worker RSS, ESP32-sized heap', sized / 1024, 'MB', 'goal ≤ 8 MB per XS device (issue 12)', 8));
    // The simulator ships the firmware as modules under their manifest names (host/xs/program.ts),
    // no longer as one esbuild bundle; the last bundle measured 175,166 B unminified.
    rows.push(row(`device program for xs: ${program.modules.length} modules as the simulator loads them`, program.bytes, 'B', 'the last esbuild bundle of the same entry (175,166 B)', 175_166));
  } finally {
    await device.powerCut();
    sensors.close();
    await broker.stop();
  }
  return rows;
}
