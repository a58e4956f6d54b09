// `canopy devices` (issue 15.2) against a real mosquitto and a simulated fleet (sim/fleet.ts, V8
// engine, real time): the rows, --json, --require-online's exit codes, a power cut, a partition
// that turns a device stale and then offline when its will fires, --watch, and every failure
// path with its exit code and message.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from '../sim/fleet.ts';
import { RealClock } from '../host/xs/timers.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { FleetWatcher, readDevices } from '../fleet/devices.ts';
import { HistoryRecorder } from '../fleet/recorder.ts';
import { SqliteHistory } from '../fleet/sqlite-history.ts';
import type { Sample } from '../protocol/telemetry.ts';
import { STALE_FACTOR } from '../fleet/registry.ts';
import { decodeInfo } from '../protocol/info.ts';
import { Topics } from '../protocol/topics.ts';
import type { SessionEvent } from '../protocol/session/session.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { TestClient } from './support/clients.ts';
import { freePort } from '../host/loopback.ts';
import { canopy } from './support/run-canopy.ts';
import { root } from './support/device-bundle.ts';

const topics = new Topics('canopy');
const INTERVAL = 1000;
const ids = ['dev-1', 'dev-2', 'dev-3'];

describe('canopy devices', () => {
  const broker = new Mosquitto();
  const clock = new RealClock();
  let fleet: Fleet;
  let observer: TestClient;

  const infoCount = (id: string) => observer.events.filter((e) => e.type === 'message' && e.topic === topics.info(id)).length;
  const lastStatus = (id: string) => observer.texts(topics.status(id)).at(-1);

  beforeAll(async () => {
    await broker.start();
    observer = await new TestClient(broker.url, { clientId: 'devices-observer', cleanSession: true }).connect();
    await observer.subscribe('canopy/#', 1);
    fleet = await Fleet.create({
      engine: 'node',
      groups: [{ count: 3, prefix: 'dev', intervalMs: INTERVAL, qos: 1, keepalive: 5, dhtErrorRate: 0, motionPerHour: 0 }],
      brokerUrl: broker.url,
      clock,
      seed: 3,
      epoch: Math.floor(Date.now() / 1000),
      proxies: true,
      deviceConfig: { firmwareVersion: '2.0.1', healthIntervalMs: 1000 },
    });
    await fleet.boot();
    await observer.until(() => ids.every((id) => lastStatus(id) === 'online' && infoCount(id) >= 1), 'every device online with its info');
    await observer.until(() => ids.every((id) => observer.texts(topics.telemetry(id)).length >= 1), 'a sample from every device');
  });
  afterAll(async () => {
    await fleet?.dispose();
    await observer?.driver.stop();
    clock.cancelAll();
    await broker.dispose();
  });

  it('lists every device with its state, last seen, version and OTA seq; exit 0', async () => {
    const r = await canopy('devices', '--broker', broker.url);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('canopy devices — 3/3 online');
    expect(lines[2]).toMatch(/^DEVICE\s+STATE\s+LAST SEEN\s+OFFLINE SINCE\s+VERSION\s+OTA SEQ\s+LAST OTA\s+LAST SAMPLE\s+AGE\s+ERRORS$/);
    for (const [i, id] of ids.entries()) expect(lines[3 + i]).toMatch(new RegExp(`^${id}\\s+online\\s+\\d+s ago\\s+2\\.0\\.1\\s+0\\s+0$`));
  });

  it('--json: one object per device, from the retained records', async () => {
    const r = await canopy('devices', '--broker', broker.url, '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as Record<string, unknown>[];
    expect(rows.map((x) => x.id)).toEqual(ids);
    for (const row of rows) {
      expect(row).toMatchObject({ liveness: 'online', status: 'online', firmwareVersion: '2.0.1', otaSeq: 0, schema: 1, resetReason: 'power-on', offlineSince: null });
      expect(Date.now() - Date.parse(row.lastSeen as string)).toBeLessThan(10_000);
      expect(row.health).toMatchObject({ intervalMs: INTERVAL, dropped: 0 });
    }
  });

  it('--require-online N exits 0 when N are online and 1, saying so, when fewer are', async () => {
    expect((await canopy('devices', '--broker', broker.url, '--require-online', '3')).code).toBe(0);
    const r = await canopy('devices', '--broker', broker.url, '--require-online', '4');
    expect(r.code).toBe(1);
    expect(r.err).toBe('canopy devices: 3 of 3 devices online, fewer than the 4 required');
  });

  it('a partitioned device turns stale within two intervals, then offline when its will fires', async () => {
    const watcher = new FleetWatcher({ broker: broker.url });
    await watcher.start();
    // The next live sample, heard after the retained records: the partition starts right after it.
    await new Promise<void>((resolve) => watcher.on('sample', (id: string) => id === 'dev-2' && resolve()));
    fleet.partition(['dev-2']);
    // The device's last sample before the partition reached the watcher too.
    const partitionedAt = Date.now();
    const before = watcher.registry.row('dev-2', partitionedAt)!;
    // Row and times in every message: under load, which instant was late is the whole story.
    const why = (what: unknown) => JSON.stringify({ partitionedAt, startedAt: watcher.registry.startedAt, before, what });
    expect(before.liveness, why(null)).toBe('online');
    const last = before.lastSampleAt!;
    // Judged by the pure registry at the instants that matter, on the samples that really came.
    const later = watcher.registry.row('dev-2', last + 2 * INTERVAL)!;
    expect(later.liveness, why(later)).toBe('stale');
    expect(later.staleSince, why(later)).toBe(last + STALE_FACTOR * INTERVAL);
    // The others keep sampling and stay online.
    const other = watcher.registry.row('dev-1', Date.now())!;
    expect(watcher.registry.row('dev-1', other.lastSampleAt! + INTERVAL)!.liveness).toBe('online');

    // The broker's keepalive expiry: the will says offline, and the row says since when.
    const offline = new Promise<void>((resolve) => watcher.on('device', (id: string) => id === 'dev-2' && watcher.registry.row(id, Date.now())!.liveness === 'offline' && resolve()));
    const cutAt = Date.now();
    fleet.severUpstream(['dev-2']);
    await offline;
    const row = watcher.registry.row('dev-2', Date.now())!;
    expect(row.offlineSince, why(row)).toBeGreaterThanOrEqual(cutAt);
    expect(row.lastSeen, why(row)).toBeLessThanOrEqual(row.offlineSince!);
    await watcher.stop();

    const r = await canopy('devices', '--broker', broker.url, '--require-online', '3');
    expect(r.code, r.out).toBe(1);
    expect(r.out.split('\n')[0], r.out).toBe('canopy devices — 2/3 online');
    expect(r.out).toMatch(/^dev-2\s+offline\s+\d+s ago\s+before we looked\s+2\.0\.1/m);
    expect(r.err).toBe('canopy devices: 2 of 3 devices online, fewer than the 3 required');
    fleet.heal(['dev-2']);
  });

  it('a power cut: the will makes the device offline in the next listing', async () => {
    await fleet.powerLoss('dev-3');
    await observer.until(() => lastStatus('dev-3') === 'offline', 'the will of dev-3');
    const rows = await readDevices({ broker: broker.url });
    expect(rows.find((x) => x.id === 'dev-3')).toMatchObject({ liveness: 'offline', firmwareVersion: '2.0.1' });
    const infos = observer.events.filter((e): e is Extract<SessionEvent, { type: 'message' }> => e.type === 'message' && e.topic === topics.info('dev-3'));
    await fleet.powerOn('dev-3');
    await observer.until(() => infoCount('dev-3') > infos.length && lastStatus('dev-3') === 'online', 'dev-3 back online');
    const again = observer.events.filter((e): e is Extract<SessionEvent, { type: 'message' }> => e.type === 'message' && e.topic === topics.info('dev-3')).at(-1)!;
    expect(decodeInfo(again.payload).resetReason).toBe('power-on');
  });

  it('samples heard from the fleet land in the SQLite history, and canopy history returns them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canopy-recorder-'));
    const db = join(dir, 'history.sqlite');
    const store = new SqliteHistory(db);
    const watcher = new FleetWatcher({ broker: broker.url });
    const recorder = new HistoryRecorder(watcher, store, { batch: 4, everyMs: 200 });
    const heard: Sample[] = [];
    const three = new Promise<void>((resolve) => watcher.on('sample', (id: string, s: Sample) => id === 'dev-1' && heard.push(s) >= 3 && resolve()));
    await watcher.start();
    await three;
    await recorder.stop();
    await watcher.stop();
    await store.close();
    expect(recorder.written).toBeGreaterThanOrEqual(3);
    const r = await canopy('history', 'dev-1', '--field', 'temperature', '--since', '1h', '--db', db, '--json');
    expect(r.code).toBe(0);
    const points = JSON.parse(r.out) as { seq: number; value: number | null }[];
    expect(points.map((p) => p.seq)).toEqual(heard.map((s) => s.seq));
    expect(points.map((p) => p.value)).toEqual(heard.map((s) => s.temperature));
    rmSync(dir, { recursive: true, force: true });
  });

  it('--watch --json prints a line per device and exits 0 on Ctrl-C', async () => {
    const child = spawn(process.execPath, [join(root, 'bin', 'canopy.js'), 'devices', '--broker', broker.url, '--watch', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line for every device; got ${out}; stderr ${err}`)), 20_000);
      child.stdout.on('data', (d) => {
        out += d;
        const got = new Set(out.split('\n').filter(Boolean).map((l) => JSON.parse(l).id));
        if (ids.every((id) => got.has(id))) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(err).toBe('');
  }, 40_000);
});

describe('canopy devices: failure paths', () => {
  it('an unreachable broker: exit 1, naming the broker and the socket error, at once', async () => {
    const port = await freePort();
    const r = await canopy('devices', '--broker', `mqtt://127.0.0.1:${port}`);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^canopy devices: cannot reach the broker at 127\\.0\\.0\\.1:${port}: nothing is listening on 127\\.0\\.0\\.1:${port} \\(connection refused\\)$`));
    expect(r.out).toBe('');
  });

  it.each([
    [['devices'], /^canopy devices: --broker URL is required, e\.g\. --broker mqtt:\/\/127\.0\.0\.1:1883$/],
    [['devices', '--broker', 'http://x'], /^canopy devices: --broker: .+$/],
    [['devices', '--broker', 'mqtt://127.0.0.1:1', '--prefix', 'a/+'], /^canopy devices: --prefix: topic prefix level "\+" must match/],
    [['devices', '--broker', 'mqtt://127.0.0.1:1', '--require-online', 'two'], /^canopy devices: --require-online must be a whole number, got "two"/],
    [['devices', '--broker', 'mqtt://127.0.0.1:1', '--require-online=-1'], /^canopy devices: --require-online must be between 0 and 1000000, got -1/],
    [['devices', '--broker', 'mqtt://127.0.0.1:1', '--watch', '--require-online', '1'], /^canopy devices: --require-online is a one-shot check; it cannot be combined with --watch/],
    [['devices', '--broker', 'mqtt://127.0.0.1:1', '--timeout', '0'], /^canopy devices: --timeout must be between 1 and 3600, got 0/],
    [['devices', '--broker', 'mqtt://127.0.0.1:1', '--colour'], /^canopy devices: Unknown option '--colour'/],
  ])('%j: exit 2 with the reason on one line and a hint to --help', async (argv, message) => {
    const r = await canopy(...argv);
    expect(r.code).toBe(2);
    const [line, hint, ...more] = r.err.split('\n');
    expect(line).toMatch(message);
    expect(hint).toBe('Run `npx canopy devices --help` for its flags and examples.');
    expect(more).toEqual([]);
    expect(r.out).toBe('');
  });

  it('--help prints the usage, exit 0', async () => {
    const r = await canopy('devices', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: canopy devices --broker URL/);
  });
});
