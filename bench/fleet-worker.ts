// One process of the fleet cost benchmark (bench/sim-fleet.bench.ts): N simulated devices at one
// QoS 1 sample per second each against the broker given, run one of three ways, and prints JSON
// with the process's CPU time and RSS over a measured window.
//
//   mqttjs    the reference: one mqtt.js client per device, with the sessions Canopy's firmware
//             keeps (persistent session, keepalive 60, retained QoS 1 "offline" will, retained
//             "online" and info on connect, QoS 1 command subscription, QoS 1 telemetry, retained
//             health every 60 s), fed by the same sensor models and the same CBOR encoding.
//   canopy    Canopy's V8-engine fleet (sim/fleet.ts, sim/node-device.ts), no observer.
//   observed  the same fleet with the in-process observer and run summary, as `canopy sim` runs it.
//
// Every way boots its devices over one interval (so samples spread over the second, as a real
// fleet's do), settles, then measures. RSS and heap per device are the growth above this process
// just before the fleet was made (modules loaded, after a full GC), so Node's own ~50 MB and the
// code loaded count on neither side.
import mqtt from 'mqtt';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RealClock } from '../host/xs/timers.ts';
import { SensorModel } from '../sim/models.ts';
import { Topics } from '../protocol/topics.ts';
import { encodeSample, SAMPLE_SCHEMA } from '../protocol/telemetry.ts';
import { encodeHealth, encodeInfo } from '../protocol/info.ts';

export type FleetWay = 'mqttjs' | 'canopy' | 'observed';

export interface FleetCost {
  way: FleetWay;
  devices: number;
  /** Samples produced in the measured window, and QoS 1 acknowledgements received in it. */
  messages: number;
  acked: number;
  /** Process CPU (user + system) over the window, ms. */
  cpuMs: number;
  /** Of which in the kernel (socket reads and writes, mostly). */
  systemMs: number;
  windowMs: number;
  /** Growth over the pre-fleet baseline, after a full GC, at the end of the window. */
  rssKb: number;
  heapKb: number;
  /** The whole process's RSS at the end, and before the fleet was made. */
  totalRssKb: number;
  baseRssKb: number;
  /** Observations the observer decoded in the window (observed only). */
  observed: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
/** The checkout whose simulator is measured (CANOPY_BENCH_FLEET_ROOT: a before, beside this after). */
const root = process.env.CANOPY_BENCH_FLEET_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(root, path)).href)) as T;
const EPOCH = 1_780_272_000;

