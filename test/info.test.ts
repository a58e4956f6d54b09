// The device's info and health records (protocol/info.ts): golden bytes pin the wire format, and
// the strict decoder refuses every malformed record with a reason a fleet view can count.
import { describe, expect, it } from 'vitest';
import { decode as cborx } from 'cbor-x';
import { decodeHealth, decodeInfo, encodeHealth, encodeInfo, InfoError, RESET_REASONS, type DeviceInfo } from '../protocol/info.ts';
import { encode } from '../protocol/cbor/index.ts';
import { Topics } from '../protocol/topics.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

const esp32: DeviceInfo = { firmwareVersion: '1.2.0', otaSeq: 7, schema: 1, resetReason: 'software', uptime: 42, freeHeap: 160_000, rssi: -61, outboxDepth: 0, dropped: 0, ts: 1_700_000_000, intervalMs: 10_000 };
// What lin reports: no heap, no RSSI.
const lin: DeviceInfo = { firmwareVersion: 'dev', otaSeq: 0, schema: 1, resetReason: 'unknown', uptime: 0, outboxDepth: 3, dropped: 1, ts: 0, intervalMs: 10_000 };

// These bytes are the wire format (docs/info.md). Changing them breaks every fleet view.
const golden: [string, DeviceInfo, string][] = [
  ['esp32, every field', esp32, 'ab0165312e322e3002070301040305182a061a0002710007383c080009000a1a6553f1000b192710'],
  ['lin, what lin lacks left out', lin, 'a901636465760200030104000500080309010a000b192710'],
];

