import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decode as cborx } from 'cbor-x';
import { decodeMotionEvent, decodeSample, decodeSampleGeneric, encodeMotionEvent, encodeSample, TelemetryError, type Sample } from '../protocol/telemetry.ts';
import { CommandError, decodeCommand, encodeCommand } from '../protocol/commands.ts';
import { Topics, TopicError } from '../protocol/topics.ts';
import { encode } from '../protocol/cbor/index.ts';
import { SAMPLE_SCHEMA, SENSOR_NODE_DECLARATION, SENSOR_NODE_TELEMETRY } from '../protocol/telemetry.ts';
import { schemaIdOfPayload, Telemetry, TelemetryDecoder, type TelemetryDeclaration } from '../protocol/telemetry-schema.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

// Golden vectors: these bytes are the wire format. Changing them breaks deployed devices.
const golden: [string, Sample, string][] = [
  ['typical', { seq: 123, ts: 1700000000, temperature: 21.5, humidity: 45.2, lux: 300, motion: true, dhtErrors: 0 }, '87187b1a6553f10018d71901c419012cf500'],
  ['−10.1 °C, sensors missing', { seq: 7, ts: 1700000000, temperature: -10.1, humidity: null, lux: null, motion: false, dhtErrors: 3 }, '87071a6553f1003864f6f6f403'],
  ['worst case', { seq: 4294967295, ts: 4294967295, temperature: -40, humidity: 100, lux: 65535, motion: false, dhtErrors: 65535 }, '871affffffff1affffffff39018f1903e819fffff419ffff'],
  ['datasheet example 26.9 °C 65.8 %RH', { seq: 0, ts: 0, temperature: 26.9, humidity: 65.8, lux: 0, motion: false, dhtErrors: 0 }, '87000019010d19029200f400'],
];

