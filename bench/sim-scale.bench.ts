// Simulator scale against mosquitto on this machine: how many devices each engine sustains at
// one QoS 1 sample per second each, with publish-to-receive latency (firmware publish → an
// observer's decode). A level is sustained when ≥ 98 % of the expected samples arrive and p99
// latency stays under one second. Goals: V8 engine ≥ 10,000 devices, XS engine ≥ 200.
//
// The V8 engine runs as several shard processes (`canopy sim --shard` does the same), because one
// Node process tops out near 8,000 sockets' worth of work per second on one core; the XS engine
// is already one process per device. Env: CANOPY_BENCH_NODE_LEVELS / CANOPY_BENCH_XS_LEVELS
// (comma-separated device counts), CANOPY_BENCH_SHARDS (V8 processes, default 2),
// CANOPY_BENCH_MEASURE_MS (default 10000).
import { fileURLToPath } from 'node:url';
import { Mosquitto } from '../host/mosquitto.ts';
import { median, row, runWorker, type BenchRow } from './harness.ts';
import type { ShardResult } from './scale-worker.ts';

const MEASURE_MS = Number(process.env.CANOPY_BENCH_MEASURE_MS ?? 10_000);
const SHARDS = Number(process.env.CANOPY_BENCH_SHARDS ?? 2);
const worker = fileURLToPath(new URL('./scale-worker.ts', import.meta.url));
const levels = (name: string, fallback: number[]) => (process.env[name] ? process.env[name]!.split(',').map(Number) : fallback);

interface Level {
  devices: number;
  expected: number;
  received: number;
  p50: number;
  p99: number;
  sustained: boolean;
}

function shard(engine: string, devices: number, index: number, count: number, broker: string): Promise<ShardResult> {
  return runWorker<ShardResult>(['--import', 'tsx', worker, engine, String(devices), String(index), String(count), broker, '3000', String(MEASURE_MS)], `scale shard ${index}/${count}`);
}

async function runLevel(engine: 'xs' | 'node', devices: number, processes: number, broker: string): Promise<Level> {
  const parts = await Promise.all(Array.from({ length: processes }, (_, i) => shard(engine, devices, i, processes, broker)));
  const latencies = parts.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const expected = parts.reduce((n, p) => n + p.expected, 0);
  const received = latencies.length;
  const p99 = latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(0.99 * latencies.length))] : Infinity;
  const level = { devices, expected, received, p50: median(latencies), p99, sustained: false };
  level.sustained = expected >= devices * (MEASURE_MS / 1000) * 0.9 && received >= expected * 0.98 && p99 < 1000;
  console.error(
    `  ${engine} ${devices} devices in ${processes} process(es): ${received}/${expected} samples in ${MEASURE_MS / 1000} s, ` +
      `p50 ${level.p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms${level.sustained ? '' : ' — not sustained'}`,
  );
  return level;
}

async function scale(engine: 'xs' | 'node', steps: number[], goal: number, processes: number, broker: string): Promise<BenchRow[]> {
  let best: Level | undefined;
  for (const n of steps) {
    const level = await runLevel(engine, n, processes, broker);
    if (!level.sustained) break;
    best = level;
  }
  const name = engine === 'node' ? `sim, V8 engine (${processes} processes)` : 'sim, XS engine';
  const rows = [row(`${name}: devices sustained at 1 msg/s QoS 1 (mosquitto)`, best?.devices ?? 0, 'devices', `goal ${goal}`, goal)];
  if (best) {
    rows.push(row(`${name}: publish→receive p50 at ${best.devices} devices`, best.p50, 'ms', 'one sample interval (1000 ms)', 1000));
    rows.push(row(`${name}: publish→receive p99 at ${best.devices} devices`, best.p99, 'ms', 'one sample interval (1000 ms)', 1000));
  }
  return rows;
}

export default async function simScaleBench(): Promise<BenchRow[]> {
  const m = new Mosquitto({ quiet: true });
  await m.start();
  try {
    return [
      ...(await scale('node', levels('CANOPY_BENCH_NODE_LEVELS', [2500, 5000, 7500, 10000, 12500, 15000]), 10_000, SHARDS, m.url)),
      ...(await scale('xs', levels('CANOPY_BENCH_XS_LEVELS', [100, 200, 300, 400]), 200, 1, m.url)),
    ];
  } finally {
    await m.dispose();
  }
}
