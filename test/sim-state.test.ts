// Simulated devices keep the firmware's defaults and, with `canopy sim --state DIR`, their flash and
// NVS across runs: a killed simulator resumes like a power-cycled fleet (issue 11, item 13).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { VirtualClock } from '../host/xs/timers.ts';
import { replayLog } from '../protocol/session/record.ts';
import type { SessionEvent } from '../protocol/session/session.ts';
import { decodeSample } from '../protocol/telemetry.ts';
import { StoredFlash } from '../sim/device-state.ts';
import { Fleet } from '../sim/fleet.ts';
import { TestClient } from './support/clients.ts';
import { canopy } from './support/cli.ts';
import { freePort } from '../host/loopback.ts';

const dir = mkdtempSync(join(tmpdir(), 'canopy-sim-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const group = { count: 1, prefix: 'sim', intervalMs: 1000, qos: 1 as const, keepalive: 30, dhtErrorRate: 0, motionPerHour: 0 };

describe('simulated firmware defaults', () => {
  it('a device that cannot reach its broker keeps the firmware outbox of 64, not 10,000', async () => {
    const clock = new VirtualClock(0);
    const fleet = await Fleet.create({ engine: 'node', groups: [group], brokerUrl: `mqtt://127.0.0.1:${await freePort()}`, clock, seed: 1, epoch: 0, proxies: false });
    try {
      await fleet.boot();
      await clock.advanceTo(100_500);
      const device = fleet.members[0].device;
      const stats = await device.stats();
      expect(stats.samples).toBeGreaterThanOrEqual(100);
      expect(replayLog(device.flash.readLog()).messages.length).toBe(64);
      expect(stats.dropped).toBeGreaterThanOrEqual(36);
    } finally {
      await fleet.dispose();
    }
  });
});

describe('StoredFlash', () => {
  it('keeps NVS and the outbox log in files; a torn last record is dropped on open', () => {
    const state = join(dir, 'unit');
    const a = StoredFlash.open(state, 'dev-1');
    a.settings.set('seq', 1001);
    const store = a.outboxStore();
    for (let id = 1; id <= 300; id++) store.put({ id, topic: 't', payload: Uint8Array.of(id & 0xff), qos: 1, retain: false });
    for (let id = 1; id <= 290; id++) store.delete(id);
    a.close();
    // Compaction keeps the file near the live records, not every record ever written.
    const log = readFileSync(join(state, 'dev-1', 'outbox.log'));
    expect(replayLog(log).records).toBeLessThan(300);
    writeFileSync(join(state, 'dev-1', 'outbox.log'), Buffer.concat([log, Buffer.from([0x01, 0x02])]));
    const b = StoredFlash.open(state, 'dev-1');
    expect(b.settings.get('seq')).toBe(1001);
    expect(b.outboxStore().load().map((m) => m.id)).toEqual([291, 292, 293, 294, 295, 296, 297, 298, 299, 300]);
    b.close();
  });

  it('refuses a device id that would escape the state directory', () => {
    expect(() => StoredFlash.open(dir, '../x')).toThrow(/cannot name a state directory/);
  });

  it('a corrupt nvs.json is a sentence naming the file', () => {
    const state = join(dir, 'corrupt');
    StoredFlash.open(state, 'd').close();
    writeFileSync(join(state, 'd', 'nvs.json'), '{nope');
    expect(() => StoredFlash.open(state, 'd')).toThrow(`the simulator state file ${join(state, 'd', 'nvs.json')} is not valid JSON`);
  });
});

describe('canopy sim --state DIR', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  let client: TestClient;
  const seqs: number[] = [];
  beforeAll(async () => {
    await broker.start();
    client = await new TestClient(broker.url, { clientId: 'state-watcher', cleanSession: false }).connect();
    client.driver.on('event', (e: SessionEvent) => {
      if (e.type === 'message' && e.topic === 'canopy/sim-1/telemetry') seqs.push(decodeSample(e.payload).seq);
    });
    await client.subscribe('canopy/sim-1/telemetry', 1);
  });
  afterAll(async () => {
    await client.driver.stop();
    await broker.stop();
  });

  it('a kill -9 loses no queued QoS 1 sample, and seq numbers continue instead of restarting at 1', async () => {
    const state = join(dir, 'fleet');
    const log = join(state, 'sim-1', 'outbox.log');
    // Run 1: the device is partitioned from the start, so its samples queue in the outbox flash.
    const scenario = join(dir, 'cut-off.yaml');
    writeFileSync(scenario, 'name: cut-off\nengine: node\nduration: 10m\ntime: real\ndevices:\n  - count: 1\n    interval: 1s\n    qos: 1\nfaults:\n  - at: 0s\n    partition: 10m\nassert:\n  - delivered\n');
    mkdirSync(state, { recursive: true });
    const first = canopy(['sim', '--scenario', scenario, '--broker', broker.url, '--state', state]);
    const queued = () => (existsSync(log) ? replayLog(readFileSync(log)).messages.length : 0);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the outbox never held 3 samples; stderr: ${first.stderr}`)), 20_000);
      const check = () => {
        if (queued() < 3) return;
        clearTimeout(timer);
        watcher.close();
        resolve();
      };
      const watcher = watch(state, { recursive: true }, check);
      check();
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const kept = replayLog(readFileSync(log)).messages.filter((m) => m.topic === 'canopy/sim-1/telemetry').map((m) => decodeSample(m.payload).seq);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(seqs).toEqual([]); // nothing got through the partition

    // Run 2: power back on, no partition. The queued samples go out, and new ones carry on from the
    // firmware's stored reservation.
    const second = canopy(['sim', '--broker', broker.url, '--state', state, '--engine', 'node', '--devices', '1', '--interval', '1000', '--duration', '3', '--json']);
    expect(await second.exited, second.stderr).toBe(0);
    await client.until(() => kept.every((s) => seqs.includes(s)), 'the queued samples');
    const fresh = seqs.filter((s) => !kept.includes(s));
    expect(fresh.length).toBeGreaterThan(0);
    expect(Math.min(...fresh)).toBeGreaterThan(Math.max(...kept));
  }, 60_000);

  it('a state directory that cannot be made: a sentence and exit 1', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const run = canopy(['sim', '--port', '0', '--engine', 'node', '--state', join(file, 'sub'), '--duration', '1']);
    expect(await run.exited).toBe(1);
    expect(run.stderr).toContain(`cannot use ${join(file, 'sub')} for simulator state`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
