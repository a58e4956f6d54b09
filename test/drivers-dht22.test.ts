import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeDht22, dht22Bytes, Dht22FrameError, DHT22_FRAME_PULSES, encodeDht22Bytes } from '../device/drivers/sensors/dht22/dht22-frame.ts';
import { Dht22 } from '../device/drivers/sensors/dht22/dht22.ts';
import { SensorError } from '../device/drivers/errors.ts';
import { dht22FrameBytes, dht22Pulses, scriptedDht22 } from './support/scripted-io.ts';

const frame = (rh: number, t: number, shape = {}) => dht22Pulses(dht22FrameBytes(rh, t), shape);
const datasheet = () => frame(0x0292, 0x010d);

// [name, pulses, expected]: every good frame the decoder must read.
const good: [string, number[], { humidity: number; temperature: number }][] = [
  ['datasheet example 0x0292/0x010D', datasheet(), { humidity: 65.8, temperature: 26.9 }],
  ['−10.1 °C is sign-magnitude 0x8065', frame(0x01f4, 0x8065), { humidity: 50, temperature: -10.1 }],
  ['−0.1 °C', frame(0x0000, 0x8001), { humidity: 0, temperature: -0.1 }],
  ['0x8000 ("−0.0") is 0', frame(0x0064, 0x8000), { humidity: 10, temperature: 0 }],
  ['−40.0 °C, lower limit', frame(0x03e8, 0x8190), { humidity: 100, temperature: -40 }],
  ['80.0 °C, upper limit', frame(0x0000, 0x0320), { humidity: 0, temperature: 80 }],
  ['100.0 %RH, upper limit', frame(0x03e8, 0x00fa), { humidity: 100, temperature: 25 }],
  // Noise: every pulse moved towards the decision threshold (48 µs) but inside its window.
  ['zeros at 47 µs, ones at 48 µs', frame(0x0292, 0x010d, { zero: 47, one: 48 }), { humidity: 65.8, temperature: 26.9 }],
  ['zeros at 10 µs, ones at 100 µs (window edges)', frame(0x0292, 0x010d, { zero: 10, one: 100 }), { humidity: 65.8, temperature: 26.9 }],
  ['slow clone: lows 90, response 120', frame(0x0292, 0x010d, { bitLow: 90, responseLow: 120, responseHigh: 120 }), { humidity: 65.8, temperature: 26.9 }],
  ['fast clone: lows 30, response 50', frame(0x0292, 0x010d, { bitLow: 30, responseLow: 50, responseHigh: 50 }), { humidity: 65.8, temperature: 26.9 }],
  ['datasheet min/max bit highs 22 and 75', frame(0x8001 & 0x7fff, 0x8065, { zero: 22, one: 75 }), { humidity: 0.1, temperature: -10.1 }],
];

const withPulse = (pulses: number[], index: number, width: number) => pulses.map((p, i) => (i === index ? width : p));

// [name, pulses, reason, message fragment]: every bad frame and how it must be reported.
const bad: [string, 'timeout' | 'checksum' | 'range', number[], string][] = [
  ['no answer at all', 'timeout', [], 'did not answer'],
  ['response only', 'timeout', [80, 80], 'cut short: 2 of 82'],
  ['one bit pair missing', 'timeout', datasheet().slice(0, 80), 'cut short: 80 of 82'],
  ['last high missing', 'timeout', datasheet().slice(0, 81), 'cut short: 81 of 82'],
  ['an extra trailing pulse (end-of-frame low included)', 'timeout', [...datasheet(), 50], 'extra pulses: 83'],
  ['a glitch splitting a pulse in two', 'timeout', [...datasheet().slice(0, 10), 20, 3, ...datasheet().slice(10)], 'extra pulses: 84'],
  ['response low too short', 'timeout', withPulse(datasheet(), 0, 49), 'response low is 49 µs'],
  ['response high too long', 'timeout', withPulse(datasheet(), 1, 121), 'response high is 121 µs'],
  ['bit low too short (glitch)', 'timeout', withPulse(datasheet(), 2 + 2 * 7, 29), 'bit 7 low is 29 µs'],
  ['bit low too long (sensor stalled)', 'timeout', withPulse(datasheet(), 2 + 2 * 39, 91), 'bit 39 low is 91 µs'],
  ['bit high below window', 'timeout', withPulse(datasheet(), 3, 9), 'bit 0 high is 9 µs'],
  ['bit high saturated (255)', 'timeout', withPulse(datasheet(), 3 + 2 * 20, 255), 'bit 20 high is 255 µs'],
  ['NaN width', 'timeout', withPulse(datasheet(), 5, NaN), 'bit 1 high is NaN'],
  // A 0 read as 1 (noise pushed 26 µs past the threshold): only the checksum can tell.
  ['one bit flipped by noise 0→1', 'checksum', withPulse(datasheet(), 3, 48), 'frame says 0xA2, data sums to 0x22'],
  ['one bit flipped by noise 1→0', 'checksum', withPulse(datasheet(), 3 + 2 * 6, 47), 'frame says 0xA2'],
  ['checksum byte wrong', 'checksum', dht22Pulses([0x02, 0x92, 0x01, 0x0d, 0xa3]), 'frame says 0xA3, data sums to 0xA2'],
  ['humidity 100.1 %RH', 'range', frame(0x03e9, 0x00fa), 'humidity 100.1 %RH is above 100'],
  ['humidity 0xFFFF', 'range', frame(0xffff, 0x00fa), 'humidity 6553.5'],
  ['temperature 80.1 °C', 'range', frame(0x0100, 0x0321), 'temperature 80.1 °C is outside -40…80'],
  ['temperature −40.1 °C', 'range', frame(0x0100, 0x8191), 'temperature -40.1 °C'],
  ['two\'s complement −10.1 (0xFF9B) is −3266.7, not −10.1', 'range', frame(0x0100, 0xff9b), 'temperature -3266.7'],
];