function refusal(f: () => unknown): InfoError {
  try {
    f();
  } catch (err) {
    if (err instanceof InfoError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('info record', () => {
  it.each(golden)('%s encodes to its golden bytes and back', (_n, info, h) => {
    expect(hex(encodeInfo(info))).toBe(h);
    expect(decodeInfo(unhex(h))).toEqual(info);
  });

  it('is a plain CBOR map any decoder reads, keys 1..11', () => {
    // cbor-x reads a map with integer keys as an object.
    expect(cborx(Buffer.from(encodeInfo(esp32)))).toEqual({ 1: '1.2.0', 2: 7, 3: 1, 4: 3, 5: 42, 6: 160_000, 7: -61, 8: 0, 9: 0, 10: 1_700_000_000, 11: 10_000 });
    expect(encodeInfo(esp32).length).toBe(40);
  });

  it('reset reason codes are ESP-IDF esp_reset_reason_t order', () => {
    expect(RESET_REASONS.indexOf('power-on')).toBe(1); // ESP_RST_POWERON
    expect(RESET_REASONS.indexOf('software')).toBe(3); // ESP_RST_SW
    expect(RESET_REASONS.indexOf('brownout')).toBe(9); // ESP_RST_BROWNOUT
    expect(RESET_REASONS.length).toBe(11);
  });

  it('the decoder refuses, with a reason code, what is not exactly an info record', () => {
    const cases: [string, Uint8Array, string, RegExp][] = [
      ['not CBOR', unhex('ff'), 'cbor', /not valid deterministic CBOR/],
      ['non-shortest integer', unhex('a70163646576021800030104000500080309 01'.replace(/ /g, '')), 'cbor', /./],
      ['trailing bytes', unhex('a701636465760200030104000500080309010a'), 'cbor', /./],
      ['an array', encode([1, 2]), 'shape', /must be a CBOR map/],
      ['unknown key', encode(new Map<number, string | number>([[1, 'dev'], [2, 0], [3, 1], [5, 0], [8, 0], [9, 0], [10, 0], [11, 1000], [12, 1]])), 'unknown-key', /unknown key 12/],
      ['text key', encode(new Map<string | number, string | number>([['v', 'dev']])), 'unknown-key', /unknown key v/],
      ['version not text', encode(new Map([[1, 5], [2, 0], [3, 1], [5, 0], [8, 0], [9, 0]])), 'type', /firmwareVersion must be text/],
      ['empty version', encode(new Map<number, string | number>([[1, ''], [2, 0], [3, 1], [5, 0], [8, 0], [9, 0]])), 'range', /1\.\.32 characters/],
      ['negative seq', encode(new Map<number, string | number>([[1, 'dev'], [2, -1], [3, 1], [5, 0], [8, 0], [9, 0]])), 'range', /otaSeq must be 0\.\.4294967295/],
      ['positive RSSI', encode(new Map<number, string | number>([[1, 'dev'], [2, 0], [3, 1], [5, 0], [7, 3], [8, 0], [9, 0]])), 'range', /rssi must be -128\.\.0/],
      ['reset reason 11', encode(new Map<number, string | number>([[1, 'dev'], [2, 0], [3, 1], [4, 11], [5, 0], [8, 0], [9, 0]])), 'range', /resetReason must be 0\.\.10/],
      ['float uptime', unhex('a6016364657602000301 05fb3ff8000000000000 08000900'.replace(/ /g, '')), 'cbor', /./],
      ['no uptime', encode(new Map<number, string | number>([[1, 'dev'], [2, 0], [3, 1], [8, 0], [9, 0]])), 'missing', /lacks uptime \(key 5\)/],
    ];
    for (const [name, bytes, reason, message] of cases) {
      const e = refusal(() => decodeInfo(bytes));
      expect(e.reason, name).toBe(reason);
      expect(e.message, name).toMatch(message);
    }
  });

  it('the encoder refuses what the decoder would', () => {
    expect(refusal(() => encodeInfo({ ...esp32, rssi: 5 })).reason).toBe('range');
    expect(refusal(() => encodeInfo({ ...esp32, firmwareVersion: 'x'.repeat(33) })).reason).toBe('range');
    expect(refusal(() => encodeInfo({ ...esp32, resetReason: 'meteor' as never })).message).toMatch(/"meteor" is not one of unknown, power-on/);
    expect(refusal(() => encodeInfo({ ...esp32, uptime: 1.5 })).reason).toBe('type');
    expect(refusal(() => encodeInfo({ ...esp32, otaSeq: undefined as never })).reason).toBe('missing');
  });
});

describe('health record', () => {
  it('is the changing half of info under the same keys, golden bytes', () => {
    const h = { uptime: 3600, freeHeap: 150_000, rssi: -70, outboxDepth: 2, dropped: 0, ts: 1_700_000_000, intervalMs: 10_000 };
    expect(hex(encodeHealth(h))).toBe('a705190e10061a000249f0073845080209000a1a6553f1000b192710'.replace(/ /g, ''));
    expect(decodeHealth(encodeHealth(h))).toEqual(h);
    // An info passed as health keeps only the health keys.
    expect(decodeHealth(encodeHealth(esp32))).toEqual({ uptime: 42, freeHeap: 160_000, rssi: -61, outboxDepth: 0, dropped: 0, ts: 1_700_000_000, intervalMs: 10_000 });
    expect(encodeHealth({ uptime: 0, outboxDepth: 0, dropped: 0, ts: 0, intervalMs: 1000 }).length).toBe(13);
  });

  it('refuses identity keys and missing counters', () => {
    expect(refusal(() => decodeHealth(encodeInfo(esp32))).reason).toBe('unknown-key');
    expect(refusal(() => decodeHealth(encode(new Map([[5, 1], [8, 0]])))).message).toMatch(/lacks dropped \(key 9\)/);
  });
});

describe('topics', () => {
  it('info and health sit beside status and parse back', () => {
    const t = new Topics('canopy');
    expect(t.info('d-1')).toBe('canopy/d-1/info');
    expect(t.health('d-1')).toBe('canopy/d-1/health');
    expect(t.parse('canopy/d-1/info')).toEqual({ deviceId: 'd-1', kind: 'info' });
    expect(t.parse('canopy/d-1/health')).toEqual({ deviceId: 'd-1', kind: 'health' });
    expect(t.parse('canopy/d-1/info/x')).toBeNull();
  });
});
