// The live view of `canopy sim` and `canopy monitor` (sim/view.ts over sim/observer.ts rows):
// LAST SEEN and VERSION columns, a device marked stale when its samples stop (not only when its
// will fires), and a frame that keeps its header on a small terminal. The partition case runs a
// simulated fleet behind the fault proxy (sim/fault-proxy.ts) on a real mosquitto.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet } from '../sim/fleet.ts';
import { FleetObserver, type DeviceRow, type Observation } from '../sim/observer.ts';
import { fitFrame, liveStatus, renderTable, rowsThatFit, STALE_INTERVALS } from '../sim/view.ts';
import { RealClock } from '../host/xs/timers.ts';
import { Mosquitto } from '../host/mosquitto.ts';

const row = (device: string, over: Partial<DeviceRow> = {}): DeviceRow => ({ device, status: 'online', temperature: 21.5, humidity: 40, lux: 300, motion: false, messages: 3, errors: 0, dhtErrors: 0, lastSeq: 3, ...over });

describe('the live view table', () => {
  const now = 100_000;

  it('LAST SEEN and VERSION columns; stale when samples are 1.5 intervals overdue; the header counts it', () => {
    const rows = [
      row('dev-1', { lastSeen: now - 2000, lastSampleAt: now - 2000, firmwareVersion: '2.0.1', intervalMs: 5000 }),
      row('dev-2', { lastSeen: now - 8000, lastSampleAt: now - 8000, firmwareVersion: '2.0.1', intervalMs: 5000 }),
      row('dev-3', { status: 'offline', lastSeen: now - 300_000, firmwareVersion: '1.9.0', intervalMs: 5000 }),
    ];
    const lines = renderTable({ title: 'canopy monitor', facts: ['mqtt://b:1883'] }, rows, { now }).split('\n');
    expect(lines[0]).toBe('canopy monitor — mqtt://b:1883 — 1/3 online, 1 stale');
    expect(lines[2]).toMatch(/^DEVICE\s+STATUS\s+LAST SEEN\s+VERSION\s+TEMP °C\s+RH %\s+LUX\s+MOTION\s+MSGS\s+SEQ\s+ERRORS$/);
    expect(lines[3]).toMatch(/^dev-1\s+online\s+2s ago\s+2\.0\.1\s+21\.5/);
    expect(lines[4]).toMatch(/^dev-2\s+stale\s+8s ago\s+2\.0\.1\s+21\.5/);
    expect(lines[5]).toMatch(/^dev-3\s+offline\s+5m ago\s+1\.9\.0/);
  });

  it('stale within two intervals of the last sample, not before 1.5; no interval known, no judgement', () => {
    const r = row('d', { lastSampleAt: 0, intervalMs: 1000 });
    expect(liveStatus(r, 1000)).toBe('online');
    expect(liveStatus(r, STALE_INTERVALS * 1000)).toBe('online');
    expect(liveStatus(r, STALE_INTERVALS * 1000 + 1)).toBe('stale');
    expect(liveStatus(r, 2000)).toBe('stale');
    expect(liveStatus(row('d', { lastSampleAt: 0 }), 1e9)).toBe('online');
    expect(liveStatus(row('d', { status: 'offline', lastSampleAt: 0, intervalMs: 1000 }), 2000)).toBe('offline');
  });

  it('a small terminal: the device rows that fit, the header first, no line wider than the screen', () => {
    const rows = Array.from({ length: 30 }, (_, i) => row(`dev-${i + 1}`, { lastSeen: now, firmwareVersion: '2.0.1' }));
    const height = 10;
    const width = 50;
    const table = renderTable({ title: 'canopy sim', facts: ['embedded broker mqtt://127.0.0.1:1883', 'node engine'] }, rows, { now, maxRows: rowsThatFit(height) });
    const frame = fitFrame(table, height, width).split('\n');
    expect(frame.length).toBe(height - 1);
    expect(frame[0]).toMatch(/^canopy sim — /);
    expect(frame[2]).toMatch(/^DEVICE\s+STATUS/);
    expect(frame.at(-1)).toBe('… and 25 more devices');
    for (const l of frame) expect([...l].length).toBeLessThanOrEqual(width);
    // A frame drawn without knowing the size is cut too, keeping its top.
    const cut = fitFrame(renderTable({ title: 'canopy monitor', facts: [] }, rows, { now }), 8, 200).split('\n');
    expect(cut.length).toBe(7);
    expect(cut[0]).toMatch(/^canopy monitor — 30\/30 online$/);
    expect(cut.at(-1)).toMatch(/^… \d+ more lines/);
  });
});

