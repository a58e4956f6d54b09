// `canopy bridge` (issue 15.3) as a user runs it: a child process against a real mosquitto, a
// simulated fleet (sim/fleet.ts, V8 engine, real time) and a real history store (a SQLite file, and
// PostgreSQL on loopback: host/postgres.ts). The JSON tree and the discovery configs it publishes,
// the samples it stores (read back with `canopy history`), SIGTERM flushing the batch, and every
// failure path with its exit code and message: the broker unreachable, a bad --db, the database
// going away while it runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from '../sim/fleet.ts';
import { RealClock } from '../host/xs/timers.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { Postgres } from '../host/postgres.ts';
import { freePort } from '../host/loopback.ts';
import { decodeSample } from '../protocol/telemetry.ts';
import { encodeInfo } from '../protocol/info.ts';
import { Outbox } from '../protocol/session/outbox.ts';
import type { SessionEvent } from '../protocol/session/events.ts';
import { Bridge } from '../fleet/bridge.ts';
import { openHistory } from '../fleet/open-history.ts';
import { TestClient } from './support/clients.ts';
import { canopy } from './support/run-canopy.ts';
import { root } from './support/device-bundle.ts';

const INTERVAL = 1000;
const ids = ['dev-1', 'dev-2', 'dev-3'];
const dir = mkdtempSync(join(tmpdir(), 'canopy-bridge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The bridge as a child process, its output as lines, waits on them (no sleeps). */
class BridgeProcess {
  readonly child: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<number | null>;
  private readonly waiters: (() => void)[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [join(root, 'bin', 'canopy.js'), 'bridge', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.out += d;
      for (const w of this.waiters) w();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.err += d;
      for (const w of this.waiters) w();
    });
    this.exited = new Promise((resolve) => this.child.on('close', resolve));
  }

  until(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.out) && !pattern.test(this.err)) return;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => reject(new Error(`bridge never printed ${pattern}; stdout ${this.out}; stderr ${this.err}`)), timeoutMs);
      this.waiters.push(check);
      void this.exited.then(check);
      check();
    });
  }
}

