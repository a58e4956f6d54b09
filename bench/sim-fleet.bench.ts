// What a simulated fleet costs against the fleet a user would otherwise write: one mqtt.js client
// per device with the same sessions (bench/fleet-worker.ts has the details), each in its own
// process, against one stock mosquitto, interleaved over rounds, medians reported. Issue 12's goals:
// CPU per 1,000 messages ≤ 0.7× the mqtt.js fleet's, RSS per device ≤ 100 KB at N = 2,000.
// Env: CANOPY_BENCH_FLEET_DEVICES (default 2000), CANOPY_BENCH_FLEET_ROUNDS (default 3),
// CANOPY_BENCH_FLEET_MEASURE_MS (default 10000), CANOPY_BENCH_FLEET_ROOT (another checkout whose
// simulator the worker measures, for a before and after; bench/fleet-worker.ts).
import { fileURLToPath } from 'node:url';
import { Mosquitto } from '../host/mosquitto.ts';
import { median, row, runWorker, type BenchRow } from './harness.ts';
import type { FleetCost, FleetWay } from './fleet-worker.ts';

const DEVICES = Number(process.env.CANOPY_BENCH_FLEET_DEVICES ?? 2000);
const ROUNDS = Number(process.env.CANOPY_BENCH_FLEET_ROUNDS ?? 3);
const MEASURE_MS = Number(process.env.CANOPY_BENCH_FLEET_MEASURE_MS ?? 10_000);
const SETTLE_MS = 3000;
const worker = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));
const WAYS: FleetWay[] = ['mqttjs', 'canopy', 'observed'];

function measure(way: FleetWay, broker: string, prefix: string): Promise<FleetCost> {
  return runWorker<FleetCost>(['--expose-gc', '--import', 'tsx', worker, way, String(DEVICES), broker, prefix, String(SETTLE_MS), String(MEASURE_MS)], `fleet worker (${way})`);
}

/** Milliseconds of `ms` per 1,000 of the run's messages. */
const per1k = (ms: number, c: FleetCost) => ms / (c.messages / 1000);
const cpuPer1k = (c: FleetCost) => per1k(c.cpuMs, c);

export default async function simFleetBench(): Promise<BenchRow[]> {
  const m = new Mosquitto({ quiet: true });
  await m.start();
  const runs = new Map<FleetWay, FleetCost[]>(WAYS.map((w) => [w, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const way of WAYS) {
        // A fresh topic prefix and client ids each time: no persistent session from an earlier run.
        const c = await measure(way, m.url, `f${round}${way}`);
        // A fleet that is not keeping up would look cheap: every sample must be acknowledged.
        // On a machine too loaded to run it (samples late, acks behind) a round is left out, and said so.
        if (c.messages < DEVICES * (c.windowMs / 1000) * 0.9 || c.acked < c.messages * 0.95) {
          console.error(`  fleet ${way}: round left out, it did not keep up: ${c.messages} samples produced, ${c.acked} acknowledged in ${(c.windowMs / 1000).toFixed(1)} s for ${DEVICES} devices`);
          continue;
        }
        runs.get(way)!.push(c);
        console.error(
          `  fleet ${way.padEnd(8)} ${DEVICES} devices: ${c.messages} samples (${c.acked} acked${way === 'observed' ? `, ${c.observed} observed` : ''}) in ${(c.windowMs / 1000).toFixed(1)} s, ` +
            `CPU ${(c.cpuMs / 1000).toFixed(2)} s = ${cpuPer1k(c).toFixed(1)} ms per 1k (user ${per1k(c.cpuMs - c.systemMs, c).toFixed(1)} + system ${per1k(c.systemMs, c).toFixed(1)}), RSS +${(c.rssKb / 1024).toFixed(1)} MB = ${(c.rssKb / DEVICES).toFixed(1)} KB/device, heap +${(c.heapKb / DEVICES).toFixed(1)} KB/device (whole process ${(c.baseRssKb / 1024).toFixed(0)} → ${(c.totalRssKb / 1024).toFixed(0)} MB)`,
        );
      }
    }
  } finally {
    await m.dispose();
  }
  for (const [way, got] of runs) if (got.length === 0) throw new Error(`fleet (${way}) kept up in none of ${ROUNDS} rounds: the machine is too loaded for ${DEVICES} devices`);
  const cpu = (w: FleetWay) => median(runs.get(w)!.map(cpuPer1k));
  const rss = (w: FleetWay) => median(runs.get(w)!.map((c) => c.rssKb / DEVICES));
  const ref = `mqtt.js 5 fleet, one client per device, same sessions`;
  return [
    row(`fleet: CPU per 1k QoS 1 messages, V8 engine, ${DEVICES} devices, no observer`, cpu('canopy'), 'ms', `${ref} (${cpu('mqttjs').toFixed(1)} ms; goal ×0.7)`, cpu('mqttjs')),
    row(`fleet: CPU per 1k QoS 1 messages, same, with the observer (as \`canopy sim\`)`, cpu('observed'), 'ms', `${ref} (${cpu('mqttjs').toFixed(1)} ms; goal ×0.7)`, cpu('mqttjs')),
    row(`fleet: RSS per device at ${DEVICES} devices, no observer`, rss('canopy'), 'KB', `goal ≤ 100 KB (mqtt.js fleet: ${rss('mqttjs').toFixed(1)} KB)`, 100),
    row(`fleet: RSS per device at ${DEVICES} devices, with the observer`, rss('observed'), 'KB', `goal ≤ 100 KB (mqtt.js fleet: ${rss('mqttjs').toFixed(1)} KB)`, 100),
    row(`fleet: RSS per device at ${DEVICES} devices, no observer, against mqtt.js`, rss('canopy'), 'KB', `${ref} (${rss('mqttjs').toFixed(1)} KB)`, rss('mqttjs')),
  ];
}
