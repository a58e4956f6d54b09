// One process of the simulator scale benchmark (bench/sim-scale.bench.ts): runs one shard of a
// fleet at one sample per second per device, with its own observer on its own topic prefix, and
// prints what it measured as JSON. Publish and receive times are wall-clock based
// (timeOrigin + now), so shards in several processes measure on one clock.
import { RealClock } from '../host/xs/timers.ts';
import { Fleet } from '../sim/fleet.ts';
import { FleetObserver } from '../sim/observer.ts';

export interface ShardResult {
  expected: number;
  received: number;
  latencies: number[];
}

const now = () => performance.timeOrigin + performance.now();

export async function runShard(o: { engine: 'xs' | 'node'; devices: number; shard: { index: number; count: number }; broker: string; settleMs: number; measureMs: number }): Promise<ShardResult> {
  const clock = new RealClock();
  const prefix = `bench${o.shard.index}`;
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let measuring = false;
  let expected = 0;
  const observer = new FleetObserver({ broker: o.broker, topicPrefix: prefix, clientId: `bench-observer-${process.pid}` });
  observer.on('observation', (ob) => {
    if (ob.kind !== 'telemetry') return;
    const key = `${ob.device}/${ob.sample.seq}`;
    const t = sent.get(key);
    if (t === undefined) return;
    sent.delete(key);
    latencies.push(now() - t);
  });
  await observer.start();
  const fleet = await Fleet.create({
    engine: o.engine,
    groups: [{ count: o.devices, prefix: 'd', intervalMs: 1000, qos: 1, keepalive: 60, dhtErrorRate: 0, motionPerHour: 0 }],
    brokerUrl: o.broker,
    clock,
    seed: 1,
    epoch: 1_780_272_000,
    proxies: false,
    topicPrefix: prefix,
    shard: o.shard,
    onDeviceEvent: (device, e) => {
      if (e.type !== 'sample' || !measuring) return;
      expected++;
      sent.set(`${device}/${e.seq}`, now());
    },
  });
  try {
    // Booted over about one interval, so samples spread over the second as a real fleet's would.
    const batch = Math.max(1, Math.ceil(fleet.members.length / 20));
    for (let i = 0; i < fleet.members.length; i += batch) {
      await Promise.all(fleet.members.slice(i, i + batch).map((m) => m.device.boot()));
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, o.settleMs));
    measuring = true;
    await new Promise((r) => setTimeout(r, o.measureMs));
    measuring = false;
    await new Promise((r) => setTimeout(r, 2000)); // the last samples of the window
  } finally {
    await fleet.dispose();
    clock.cancelAll();
    await observer.stop().catch(() => undefined);
  }
  // Samples still unanswered count as lost.
  return { expected, received: latencies.length, latencies };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [engine, devices, index, count, broker, settleMs, measureMs] = process.argv.slice(2);
  const result = await runShard({
    engine: engine as 'xs' | 'node',
    devices: Number(devices),
    shard: { index: Number(index), count: Number(count) },
    broker,
    settleMs: Number(settleMs),
    measureMs: Number(measureMs),
  });
  // Exit only once the pipe has taken all of it: a large write is flushed asynchronously.
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
}