describe('canopy bridge', () => {
  const broker = new Mosquitto();
  const postgres = new Postgres();
  const clock = new RealClock();
  let fleet: Fleet;
  let observer: TestClient;

  beforeAll(async () => {
    await Promise.all([broker.start(), postgres.start()]);
    observer = await new TestClient(broker.url, { clientId: 'bridge-observer', cleanSession: true }).connect();
    await observer.subscribe('canopy/#', 1);
    await observer.subscribe('canopy-json/#', 1);
    await observer.subscribe('homeassistant/#', 1);
    fleet = await Fleet.create({
      engine: 'node',
      groups: [{ count: 3, prefix: 'dev', intervalMs: INTERVAL, qos: 1, keepalive: 5, dhtErrorRate: 0, motionPerHour: 0 }],
      brokerUrl: broker.url,
      clock,
      seed: 5,
      epoch: Math.floor(Date.now() / 1000),
      proxies: true,
      deviceConfig: { firmwareVersion: '2.0.1', healthIntervalMs: 1000 },
    });
    await fleet.boot();
    await observer.until(() => ids.every((id) => observer.texts(`canopy/${id}/status`).at(-1) === 'online'), 'every device online');
  }, 60_000);
  afterAll(async () => {
    await fleet?.dispose();
    await observer?.driver.stop();
    clock.cancelAll();
    await Promise.all([broker.dispose(), postgres.dispose()]);
  });

  const samplesOf = (id: string) =>
    observer.events.flatMap((e) => (e.type === 'message' && e.topic === `canopy/${id}/telemetry` ? [decodeSample(e.payload)] : []));
  const jsonStates = (id: string) => observer.texts(`canopy-json/${id}/state`).map((t) => JSON.parse(t) as { seq: number; temperature: number | null });

  it.each([
    ['SQLite', async () => join(dir, 'bridge.sqlite')],
    ['PostgreSQL', () => postgres.database('bridge_main')],
  ])('on %s: JSON states, Home Assistant discovery with the firmware version, every sample stored; SIGTERM ends it with 0', async (kind, makeDb) => {
    const db = await makeDb();
    const bridge = new BridgeProcess(['--broker', broker.url, '--db', db, '--client-id', `bridge-${kind}`]);
    await bridge.until(/^canopy bridge: mqtt:\/\/127\.0\.0\.1:\d+ → JSON under canopy-json\/, Home Assistant discovery under homeassistant\/, history in \w+ /m);
    const from = Object.fromEntries(ids.map((id) => [id, samplesOf(id).length]));
    // Three fresh samples of every device, each republished as JSON with the same values.
    await observer.until(() => ids.every((id) => samplesOf(id).length >= from[id] + 3 && jsonStates(id).some((s) => s.seq === samplesOf(id)[from[id] + 2].seq)), 'JSON states of three new samples per device');
    for (const id of ids) {
      const cbor = samplesOf(id)[from[id] + 2];
      expect(jsonStates(id).find((s) => s.seq === cbor.seq)).toMatchObject({ seq: cbor.seq, temperature: cbor.temperature, humidity: cbor.humidity, lux: cbor.lux });
      const config = JSON.parse(observer.texts(`homeassistant/sensor/canopy_${id}/temperature/config`).at(-1)!) as Record<string, unknown>;
      expect(config).toMatchObject({ state_topic: `canopy-json/${id}/state`, device: { sw_version: '2.0.1', name: id }, availability: [{ topic: `canopy/${id}/status` }] });
      const retained = observer.received.filter((r) => r.topic.startsWith(`homeassistant/`) && r.topic.includes(`canopy_${id}/`));
      expect(retained.length).toBeGreaterThanOrEqual(6);
      expect(JSON.parse(observer.texts(`canopy-json/${id}/info`).at(-1)!)).toMatchObject({ firmwareVersion: '2.0.1', otaSeq: 0 });
    }
    const before = samplesOf('dev-1').length;
    await observer.until(() => jsonStates('dev-1').some((s) => s.seq === samplesOf('dev-1').at(-1)!.seq), 'the bridge caught up');
    bridge.child.kill('SIGTERM');
    expect(await bridge.exited, bridge.err).toBe(0);
    expect(bridge.err).toBe('');
    expect(bridge.out).toMatch(/^canopy bridge: stopped; \d+ samples stored from 3 devices, \d+ discovery configs published, 0 undecodable messages$/m);
    // Every sample the bridge turned into JSON is in the store.
    const r = await canopy('history', 'dev-1', '--field', 'temperature', '--since', '1h', '--db', db, '--json');
    expect(r.code, r.err).toBe(0);
    const stored = new Set((JSON.parse(r.out) as { seq: number }[]).map((p) => p.seq));
    const bridged = jsonStates('dev-1').map((s) => s.seq).filter((seq) => samplesOf('dev-1').slice(from['dev-1'], before).some((s) => s.seq === seq));
    expect(bridged.length).toBeGreaterThanOrEqual(3);
    for (const seq of bridged) expect(stored, `seq ${seq}`).toContain(seq);
  }, 60_000);

  it('SIGTERM stores the batch still waiting', async () => {
    const db = join(dir, 'flush.sqlite');
    // Nothing is stored before the signal: no batch fills, no timer fires.
    const bridge = new BridgeProcess(['--broker', broker.url, '--db', db, '--client-id', 'bridge-flush', '--batch', '100000', '--flush-ms', '86400000']);
    await bridge.until(/^canopy bridge: .* history in sqlite /m);
    const from = samplesOf('dev-2').length;
    await observer.until(() => samplesOf('dev-2').length >= from + 3 && jsonStates('dev-2').some((s) => s.seq === samplesOf('dev-2')[from + 2].seq), 'three samples through the bridge');
    const seen = samplesOf('dev-2').slice(from, from + 3).map((s) => s.seq);
    bridge.child.kill('SIGTERM');
    expect(await bridge.exited, bridge.err).toBe(0);
    const r = await canopy('history', 'dev-2', '--field', 'lux', '--since', '1h', '--db', db, '--json');
    const stored = (JSON.parse(r.out) as { seq: number }[]).map((p) => p.seq);
    for (const seq of seen) expect(stored).toContain(seq);
  }, 60_000);

  it('the history database going away: exit 1, saying so and how many samples were stored', async () => {
    const own = new Postgres();
    await own.start();
    try {
      const db = await own.database('going');
      const bridge = new BridgeProcess(['--broker', broker.url, '--db', db, '--client-id', 'bridge-gone']);
      await bridge.until(/history in postgres /);
      await observer.until(() => jsonStates('dev-3').length >= 2, 'the bridge at work');
      await own.stop();
      expect(await bridge.exited).toBe(1);
      expect(bridge.err).toMatch(new RegExp(`^canopy bridge: lost the history database ${db.replace(/[/.]/g, '\\$&')}: terminating connection due to administrator command; stopped \\(\\d+ samples stored from \\d+ devices, \\d+ discovery configs published, 0 undecodable messages\\)\\n$`));
    } finally {
      await own.dispose();
    }
  }, 60_000);

  it('an unreachable broker: exit 1 at once, naming it and the socket error', async () => {
    const port = await freePort();
    const r = await canopy('bridge', '--broker', `mqtt://127.0.0.1:${port}`, '--db', join(dir, 'unreached.sqlite'));
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy bridge: cannot reach the broker at 127.0.0.1:${port}: nothing is listening on 127.0.0.1:${port} (connection refused)`);
    expect(r.out).toBe('');
  });

  it('a bad --db: a file that is not a history database, PostgreSQL that nothing answers: exit 1 before connecting', async () => {
    const foreign = join(dir, 'foreign.sqlite');
    writeFileSync(foreign, 'not sqlite at all, just text that is long enough to look like a header of something');
    const f = await canopy('bridge', '--broker', broker.url, '--db', foreign);
    expect(f.code).toBe(1);
    expect(f.err).toBe(`canopy bridge: ${foreign} is not a Canopy history database: file is not a database`);
    const port = await freePort();
    const p = await canopy('bridge', '--broker', broker.url, '--db', `postgres://canopy:pw@127.0.0.1:${port}/x`);
    expect(p.code).toBe(1);
    expect(p.err).toBe(`canopy bridge: cannot reach the history database postgres://canopy@127.0.0.1:${port}/x: nothing is listening on 127.0.0.1:${port} (connection refused)`);
  });
});