describe('telemetry sample', () => {
  it.each(golden)('%s encodes to its golden bytes and back', (_n, sample, h) => {
    const bytes = encodeSample(sample);
    expect(hex(bytes)).toBe(h);
    expect(decodeSample(bytes)).toEqual(sample);
    expect(bytes.length).toBeLessThanOrEqual(24);
  });

  it('the worst case is exactly 24 bytes', () => {
    expect(encodeSample(golden[2][1]).length).toBe(24);
  });

  it('is the same bytes as the generic deterministic encoder, and cbor-x reads it', () => {
    const s = golden[0][1];
    expect(encodeSample(s)).toEqual(encode([123, 1700000000, 215, 452, 300, true, 0]));
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.nat({ max: 0xffffffff }), ts: fc.nat({ max: 0xffffffff }),
          temperature: fc.option(fc.integer({ min: -400, max: 800 }).map((t) => t / 10)),
          humidity: fc.option(fc.integer({ min: 0, max: 1000 }).map((t) => t / 10)),
          lux: fc.option(fc.nat({ max: 65535 })), motion: fc.boolean(), dhtErrors: fc.nat({ max: 65535 }),
        }),
        (x) => {
          const generic = encode([x.seq, x.ts, x.temperature === null ? null : Math.round(x.temperature * 10), x.humidity === null ? null : Math.round(x.humidity * 10), x.lux, x.motion, x.dhtErrors]);
          expect(encodeSample(x)).toEqual(generic);
          expect(decodeSample(generic)).toEqual(x);
        },
      ),
      { numRuns: 2000 },
    );
    expect(cborx(Buffer.from(encodeSample(s)))).toEqual([123, 1700000000, 215, 452, 300, true, 0]);
  });

  it('NaN from a failed DHT read becomes null; counters saturate', () => {
    const s = decodeSample(encodeSample({ seq: 1, ts: 1, temperature: NaN, humidity: NaN, lux: 1.4, motion: false, dhtErrors: 70000 }));
    expect(s).toMatchObject({ temperature: null, humidity: null, lux: 1, dhtErrors: 65535 });
  });

  it('refuses out-of-range values, naming the field', () => {
    const base = golden[0][1];
    expect(() => encodeSample({ ...base, temperature: 81 })).toThrow(/temperature/);
    expect(() => encodeSample({ ...base, humidity: -1 })).toThrow(/humidity/);
    expect(() => encodeSample({ ...base, seq: -1 })).toThrow(/seq/);
    expect(() => encodeSample({ ...base, lux: 70000 })).toThrow(/lux/);
  });

  it('refuses malformed payloads with a TelemetryError', () => {
    for (const h of ['', '86000000000000', '88000000000000000000', '870000f93e00f6f6f400', '87187b1a6553f10018d71901c419012cf50000', 'a0']) {
      expect(() => decodeSample(unhex(h))).toThrow(TelemetryError);
    }
  });

  it('the fast decode path agrees with the generic strict one on every input: same sample or same error', () => {
    const outcome = (f: (b: Uint8Array) => Sample, b: Uint8Array) => {
      try {
        return { ok: f(b) };
      } catch (err) {
        return { error: (err as Error).message, telemetry: err instanceof TelemetryError };
      }
    };
    const seeds = golden.map(([, , h]) => unhex(h));
    const interesting = [0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x37, 0x38, 0x39, 0x3a, 0x87, 0x9f, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa, 0xff];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 30 }),
          fc.tuple(
            fc.constantFrom(...seeds),
            fc.array(fc.tuple(fc.nat(30), fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...interesting))), { maxLength: 3 }),
            fc.integer({ min: -3, max: 3 }),
          ).map(([seed, flips, resize]) => {
            const b = new Uint8Array(Math.max(0, seed.length + resize));
            b.set(seed.subarray(0, b.length));
            for (const [i, x] of flips) if (i < b.length) b[i] = x;
            return b;
          }),
        ),
        (b) => {
          expect(outcome(decodeSample, b)).toEqual(outcome(decodeSampleGeneric, b));
        },
      ),
      { numRuns: 20000 },
    );
  });

  it('the fast decode path agrees with the generic one at every range edge and integer width, shortest or not', () => {
    const outcome = (f: (b: Uint8Array) => Sample, b: Uint8Array) => {
      try {
        return { ok: f(b) };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
    const base = [123, 1700000000, 215, 452, 300, true, 0];
    const edges = [-(2 ** 32), -65537, -65536, -401, -400, -257, -256, -25, -24, -1, 0, 23, 24, 255, 256, 800, 801, 1000, 1001, 65535, 65536, 2 ** 32 - 1, 2 ** 32];
    // A value's shortest form, and each longer form of it (not shortest: the CDDL refuses them).
    const forms = (v: number): Uint8Array[] => {
      const shortest = encode(v);
      if (v < 0 || v >= 2 ** 32) return [shortest];
      const longer = [new Uint8Array([0x18, v & 0xff]), new Uint8Array([0x19, v >> 8, v & 0xff]), new Uint8Array([0x1a, v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff])];
      return [shortest, ...longer.filter((f) => f.length > shortest.length && (f.length > 2 || v < 256) && (f.length > 3 || v < 65536))];
    };
    let checked = 0;
    for (let at = 0; at < 7; at++) {
      for (const v of [...edges, null, true, false]) {
        for (const item of typeof v === 'number' ? forms(v) : [encode(v)]) {
          const parts = base.map((x, i) => (i === at ? item : encode(x)));
          const b = new Uint8Array([0x87, ...parts.flatMap((x) => [...x])]);
          for (const bytes of [b, b.subarray(0, b.length - 1)]) {
            expect(outcome(decodeSample, bytes), `field ${at} = ${v}: ${hex(bytes)}`).toEqual(outcome(decodeSampleGeneric, bytes));
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('motion events round-trip', () => {
    const e = { seq: 9, ts: 1700000001, active: true };
    expect(hex(encodeMotionEvent(e))).toBe('83091a6553f101f5');
    expect(decodeMotionEvent(encodeMotionEvent(e))).toEqual(e);
  });
});

describe('telemetry an app declares', () => {
  const greenhouse: TelemetryDeclaration = {
    name: 'greenhouse',
    fields: [
      { name: 'temperature', type: 'int', unit: '°C', scale: 1, min: -40, max: 80, nullable: true },
      { name: 'soil', type: 'int', unit: '%', scale: 2, min: 0, max: 100 },
      { name: 'fan', type: 'bool' },
    ],
  };

  it('the sensor-node declaration encodes the golden bytes, and the hand-written path equals it on every sample', () => {
    for (const [, sample, h] of golden) {
      const { seq, ts, ...values } = sample;
      expect(hex(SENSOR_NODE_TELEMETRY.encode(seq, ts, values))).toBe(h);
      expect(SENSOR_NODE_TELEMETRY.decode(unhex(h))).toEqual(sample);
    }
    expect(SENSOR_NODE_TELEMETRY.maxBytes).toBe(24);
    fc.assert(
      fc.property(
        fc.record({
          seq: fc.nat({ max: 0xffffffff }), ts: fc.nat({ max: 0xffffffff }),
          temperature: fc.option(fc.integer({ min: -400, max: 800 }).map((t) => t / 10)),
          humidity: fc.option(fc.integer({ min: 0, max: 1000 }).map((t) => t / 10)),
          lux: fc.option(fc.nat({ max: 65535 })), motion: fc.boolean(), dhtErrors: fc.nat({ max: 70000 }),
        }),
        (x) => {
          const { seq, ts, ...values } = x;
          expect(SENSOR_NODE_TELEMETRY.encode(seq, ts, values)).toEqual(encodeSample(x));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the sensor-node declaration is pinned: deployed devices send schema 1 without an id', () => {
    // Changing this declaration changes what deployed decoders read: give the app a new
    // declaration (without legacyId) instead, which gets its own id.
    expect(SAMPLE_SCHEMA).toBe(1);
    expect(JSON.parse(JSON.stringify(SENSOR_NODE_DECLARATION))).toEqual({
      name: 'sensor-node', legacyId: 1, fields: [
        { name: 'temperature', type: 'int', unit: '°C', scale: 1, min: -40, max: 80, nullable: true, description: 'DHT22' },
        { name: 'humidity', type: 'int', unit: '%RH', scale: 1, min: 0, max: 100, nullable: true, description: 'DHT22' },
        { name: 'lux', type: 'int', unit: 'lx', min: 0, max: 65535, nullable: true, description: 'BH1750 or LDR' },
        { name: 'motion', type: 'bool', description: 'PIR' },
        { name: 'dhtErrors', type: 'int', min: 0, max: 65535, saturate: true, description: 'failed DHT reads since boot' },
      ],
    });
  });

  it('a declared sample carries its schema id, fixed point by the scale, and round-trips', () => {
    const t = new Telemetry(greenhouse);
    const bytes = t.encode(5, 1700000000, { temperature: 21.54, soil: 33.333, fan: true });
    expect(schemaIdOfPayload(bytes)).toBe(t.id);
    expect(cborx(Buffer.from(bytes))).toEqual([Buffer.from([t.id >> 8, t.id & 0xff]), 5, 1700000000, 215, 3333, true]);
    expect(t.decode(bytes)).toEqual({ seq: 5, ts: 1700000000, temperature: 21.5, soil: 33.33, fan: true });
    expect(bytes.length).toBeLessThanOrEqual(t.maxBytes);
    expect(() => t.encode(1, 1, { temperature: 81, soil: 1, fan: false })).toThrow(/temperature 81 is outside -40..80/);
    expect(() => t.encode(1, 1, { temperature: null, soil: null, fan: false })).toThrow(/soil has no value/);
    expect(() => t.encode(1, 1, { temperature: null, soil: 1, fan: 1 })).toThrow(/fan must be a boolean/);
  });

  it('a reading that rounds to -0 (-0.04 °C, or a sensor\'s signed zero) is sent as the integer 0, not a float', () => {
    // Found by canopy sim --app on a cold night: every such sample was refused as "not valid CBOR".
    const t = new Telemetry(greenhouse);
    for (const temperature of [-0.04, -0]) {
      const bytes = t.encode(1, 1, { temperature, soil: 1, fan: false });
      expect(t.decode(bytes).temperature).toBe(0);
      expect(Object.is(cborx(Buffer.from(bytes))[3], 0)).toBe(true);
    }
  });

  it('a changed declaration is a new schema id, and no decoder misreads another schema', () => {
    const v1 = new Telemetry(greenhouse);
    const v2 = new Telemetry({ ...greenhouse, fields: greenhouse.fields.map((f) => (f.name === 'soil' ? { ...f, scale: 1 } : f)) });
    expect(v2.id).not.toBe(v1.id);
    expect(new Telemetry({ ...greenhouse, fields: [...greenhouse.fields] }).id).toBe(v1.id);
    const newer = v2.encode(1, 2, { temperature: 20, soil: 50, fan: false });
    expect(() => v1.decode(newer)).toThrow(new RegExp(`telemetry schema ${v2.id} is not greenhouse \\(schema ${v1.id}\\)`));
    // The sensor-node's decoders (the fast one too) refuse a declared app's sample.
    const five = new Telemetry({ name: 'five', fields: SENSOR_NODE_DECLARATION.fields.slice(0, 4) });
    const other = five.encode(1, 2, { temperature: 20, humidity: 50, lux: 3, motion: true });
    expect(() => decodeSample(other)).toThrow(TelemetryError);
    expect(() => SENSOR_NODE_TELEMETRY.decode(other)).toThrow(/telemetry schema \d+ is not sensor-node/);
    const decoder = new TelemetryDecoder([SENSOR_NODE_TELEMETRY, v1]);
    expect(decoder.decode(encodeSample(golden[0][1])).record).toEqual(golden[0][1]);
    expect(decoder.decode(v1.encode(1, 2, { temperature: null, soil: 0, fan: true })).schema).toBe(v1);
    expect(() => decoder.decode(newer)).toThrow(`telemetry schema ${v2.id} is not known to this decoder`);
  });

  it('refuses declarations it cannot encode faithfully', () => {
    expect(() => new Telemetry({ name: 'x', fields: [{ name: 'seq', type: 'bool' }] })).toThrow(/not seq or ts/);
    expect(() => new Telemetry({ name: 'x', fields: [{ name: 'a', type: 'int', min: 0 }] })).toThrow(/min <= max/);
    expect(() => new Telemetry({ name: 'x', fields: [{ name: 'a', type: 'int', min: 0, max: 1e9, scale: 3 }] })).toThrow(/32 bits/);
    expect(() => new Telemetry({ name: 'X y', fields: [] })).toThrow(/telemetry name/);
  });

  it('docs/telemetry.md holds the CDDL generated from the sensor-node declaration', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'telemetry.md'), 'utf8');
    const block = /<!-- cddl:sensor-node -->\n```cddl\n([\s\S]*?)\n```\n<!-- \/cddl:sensor-node -->/.exec(doc);
    expect(block?.[1], 'regenerate the block with SENSOR_NODE_TELEMETRY.cddl()').toBe(SENSOR_NODE_TELEMETRY.cddl());
  });
});

describe('commands', () => {
  it('round-trip and have fixed bytes', () => {
    expect(hex(encodeCommand({ kind: 'set-interval', ms: 5000 }))).toBe('a200010119 1388'.replace(' ', ''));
    expect(hex(encodeCommand({ kind: 'sample-now' }))).toBe('a10002');
    for (const c of [{ kind: 'set-interval', ms: 60000 }, { kind: 'sample-now' }, { kind: 'reboot' }] as const) {
      expect(decodeCommand(encodeCommand(c))).toEqual(c);
    }
  });
  it('set-output drives output N on, off, or back to the app (null), with fixed bytes', () => {
    expect(hex(encodeCommand({ kind: 'set-output', output: 0, on: true }))).toBe('a30004010002f5');
    expect(hex(encodeCommand({ kind: 'set-output', output: 2, on: null }))).toBe('a30004010202f6');
    for (const on of [true, false, null]) expect(decodeCommand(encodeCommand({ kind: 'set-output', output: 15, on }))).toEqual({ kind: 'set-output', output: 15, on });
    for (const h of ['a200040100', 'a30004011002f5', 'a30004010002 01'.replace(' ', ''), 'a3000201000200']) expect(() => decodeCommand(unhex(h))).toThrow(CommandError);
  });
  it('refuse unknown codes, keys and bad intervals', () => {
    for (const h of ['a10009', 'a2000202f5', 'a200010105', 'a1021', '80', 'a200030101']) expect(() => decodeCommand(unhex(h))).toThrow(CommandError);
  });
});

describe('topics', () => {
  const t = new Topics('canopy');
  it('builds the layout', () => {
    expect(t.telemetry('dev-1')).toBe('canopy/dev-1/telemetry');
    expect(t.status('dev-1')).toBe('canopy/dev-1/status');
    expect(t.event('dev-1', 'motion')).toBe('canopy/dev-1/events/motion');
    expect(t.commands('dev-1')).toBe('canopy/dev-1/cmd');
    expect(t.ota('dev-1', 'offer')).toBe('canopy/dev-1/ota/offer');
    expect(t.telemetryFilter()).toBe('canopy/+/telemetry');
    expect(new Topics('site/a').status('x')).toBe('site/a/x/status');
  });
  it('parses what it builds and nothing else', () => {
    expect(t.parse('canopy/dev-1/telemetry')).toEqual({ deviceId: 'dev-1', kind: 'telemetry' });
    expect(t.parse('canopy/dev-1/events/motion')).toEqual({ deviceId: 'dev-1', kind: 'event', sub: 'motion' });
    expect(t.parse('canopy/dev-1/ota/block')).toEqual({ deviceId: 'dev-1', kind: 'ota', sub: 'block' });
    for (const bad of ['other/dev/telemetry', 'canopy/dev/unknown', 'canopy/dev/telemetry/x', 'canopy/d v/status', 'canopy/dev/events']) expect(t.parse(bad)).toBeNull();
  });
  it('validates ids and prefixes', () => {
    expect(() => t.telemetry('a/b')).toThrow(TopicError);
    expect(() => t.telemetry('+')).toThrow(TopicError);
    expect(() => t.telemetry('x'.repeat(65))).toThrow(TopicError);
    expect(() => new Topics('$SYS')).toThrow(TopicError);
    expect(() => new Topics('a//b')).toThrow(TopicError);
  });
});
