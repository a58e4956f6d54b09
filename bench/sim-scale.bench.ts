// Simulator scale against mosquitto on this machine: how many devices each engine sustains at
// one QoS 1 sample per second each, with publish-to-receive latency (firmware publish → the
// observer's decode, same process clock). A level is sustained when ≥ 98 % of the expected
// samples arrive and p99 latency stays under one second. Goals: V8 engine ≥ 10,000 devices,
// XS engine ≥ 200. Levels: CANOPY_BENCH_NODE_LEVELS / CANOPY_BENCH_XS_LEVELS (comma-separated).
import { RealClock } from '../host/xs/timers.ts';
import { Fleet } from '../sim/fleet.ts';
import { FleetObserver } from '../sim/observer.ts';
import { Mosquitto } from '../test/support/mosquitto.ts';
import { median, row, type BenchRow } from './harness.ts';

const MEASURE_MS = Number(process.env.CANOPY_BENCH_MEASURE_MS ?? 15_000);
const levels = (name: string, fallback: number[]) => (process.env[name] ? process.env[name]!.split(',').map(Number) : fallback);

interface Level {
  devices: number;
  expected: number;
  received: number;
  p50: number;
  p99: number;
  sustained: boolean;
}

async function runLevel(engine: 'xs' | 'node', devices: number, brokerUrl: string): Promise<Level> {
  const clock = new RealClock();
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let measuring = false;
  let expected = 0;
  const observer = new FleetObserver({ broker: brokerUrl, clientId: `bench-observer-${engine}-${devices}` });
  observer.on('observation', (o) => {
    if (o.kind !== 'telemetry' || !measuring) return;
    const key = `${o.device}/${o.sample.seq}`;
    const t = sent.get(key);
    if (t === undefined) return;
    sent.delete(key);
    latencies.push(performance.now() - t);
  });
  await observer.start();
  const fleet = await Fleet.create({
    engine,
    groups: [{ count: devices, prefix: `${engine}${devices}`, intervalMs: 1000, qos: 1, keepalive: 60, dhtErrorRate: 0, motionPerHour: 0 }],
    brokerUrl,
    clock,
    seed: 1,
    epoch: 1_780_272_000,
    proxies: false,
    onDeviceEvent: (device, e) => {
      if (e.type !== 'sample' || !measuring) return;
      expected++;
      sent.set(`${device}/${e.seq}`, performance.now());
    },
  });
  try {
    // Booted over about one interval, so the fleet's samples spread over the second as a real
    // fleet's phases would, rather than arriving as one burst.
    const batch = Math.max(1, Math.ceil(fleet.members.length / 20));
    for (let i = 0; i < fleet.members.length; i += batch) {
      await Promise.all(fleet.members.slice(i, i + batch).map((m) => m.device.boot()));
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 3000)); // settle: connections, births, subscriptions
    measuring = true;
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    measuring = false;
    await new Promise((r) => setTimeout(r, 2000)); // let the last samples of the window arrive
  } finally {
    await fleet.dispose();
    clock.cancelAll();
    await observer.stop().catch(() => undefined);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : Infinity);
  const received = latencies.length;
  const level = { devices, expected, received, p50: median(latencies), p99: pct(0.99), sustained: false };
  level.sustained = expected >= devices * (MEASURE_MS / 1000) * 0.9 && received >= expected * 0.98 && level.p99 < 1000;
  console.error(`  ${engine} ${devices} devices: ${received}/${expected} samples in ${MEASURE_MS / 1000} s, p50 ${level.p50.toFixed(1)} ms, p99 ${level.p99.toFixed(1)} ms${level.sustained ? '' : ' — not sustained'}`);
  return level;
}

async function scale(engine: 'xs' | 'node', steps: number[], goal: number, brokerUrl: string): Promise<BenchRow[]> {
  let best: Level | undefined;
  for (const n of steps) {
    const level = await runLevel(engine, n, brokerUrl);
    if (!level.sustained) break;
    best = level;
  }
  const name = engine === 'node' ? 'sim, V8 engine' : 'sim, XS engine';
  if (!best) return [row(`${name}: devices sustained at 1 msg/s QoS 1 (mosquitto)`, 0, 'devices', `goal ${goal}`, goal)];
  return [
    row(`${name}: devices sustained at 1 msg/s QoS 1 (mosquitto)`, best.devices, 'devices', `goal ${goal}`, goal),
    row(`${name}: publish→receive p50 at ${best.devices} devices`, best.p50, 'ms', 'one sample interval (1000 ms)', 1000),
    row(`${name}: publish→receive p99 at ${best.devices} devices`, best.p99, 'ms', 'one sample interval (1000 ms)', 1000),
  ];
}

export default async function simScaleBench(): Promise<BenchRow[]> {
  const m = new Mosquitto({ quiet: true });
  await m.start();
  try {
    return [
      ...(await scale('node', levels('CANOPY_BENCH_NODE_LEVELS', [1000, 2500, 5000, 7500, 10000, 12500]), 10_000, m.url)),
      ...(await scale('xs', levels('CANOPY_BENCH_XS_LEVELS', [50, 100, 200, 300]), 200, m.url)),
    ];
  } finally {
    await m.dispose();
  }
}