function memory(): { rssKb: number; heapKb: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rssKb: m.rss / 1024, heapKb: m.heapUsed / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Running {
  produced(): number;
  /** QoS 1 acknowledgements so far (async: a Canopy device is asked for its stats). */
  acked(): Promise<number>;
  observed(): number;
  stop(): Promise<void>;
}

/** Boots `items` in 20 batches over about one second. */
async function spread<T>(items: T[], boot: (item: T) => void | Promise<void>): Promise<void> {
  const batch = Math.max(1, Math.ceil(items.length / 20));
  for (let i = 0; i < items.length; i += batch) {
    await Promise.all(items.slice(i, i + batch).map(boot));
    await sleep(50);
  }
}

async function startMqttJs(devices: number, broker: string, prefix: string, clock: RealClock): Promise<Running> {
  const topics = new Topics('canopy');
  let produced = 0;
  let acked = 0;
  const clients: mqtt.MqttClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  const ids = Array.from({ length: devices }, (_, i) => `${prefix}-${i + 1}`);
  await spread(ids, (id) => {
    const index = clients.length;
    const seed = (1 * 1_000_003 + index * 7919) >>> 0;
    const model = new SensorModel(clock, { seed, epoch: EPOCH, dhtErrorRate: 0, motion: { perHour: 0 } });
    const started = clock.now();
    let seq = 0;
    const client = mqtt.connect(broker, {
      clientId: id,
      clean: false,
      keepalive: 60,
      reconnectPeriod: 1000,
      will: { topic: topics.status(id), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    clients.push(client);
    const health = () => encodeHealth({ uptime: Math.floor((clock.now() - started) / 1000), outboxDepth: 0, dropped: 0, ts: Math.floor(EPOCH + clock.now() / 1000), intervalMs: 1000 });
    client.on('connect', () => {
      client.subscribe(topics.commands(id), { qos: 1 });
      client.publish(topics.status(id), 'online', { qos: 1, retain: true });
      const info = encodeInfo({ uptime: 0, outboxDepth: 0, dropped: 0, ts: Math.floor(EPOCH + clock.now() / 1000), intervalMs: 1000, firmwareVersion: 'dev', otaSeq: 0, schema: SAMPLE_SCHEMA });
      client.publish(topics.info(id), Buffer.from(info), { qos: 1, retain: true });
    });
    client.on('error', () => {});
    const topic = topics.telemetry(id);
    timers.push(
      setInterval(() => {
        const c = model.climate();
        const lux = model.light();
        const payload = encodeSample({ seq: ++seq, ts: Math.floor(EPOCH + clock.now() / 1000), temperature: c.temperature, humidity: c.humidity, lux: lux === null ? null : Math.min(65535, Math.max(0, Math.round(lux))), motion: model.motion(), dhtErrors: c.errors });
        produced++;
        client.publish(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1 }, (err) => {
          if (!err) acked++;
        });
      }, 1000),
      setInterval(() => client.connected && client.publish(topics.health(id), Buffer.from(health()), { qos: 1, retain: true }), 60_000),
    );
  });
  return {
    produced: () => produced,
    acked: async () => acked,
    observed: () => 0,
    stop: async () => {
      for (const t of timers) clearInterval(t);
      await Promise.all(clients.map((c) => new Promise<void>((resolve) => c.end(true, {}, () => resolve()))));
    },
  };
}

async function startCanopy(devices: number, broker: string, prefix: string, clock: RealClock, withObserver: boolean): Promise<Running> {
  const { Fleet } = await load<typeof import('../sim/fleet.ts')>('sim/fleet.ts');
  const { FleetObserver } = await load<typeof import('../sim/observer.ts')>('sim/observer.ts');
  const { RunSummary } = await load<typeof import('../sim/summary.ts')>('sim/summary.ts');
  let produced = 0;
  let observed = 0;
  let observer: InstanceType<typeof FleetObserver> | undefined;
  const summary = new RunSummary();
  if (withObserver) {
    // Wired as sim/runner.ts wires it: every observation into the bounded run summary.
    observer = new FleetObserver({ broker, topicPrefix: prefix, now: () => clock.now(), qos: 1 });
    observer.on('observation', (o: Parameters<InstanceType<typeof RunSummary>['observe']>[0]) => {
      observed++;
      summary.observe(o);
    });
    await observer.start();
  }
  const fleet = await Fleet.create({
    engine: 'node',
    groups: [{ count: devices, prefix: 'd', intervalMs: 1000, qos: 1, keepalive: 60, dhtErrorRate: 0, motionPerHour: 0 }],
    brokerUrl: broker,
    clock,
    seed: 1,
    epoch: EPOCH,
    proxies: false,
    topicPrefix: prefix,
    onDeviceEvent: (device, e) => {
      if (e.type !== 'sample') return;
      produced++;
      if (withObserver) summary.produced(device, e.seq, e.qos);
    },
  });
  await spread(fleet.members, (m) => m.device.boot());
  const delivered = async () => {
    let n = 0;
    for (const m of fleet.members) if (m.device.running) n += Number((await m.device.stats()).delivered ?? 0);
    return n;
  };
  return {
    produced: () => produced,
    acked: delivered,
    observed: () => observed,
    stop: async () => {
      await fleet.dispose();
      await observer?.stop().catch(() => undefined);
    },
  };
}

/** A CPU profile of the measured window only (CANOPY_BENCH_FLEET_PROFILE=DIR), for `node --cpu-prof`-style reading. */
async function startProfile(): Promise<(path: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (path) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path, JSON.stringify(profile));
    session.disconnect();
  };
}

export async function measureFleet(o: { way: FleetWay; devices: number; broker: string; prefix: string; settleMs: number; measureMs: number }): Promise<FleetCost> {
  // The measured checkout's clock too: its timers are part of what a simulated device costs.
  const { RealClock: Clock } = o.way === 'mqttjs' ? { RealClock } : await load<typeof import('../host/xs/timers.ts')>('host/xs/timers.ts');
  const clock = new Clock();
  if (o.way !== 'mqttjs') await load('sim/fleet.ts'); // code loaded before the baseline, as mqtt.js is
  const base = memory();
  const run = o.way === 'mqttjs' ? await startMqttJs(o.devices, o.broker, o.prefix, clock) : await startCanopy(o.devices, o.broker, o.prefix, clock, o.way === 'observed');
  try {
    await sleep(o.settleMs);
    const a0 = await run.acked();
    const p0 = run.produced();
    const ob0 = run.observed();
    const profile = process.env.CANOPY_BENCH_FLEET_PROFILE ? await startProfile() : undefined;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(o.measureMs);
    const cpu = process.cpuUsage(cpu0);
    await profile?.(`${process.env.CANOPY_BENCH_FLEET_PROFILE}/${o.way}-${process.pid}.cpuprofile`);
    const windowMs = performance.now() - t0;
    const p1 = run.produced();
    const ob1 = run.observed();
    const a1 = await run.acked();
    const end = memory();
    return {
      way: o.way,
      devices: o.devices,
      messages: p1 - p0,
      acked: a1 - a0,
      cpuMs: (cpu.user + cpu.system) / 1000,
      systemMs: cpu.system / 1000,
      windowMs,
      rssKb: end.rssKb - base.rssKb,
      heapKb: end.heapKb - base.heapKb,
      totalRssKb: end.rssKb,
      baseRssKb: base.rssKb,
      observed: ob1 - ob0,
    };
  } finally {
    await run.stop();
    clock.cancelAll();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [way, devices, broker, prefix, settleMs, measureMs] = process.argv.slice(2);
  const result = await measureFleet({ way: way as FleetWay, devices: Number(devices), broker, prefix, settleMs: Number(settleMs), measureMs: Number(measureMs) });
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
}