describe('DHT22 frame decoding', () => {
  it.each(good)('%s', (_name, pulses, expected) => {
    expect(pulses).toHaveLength(DHT22_FRAME_PULSES);
    expect(decodeDht22(pulses)).toEqual(expected);
  });

  it.each(bad)('%s → %s', (_name, reason, pulses, fragment) => {
    let error: unknown;
    try {
      decodeDht22(pulses);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Dht22FrameError);
    expect(error).toBeInstanceOf(SensorError);
    expect((error as Dht22FrameError).reason).toBe(reason);
    expect((error as Error).message).toContain(fragment);
  });

  it('reads the datasheet frame written out bit by bit', () => {
    // Independent of the encoder: the datasheet's 40 bits as the sensor sends them, MSB first.
    const bits = '0000001010010010' + '0000000100001101' + '10100010';
    const pulses = [80, 80, ...[...bits].flatMap((b) => [50, b === '1' ? 70 : 26])];
    expect(decodeDht22(pulses)).toEqual({ humidity: 65.8, temperature: 26.9 });
  });

  it('reads the datasheet bytes MSB first', () => {
    expect(Array.from(dht22Bytes(datasheet()))).toEqual([0x02, 0x92, 0x01, 0x0d, 0xa2]);
  });

  it('decodes every temperature word −40.0 … 80.0 °C to the same number as the decimal literal', () => {
    for (let tenths = -400; tenths <= 800; tenths++) {
      const word = tenths < 0 ? 0x8000 | -tenths : tenths;
      const { temperature } = decodeDht22(frame(0x0200, word));
      expect(temperature).toBe(Number((tenths / 10).toFixed(1)));
    }
  });

  it('accepts any typed array a native capture returns', () => {
    expect(decodeDht22(Uint8Array.from(datasheet()))).toEqual({ humidity: 65.8, temperature: 26.9 });
  });
});

describe('DHT22 frame encoding (simulated sensors)', () => {
  it('encodes the datasheet example and −10.1 °C to their bytes', () => {
    expect(Array.from(encodeDht22Bytes({ humidity: 65.8, temperature: 26.9 }))).toEqual([0x02, 0x92, 0x01, 0x0d, 0xa2]);
    expect(Array.from(encodeDht22Bytes({ humidity: 50, temperature: -10.1 }))).toEqual([0x01, 0xf4, 0x80, 0x65, 0xda]);
  });

  it('round-trips every reading the sensor can give', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: -400, max: 800 }), (h, t) => {
        const reading = { humidity: h / 10, temperature: t / 10 };
        expect(decodeDht22(dht22Pulses(encodeDht22Bytes(reading)))).toEqual({ humidity: h / 10, temperature: t === 0 ? 0 : t / 10 });
      }),
    );
  });

  it('refuses a reading no frame can carry', () => {
    expect(() => encodeDht22Bytes({ humidity: -1, temperature: 20 })).toThrow(/humidity -1 cannot be encoded/);
    expect(() => encodeDht22Bytes({ humidity: 50, temperature: 4000 })).toThrow(/temperature 4000 cannot be encoded/);
  });
});