describe('a 2,000-device fleet', () => {
  const broker = new Mosquitto({ quiet: true });
  beforeAll(() => broker.start());
  afterAll(() => broker.dispose());

  it('every device gets all its discovery configs, none dropped, though they come as one burst of 14,000', async () => {
    const N = 2000;
    const pub = await new TestClient(broker.url, { clientId: 'burst-publisher', cleanSession: true, outbox: new Outbox({ maxMessages: N }) }).connect();
    let acked = 0;
    const all = new Promise<void>((resolve) => pub.driver.on('event', (e: SessionEvent) => e.type === 'delivered' && ++acked === N && resolve()));
    for (let i = 0; i < N; i++) pub.driver.publish(`canopy/d-${i}/info`, encodeInfo({ firmwareVersion: '1.0.0', otaSeq: 0, schema: 1, ts: 0, intervalMs: 1000, uptime: 1, rssi: -50, outboxDepth: 0, dropped: 0 }), { qos: 1, retain: true });
    await all;
    await pub.driver.stop();
    const store = await openHistory(':memory:');
    const bridge = new Bridge({ broker: broker.url, store, bridgeVersion: 'test', clientId: 'burst-bridge' });
    let dropped = 0;
    bridge.on('publish-dropped', () => dropped++);
    let configs = 0;
    const done = new Promise<void>((resolve) => bridge.driver.on('event', (e: SessionEvent) => e.type === 'delivered' && e.topic.startsWith('homeassistant/') && ++configs === 7 * N && resolve()));
    await bridge.start();
    await done;
    expect(bridge.core.deviceCount).toBe(N);
    expect(dropped).toBe(0);
    await bridge.stop();
    await store.close();
  }, 60_000);
});

describe('canopy bridge: the shared login flags', () => {
  const broker = new Mosquitto({ users: { bridge: 'tulip-42' } });
  beforeAll(() => broker.start());
  afterAll(() => broker.dispose());

  it('--username and --password-file log in; a wrong password is refused at start with exit 1, never printed', async () => {
    const good = join(dir, 'good-password');
    const bad = join(dir, 'bad-password');
    writeFileSync(good, 'tulip-42\n');
    writeFileSync(bad, 'rose-13\n');
    const bridge = new BridgeProcess(['--broker', broker.url, '--db', join(dir, 'login.sqlite'), '--username', 'bridge', '--password-file', good]);
    await bridge.until(/^canopy bridge: mqtt:\/\/bridge@127\.0\.0\.1:\d+ → JSON under/m);
    bridge.child.kill('SIGTERM');
    expect(await bridge.exited, bridge.err).toBe(0);
    const r = await canopy('bridge', '--broker', broker.url, '--db', join(dir, 'login.sqlite'), '--username', 'bridge', '--password-file', bad);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^canopy bridge: cannot reach the broker at 127\\.0\\.0\\.1:${broker.port}: it refused the connection \\(.+\\)$`));
    expect(r.err).not.toContain('rose-13');
  }, 30_000);
});

describe('canopy bridge: usage', () => {
  it.each([
    [['bridge'], /^canopy bridge: --broker URL is required, e\.g\. --broker mqtt:\/\/127\.0\.0\.1:1883$/],
    [['bridge', '--broker', 'http://x'], /^canopy bridge: .*mqtt/],
    [['bridge', '--broker', 'mqtt://127.0.0.1:1', '--retain', 'forever'], /^canopy bridge: --retain must be a duration like 12h, 30d or 90d, got "forever"$/],
    [['bridge', '--broker', 'mqtt://127.0.0.1:1', '--json-prefix', 'a/+'], /^canopy bridge: --json-prefix: topic prefix level "\+" must match/],
    [['bridge', '--broker', 'mqtt://127.0.0.1:1', '--json-prefix', 'canopy'], /^canopy bridge: --json-prefix must differ from --prefix/],
    [['bridge', '--broker', 'mqtt://127.0.0.1:1', '--no-discovery', '--discovery-prefix', 'ha'], /^canopy bridge: --discovery-prefix and --no-discovery are alternatives; give one$/],
    [['bridge', '--broker', 'mqtt://127.0.0.1:1', '--batch', '0'], /^canopy bridge: --batch must be between 1 and 100000, got 0$/],
    [['bridge', '--broker', 'mqtt://127.0.0.1:1', '--cert', 'c.pem'], /^canopy bridge: --cert needs --key/],
  ])('%j: exit 2 with the reason on one line and a hint to --help', async (argv, message) => {
    const r = await canopy(...argv);
    expect(r.code).toBe(2);
    const [line, hint, ...more] = r.err.split('\n');
    expect(line).toMatch(message);
    expect(hint).toBe('Run `npx canopy bridge --help` for its flags and examples.');
    expect(more).toEqual([]);
  });
});