describe('a partitioned device in the live view', () => {
  const INTERVAL = 1000;
  const broker = new Mosquitto();
  const clock = new RealClock();
  let fleet: Fleet;
  let observer: FleetObserver;
  const observations: Observation[] = [];
  const until = (what: string, ok: () => boolean, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      if (ok()) return resolve();
      const timer = setTimeout(() => {
        observer.off('observation', on);
        reject(new Error(`timed out waiting for ${what}: ${JSON.stringify([...observer.rows.values()])}`));
      }, timeoutMs);
      const on = () => {
        if (!ok()) return;
        clearTimeout(timer);
        observer.off('observation', on);
        resolve();
      };
      observer.on('observation', on);
    });

  beforeAll(async () => {
    await broker.start();
    observer = new FleetObserver({ broker: broker.url, now: () => Date.now(), clientId: 'live-view-observer' });
    observer.on('observation', (o: Observation) => observations.push(o));
    await observer.start();
    fleet = await Fleet.create({
      engine: 'node',
      groups: [{ count: 2, prefix: 'dev', intervalMs: INTERVAL, qos: 1, keepalive: 5, dhtErrorRate: 0, motionPerHour: 0 }],
      brokerUrl: broker.url,
      clock,
      seed: 8,
      epoch: Math.floor(Date.now() / 1000),
      proxies: true,
      deviceConfig: { firmwareVersion: '3.1.4', healthIntervalMs: 1000 },
    });
    await fleet.boot();
  }, 60_000);
  afterAll(async () => {
    await fleet?.dispose();
    await observer?.stop();
    clock.cancelAll();
    await broker.dispose();
  });

  const samples = (id: string) => observations.filter((o) => o.kind === 'telemetry' && o.device === id).length;

  it('shows its version, turns stale within two intervals of its last sample, and offline when its will fires', async () => {
    await until('both devices sampling with their info', () => ['dev-1', 'dev-2'].every((id) => samples(id) >= 2 && observer.rows.get(id)?.firmwareVersion === '3.1.4'));
    const table = renderTable({ title: 'canopy monitor', facts: [] }, observer.rows.values(), { now: Date.now() });
    expect(table).toMatch(/^dev-1\s+online\s+\d+s ago\s+3\.1\.4/m);
    // Partition right after a sample of dev-2.
    const n = samples('dev-2');
    await until('a fresh sample of dev-2', () => samples('dev-2') > n);
    fleet.partition(['dev-2']);
    const last = observer.rows.get('dev-2')!.lastSampleAt!;
    // Two more samples of dev-1 come in; none of dev-2.
    const m = samples('dev-1');
    await until('two more samples of dev-1', () => samples('dev-1') >= m + 3);
    const r2 = observer.rows.get('dev-2')!;
    const why = JSON.stringify({ last, r2, now: Date.now() });
    expect(r2.lastSampleAt, why).toBe(last);
    expect(r2.status, why).toBe('online');
    // Within two intervals of its last sample it is stale, with the will not fired yet.
    expect(liveStatus(r2, last + 2 * INTERVAL), why).toBe('stale');
    expect(renderTable({ title: 'canopy monitor', facts: [] }, observer.rows.values(), { now: Date.now() }), why).toMatch(/^dev-2\s+stale\s/m);
    expect(liveStatus(observer.rows.get('dev-1')!, Date.now())).toBe('online');

    // The broker notices (keepalive expiry): the will says offline.
    fleet.severUpstream(['dev-2']);
    await until('the will of dev-2', () => observer.rows.get('dev-2')!.status === 'offline');
    expect(renderTable({ title: 'canopy monitor', facts: [] }, observer.rows.values(), { now: Date.now() })).toMatch(/^dev-2\s+offline\s/m);
    fleet.heal(['dev-2']);
  }, 60_000);
});
