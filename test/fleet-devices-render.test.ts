// The `canopy devices` table and JSON rows (fleet/devices.ts), from registry rows on a fake clock:
// what a technician reads for a stale, an offline and a freshly updated device.
import { describe, expect, it } from 'vitest';
import { ago, deviceJson, onlineCount, renderDevices } from '../fleet/devices.ts';
import { DeviceRegistry } from '../fleet/registry.ts';
import { encodeInfo } from '../protocol/info.ts';
import { encodeSample } from '../protocol/telemetry.ts';
import { encodeStatus } from '../protocol/ota/transfer.ts';
import { reasonCode } from '../protocol/ota/reasons.ts';
import { Topics } from '../protocol/topics.ts';
import { utf8Encode } from '../protocol/utf8.ts';

const t = new Topics('canopy');
const T0 = 1_700_000_000_000;

function fleet(): DeviceRegistry {
  const r = new DeviceRegistry(T0);
  const info = (v: string) => encodeInfo({ firmwareVersion: v, otaSeq: 5, schema: 1, uptime: 1, outboxDepth: 0, dropped: 2, ts: T0 / 1000, intervalMs: 10_000 });
  r.apply({ topic: t.status('a-1'), payload: utf8Encode('online'), retain: false }, T0);
  r.apply({ topic: t.info('a-1'), payload: info('1.0.0'), retain: false }, T0);
  r.apply({ topic: t.telemetry('a-1'), payload: encodeSample({ seq: 9, ts: T0 / 1000, temperature: -3.2, humidity: null, lux: 12, motion: false, dhtErrors: 4 }), retain: false }, T0 + 1000);
  r.apply({ topic: t.ota('a-1', 'status'), payload: encodeStatus({ state: 'rolled-back', reason: 0, done: 0, total: 0, seq: 6, detail: 'self-test failed' }), retain: false }, T0 + 1000);
  r.apply({ topic: t.status('a-2'), payload: utf8Encode('online'), retain: false }, T0);
  r.apply({ topic: t.info('a-2'), payload: info('1.1.0'), retain: false }, T0);
  r.apply({ topic: t.telemetry('a-2'), payload: encodeSample({ seq: 3, ts: T0 / 1000, temperature: 20, humidity: 50, lux: null, motion: false, dhtErrors: 0 }), retain: false }, T0 + 29_000);
  r.apply({ topic: t.ota('a-2', 'status'), payload: encodeStatus({ state: 'refused', reason: reasonCode('signature'), done: 0, total: 0, seq: 7 }), retain: false }, T0);
  r.apply({ topic: t.status('a-3'), payload: utf8Encode('offline'), retain: false }, T0 + 20_000);
  return r;
}

describe('canopy devices rendering', () => {
  it('the table marks stale and offline devices, with ages, the last OTA and the counters', () => {
    const now = T0 + 30_000;
    const rows = fleet().rows(now);
    expect(onlineCount(rows)).toBe(1);
    expect(renderDevices(rows, now).split('\n')).toEqual([
      'canopy devices — 1/3 online, 1 stale',
      '',
      'DEVICE  STATE    LAST SEEN  OFFLINE SINCE  VERSION  OTA SEQ  LAST OTA                   LAST SAMPLE      AGE      ERRORS',
      'a-1     stale    29s ago                   1.0.0    5        rolled-back seq 6          #9 -3.2°C 12lx   29s ago  dht 4, dropped 2',
      'a-2     online   1s ago                    1.1.0    5        refused (signature) seq 7  #3 20.0°C 50.0%  1s ago   dropped 2',
      'a-3     offline             10s ago        ?                                                                      0',
    ]);
  });

  it('JSON rows carry ISO times and the sample age in seconds', () => {
    const now = T0 + 30_000;
    const row = fleet().row('a-1', now)!;
    expect(deviceJson(row, now)).toMatchObject({
      id: 'a-1', liveness: 'stale', lastSeen: new Date(T0 + 1000).toISOString(), staleSince: new Date(T0 + 16_000).toISOString(),
      lastSampleAgeS: 29, ota: { state: 'rolled-back', reason: 'ok', seq: 6, detail: 'self-test failed' }, errors: { dht: 4, dropped: 2, decode: 0 },
    });
  });

  it('an empty broker says so', () => {
    expect(renderDevices([], T0)).toBe('canopy devices — 0/0 online\n\nno devices: nothing retained under this prefix');
  });

  it('ages in s, m, h, d', () => {
    expect([ago(undefined, 0), ago(0, 5000), ago(0, 600_000), ago(0, 3 * 3600_000), ago(0, 3 * 86_400_000)]).toEqual(['', '5s ago', '10m ago', '3h ago', '3d ago']);
  });
});