describe('Dht22 driver', () => {
  const at = (times: number[]) => () => times.shift()!;

  it('samples in the ECMA-419 shape', () => {
    const bus = scriptedDht22(datasheet());
    const dht = new Dht22({ sensor: { io: bus.io, pin: 4 }, clock: () => 0 });
    expect(dht.sample()).toEqual({ thermometer: { temperature: 26.9 }, hygrometer: { humidity: 65.8 } });
    expect(dht.errors).toEqual({ timeout: 0, checksum: 0, range: 0 });
  });

  it('reads the bus at most once per 2 s and answers from the last read in between', () => {
    const bus = scriptedDht22(datasheet(), frame(0x01f4, 0x8065));
    const dht = new Dht22({ sensor: { io: bus.io, pin: 4 }, clock: at([0, 500, 1999, 2000, 3999]) });
    expect(dht.sample()?.thermometer.temperature).toBe(26.9);
    expect(dht.sample()?.thermometer.temperature).toBe(26.9);
    expect(dht.sample()?.thermometer.temperature).toBe(26.9);
    expect(bus.reads).toBe(1);
    expect(dht.sample()?.thermometer.temperature).toBe(-10.1);
    expect(dht.sample()?.thermometer.temperature).toBe(-10.1);
    expect(bus.reads).toBe(2);
  });

  it('a failed read answers undefined for the whole window, counted once, then recovers', () => {
    const bus = scriptedDht22(withPulse(datasheet(), 3, 48), [], frame(0x0400, 0x0100), datasheet());
    const dht = new Dht22({ sensor: { io: bus.io, pin: 4 }, clock: at([0, 1000, 2000, 4000, 6000]) });
    expect(dht.sample()).toBeUndefined();
    expect(dht.sample()).toBeUndefined();
    expect(bus.reads).toBe(1);
    expect(dht.errors).toEqual({ timeout: 0, checksum: 1, range: 0 });
    expect(dht.lastError?.reason).toBe('checksum');
    expect(dht.sample()).toBeUndefined();
    expect(dht.errors).toEqual({ timeout: 1, checksum: 1, range: 0 });
    expect(dht.lastError?.message).toMatch(/did not answer/);
    expect(dht.sample()).toBeUndefined();
    expect(dht.errors).toEqual({ timeout: 1, checksum: 1, range: 1 });
    expect(dht.sample()?.hygrometer.humidity).toBe(65.8);
    expect(dht.lastError).toBeUndefined();
  });

  it('missing sensor: every read is a timeout that says what to check', () => {
    const bus = scriptedDht22([]);
    let t = 0;
    const dht = new Dht22({ sensor: { io: bus.io, pin: 4 }, clock: () => (t += 2000) });
    for (let i = 0; i < 3; i++) expect(dht.sample()).toBeUndefined();
    expect(dht.errors.timeout).toBe(3);
    expect(dht.lastError?.message).toBe('DHT22 did not answer (no response pulse) — check wiring, power and the pull-up');
  });

  it('a throwing capture counts as a timeout and keeps its message', () => {
    const bus = scriptedDht22(() => {
      throw new Error('rmt receive failed');
    });
    const dht = new Dht22({ sensor: { io: bus.io, pin: 4 }, clock: () => 0 });
    expect(dht.sample()).toBeUndefined();
    expect(dht.errors.timeout).toBe(1);
    expect(dht.lastError?.message).toBe('DHT22 capture failed: rmt receive failed');
  });

  it('a pin the capture cannot open is an absent error naming the pin', () => {
    const bus = scriptedDht22(datasheet());
    expect(() => new Dht22({ sensor: { io: bus.io, pin: 99 } })).toThrow('DHT22 capture on pin 99 could not be opened: invalid pin');
    const first = new Dht22({ sensor: { io: bus.io, pin: 4 } });
    expect(() => new Dht22({ sensor: { io: bus.io, pin: 4 } })).toThrow(/pin 4 could not be opened: in use/);
    first.close();
    new Dht22({ sensor: { io: bus.io, pin: 4 } }).close();
  });

  it('configure refuses an interval below the datasheet 2 s and accepts a longer one', () => {
    const bus = scriptedDht22(datasheet());
    const clock = at([0, 2000, 3000]);
    const dht = new Dht22({ sensor: { io: bus.io, pin: 4 }, clock });
    expect(() => dht.configure({ minIntervalMs: 1000 })).toThrow(/below the sensor's 2000 ms/);
    dht.configure({ minIntervalMs: 3000 });
    dht.sample();
    dht.sample();
    expect(bus.reads).toBe(1);
    dht.sample();
    expect(bus.reads).toBe(2);
  });

  it('reads again at once when the clock steps backwards', () => {
    const bus = scriptedDht22(datasheet());
    const dht = new Dht22({ sensor: { io: bus.io, pin: 4 }, clock: at([1_000_000, 500]) });
    dht.sample();
    dht.sample();
    expect(bus.reads).toBe(2);
  });

  it('close() releases the capture; sample() afterwards is a closed error', () => {
    const bus = scriptedDht22(datasheet());
    const dht = new Dht22({ sensor: { io: bus.io, pin: 4 } });
    dht.close();
    dht.close();
    expect(bus.closed).toBe(true);
    expect(() => dht.sample()).toThrow(expect.objectContaining({ reason: 'closed' }));
  });
});
