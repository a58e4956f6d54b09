// The pure fold behind `canopy devices` (fleet/registry.ts), on a fake clock: retained records
// give version and last seen; samples that stop make a device stale within two intervals; the
// will makes it offline, since then.
import { describe, expect, it } from 'vitest';
import { DeviceRegistry, STALE_FACTOR } from '../fleet/registry.ts';
import { encodeHealth, encodeInfo, type DeviceInfo } from '../protocol/info.ts';
import { encodeSample, type Sample } from '../protocol/telemetry.ts';
import { encodeStatus } from '../protocol/ota/transfer.ts';
import { reasonCode } from '../protocol/ota/reasons.ts';
import { Topics } from '../protocol/topics.ts';
import { utf8Encode } from '../protocol/utf8.ts';

const topics = new Topics('canopy');
const T0 = 1_700_000_000_000;
const INTERVAL = 10_000;

const info = (over: Partial<DeviceInfo> = {}): DeviceInfo => ({
  firmwareVersion: '1.2.0', otaSeq: 4, schema: 1, resetReason: 'power-on', uptime: 5, outboxDepth: 0, dropped: 0, ts: T0 / 1000 - 60, intervalMs: INTERVAL, ...over,
});
const sample = (seq: number, over: Partial<Sample> = {}): Sample => ({ seq, ts: T0 / 1000, temperature: 21.5, humidity: 40, lux: 300, motion: false, dhtErrors: 0, ...over });

function feed(r: DeviceRegistry, id: string, kind: 'status' | 'info' | 'health' | 'telemetry' | 'ota', payload: Uint8Array, now: number, retain = false): void {
  const topic = kind === 'ota' ? topics.ota(id, 'status') : topics[kind](id);
  r.apply({ topic, payload, retain }, now);
}

describe('device registry', () => {
  it('one row per device from retained status, info and OTA status alone', () => {
    const r = new DeviceRegistry(T0);
    feed(r, 'dev-10', 'status', utf8Encode('online'), T0, true);
    feed(r, 'dev-10', 'info', encodeInfo(info()), T0, true);
    feed(r, 'dev-10', 'ota', encodeStatus({ state: 'confirmed', reason: 0, done: 10, total: 10, seq: 4 }), T0, true);
    feed(r, 'dev-2', 'status', utf8Encode('offline'), T0, true);
    feed(r, 'dev-2', 'ota', encodeStatus({ state: 'refused', reason: reasonCode('rollback'), done: 0, total: 0, seq: 3, detail: 'seq 3 is not above 3' }), T0, true);
    const rows = r.rows(T0 + 1000);
    expect(rows.map((x) => x.id)).toEqual(['dev-2', 'dev-10']);
    expect(rows[1]).toMatchObject({ liveness: 'online', firmwareVersion: '1.2.0', otaSeq: 4, resetReason: 'power-on', lastSeen: T0 - 60_000, ota: { state: 'confirmed', reason: 'ok', seq: 4 } });
    // Offline already when we came: since when, nobody here knows.
    expect(rows[0]).toMatchObject({ liveness: 'offline', offlineSince: undefined, ota: { state: 'refused', reason: 'rollback', detail: 'seq 3 is not above 3' } });
  });

  it('a live sample updates last sample, its time and the DHT error counter; health updates last seen and dropped', () => {
    const r = new DeviceRegistry(T0);
    feed(r, 'a', 'status', utf8Encode('online'), T0, true);
    feed(r, 'a', 'telemetry', encodeSample(sample(7, { dhtErrors: 3 })), T0 + 500);
    feed(r, 'a', 'health', encodeHealth({ uptime: 65, outboxDepth: 2, dropped: 9, ts: T0 / 1000, intervalMs: INTERVAL }), T0 + 600, true);
    expect(r.row('a', T0 + 700)).toMatchObject({ lastSample: { seq: 7 }, lastSampleAt: T0 + 500, lastSeen: T0 + 500, errors: { dht: 3, decode: 0, dropped: 9 }, health: { uptime: 65, outboxDepth: 2 } });
  });

  it('samples that stop make an online device stale within two intervals, and it recovers with the next sample', () => {
    const r = new DeviceRegistry(T0);
    feed(r, 'p', 'status', utf8Encode('online'), T0);
    feed(r, 'p', 'info', encodeInfo(info()), T0);
    let now = T0;
    for (let seq = 1; seq <= 5; seq++) {
      now += INTERVAL;
      feed(r, 'p', 'telemetry', encodeSample(sample(seq)), now);
      expect(r.row('p', now + INTERVAL - 1)!.liveness).toBe('online');
    }
    const last = now;
    // Partitioned: nothing more comes, and the broker has not fired the will yet.
    expect(r.row('p', last + STALE_FACTOR * INTERVAL)!.liveness).toBe('online');
    const stale = r.row('p', last + STALE_FACTOR * INTERVAL + 1)!;
    expect(stale.liveness).toBe('stale');
    expect(stale.staleSince).toBe(last + STALE_FACTOR * INTERVAL);
    expect(r.row('p', last + 2 * INTERVAL)!.liveness).toBe('stale');
    // Healed: the next sample brings it back.
    feed(r, 'p', 'telemetry', encodeSample(sample(6)), last + 3 * INTERVAL);
    expect(r.row('p', last + 3 * INTERVAL)!.liveness).toBe('online');
  });

  it('the will makes it offline since the moment it came; online again clears that', () => {
    const r = new DeviceRegistry(T0);
    feed(r, 'w', 'status', utf8Encode('online'), T0);
    feed(r, 'w', 'info', encodeInfo(info()), T0);
    feed(r, 'w', 'telemetry', encodeSample(sample(1)), T0 + INTERVAL);
    feed(r, 'w', 'status', utf8Encode('offline'), T0 + 45_000);
    expect(r.row('w', T0 + 50_000)).toMatchObject({ liveness: 'offline', offlineSince: T0 + 45_000, lastSeen: T0 + INTERVAL });
    feed(r, 'w', 'status', utf8Encode('online'), T0 + 60_000);
    expect(r.row('w', T0 + 60_001)).toMatchObject({ liveness: 'online', offlineSince: undefined, lastSeen: T0 + 60_000 });
  });

  it('a device that has just come online is not late, and one that never samples turns stale', () => {
    const r = new DeviceRegistry(T0);
    feed(r, 'n', 'info', encodeInfo(info()), T0 + 100_000, true);
    feed(r, 'n', 'status', utf8Encode('online'), T0 + 100_000);
    expect(r.row('n', T0 + 100_000 + INTERVAL)!.liveness).toBe('online');
    expect(r.row('n', T0 + 100_000 + 2 * INTERVAL)!.liveness).toBe('stale');
  });

  it('without an interval (no info yet) an online device is never called stale', () => {
    const r = new DeviceRegistry(T0);
    feed(r, 'x', 'status', utf8Encode('online'), T0);
    expect(r.row('x', T0 + 1e9)!.liveness).toBe('online');
    expect(new DeviceRegistry(T0).rows(T0)).toEqual([]);
  });

  it('counts what it cannot decode, names it, and ignores topics that are not a device record', () => {
    const r = new DeviceRegistry(T0);
    feed(r, 'b', 'telemetry', new Uint8Array([0xff]), T0);
    feed(r, 'b', 'info', new Uint8Array([0xa0]), T0);
    r.apply({ topic: topics.commands('b'), payload: new Uint8Array([1]), retain: false }, T0);
    r.apply({ topic: topics.ota('b', 'block'), payload: new Uint8Array([1]), retain: false }, T0);
    expect(r.apply({ topic: 'elsewhere/b/info', payload: new Uint8Array(), retain: true }, T0)).toBeUndefined();
    const row = r.row('b', T0)!;
    expect(row).toMatchObject({ liveness: 'unknown', errors: { decode: 2 } });
    expect(row.lastError).toMatch(/^canopy\/b\/info: missing: info lacks firmwareVersion/);
    expect(r.size).toBe(1);
  });
});
