// DHT22 / AM2302 frame decoding: pulse widths (µs) in, humidity and temperature out. Pure, so the
// whole wire format is tested on the host from pulse trains (test/drivers-dht22.test.ts); the
// native capture (device/native/dht22) only measures widths.
//
// Frame, after the host's ≥1 ms start pulse and release (datasheet timings, µs):
//   response: low 80 (75–85), high 80 (75–85)
//   40 bits, MSB first, each: low 50 (48–55), then high 26 (22–30) for 0 or 70 (68–75) for 1
//   bytes: RH hi, RH lo, T hi, T lo, checksum = low byte of the sum of the first four
//   RH = u16 / 10 %RH; T = (15-bit magnitude / 10) °C with bit 15 the sign (sign-magnitude, not
//   two's complement: −10.1 °C is 0x8065).
// The windows below are wider than the datasheet's to absorb capture jitter and slower clones;
// anything outside them is not a DHT22 pulse, and the checksum catches a bit that was misread
// inside them. The encoder at the end is the same format the other way, for simulated sensors
// (lin builds, the simulator, tests): one definition of the frame.
import { SensorError } from '../../errors';

/** Widths in a complete capture: the response pair and 40 bit pairs (see Dht22Capture.read). */
export const DHT22_FRAME_PULSES = 82;

export const DHT22_WINDOWS = {
  response: { min: 50, max: 120 },
  bitLow: { min: 30, max: 90 },
  bitHigh: { min: 10, max: 100 },
  /** A bit's high level this long or longer is a 1 (midway between the nominal 26 and 70). */
  oneFrom: 48,
} as const;

export const DHT22_RANGE = {
  humidity: { min: 0, max: 100 },
  temperature: { min: -40, max: 80 },
} as const;

export interface Dht22Reading {
  /** %RH, resolution 0.1. */
  humidity: number;
  /** °C, resolution 0.1. */
  temperature: number;
}

export type Dht22Failure = 'timeout' | 'checksum' | 'range';

/** Why a frame was rejected; `reason` is the error counter it belongs to. */
export class Dht22FrameError extends SensorError {
  override name = 'Dht22FrameError';
  declare readonly reason: Dht22Failure;

  constructor(reason: Dht22Failure, message: string) {
    super('DHT22', reason, message);
  }
}

/** The five frame bytes from the pulse widths; throws Dht22FrameError('timeout') on a bad frame. */
export function dht22Bytes(pulses: ArrayLike<number>): Uint8Array {
  const n = pulses.length;
  if (n === 0) throw timeout('DHT22 did not answer (no response pulse) — check wiring, power and the pull-up');
  if (n < DHT22_FRAME_PULSES) throw timeout(`DHT22 frame cut short: ${n} of ${DHT22_FRAME_PULSES} pulses`);
  if (n > DHT22_FRAME_PULSES) throw timeout(`DHT22 frame has extra pulses: ${n}, expected ${DHT22_FRAME_PULSES} (noise on the line?)`);

  const w = DHT22_WINDOWS;
  check(pulses[0], w.response, 'response low');
  check(pulses[1], w.response, 'response high');
  const bytes = new Uint8Array(5);
  for (let bit = 0; bit < 40; bit++) {
    check(pulses[2 + 2 * bit], w.bitLow, `bit ${bit} low`);
    const high = check(pulses[3 + 2 * bit], w.bitHigh, `bit ${bit} high`);
    if (high >= w.oneFrom) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  }
  return bytes;
}

/** Humidity and temperature from one frame's pulse widths, or a Dht22FrameError saying why not. */
export function decodeDht22(pulses: ArrayLike<number>): Dht22Reading {
  const b = dht22Bytes(pulses);
  const sum = (b[0] + b[1] + b[2] + b[3]) & 0xff;
  if (sum !== b[4]) throw new Dht22FrameError('checksum', `DHT22 checksum mismatch: frame says ${hex(b[4])}, data sums to ${hex(sum)}`);

  const rawHumidity = (b[0] << 8) | b[1];
  const magnitude = ((b[2] & 0x7f) << 8) | b[3];
  const humidity = rawHumidity / 10;
  // Sign-magnitude; 0x8000 ("−0.0") is plain 0.
  const temperature = b[2] & 0x80 && magnitude ? -magnitude / 10 : magnitude / 10;
  const r = DHT22_RANGE;
  if (humidity > r.humidity.max) throw range(`DHT22 humidity ${humidity} %RH is above ${r.humidity.max}`);
  if (temperature < r.temperature.min || temperature > r.temperature.max) {
    throw range(`DHT22 temperature ${temperature} °C is outside ${r.temperature.min}…${r.temperature.max}`);
  }
  return { humidity, temperature };
}

function check(width: number, window: { min: number; max: number }, what: string): number {
  if (!(width >= window.min && width <= window.max)) {
    throw timeout(`DHT22 ${what} is ${width} µs, outside ${window.min}–${window.max} µs`);
  }
  return width;
}

const timeout = (message: string) => new Dht22FrameError('timeout', message);
const range = (message: string) => new Dht22FrameError('range', message);
const hex = (v: number) => `0x${v.toString(16).toUpperCase().padStart(2, '0')}`;

// ---- Encoding, for simulated sensors ---------------------------------------------------------------

/** Nominal widths (µs) of an encoded frame; a simulator may vary them to mimic a clone or noise. */
export interface Dht22PulseShape {
  responseLow?: number;
  responseHigh?: number;
  bitLow?: number;
  zero?: number;
  one?: number;
}

/** The five frame bytes for a reading (rounded to 0.1; sign-magnitude temperature; checksum). */
export function encodeDht22Bytes(reading: Dht22Reading): Uint8Array {
  const h = Math.round(reading.humidity * 10);
  const t = Math.round(reading.temperature * 10);
  if (!(h >= 0 && h <= 0xffff)) throw range(`DHT22 humidity ${reading.humidity} cannot be encoded`);
  if (!(Math.abs(t) <= 0x7fff)) throw range(`DHT22 temperature ${reading.temperature} cannot be encoded`);
  const tWord = t < 0 ? 0x8000 | -t : t;
  const b = new Uint8Array([h >> 8, h & 0xff, tWord >> 8, tWord & 0xff, 0]);
  b[4] = (b[0] + b[1] + b[2] + b[3]) & 0xff;
  return b;
}

/** The 82 widths a capture returns for these frame bytes (the contract of Dht22Capture.read). */
export function dht22Pulses(bytes: ArrayLike<number>, shape: Dht22PulseShape = {}): number[] {
  const { responseLow = 80, responseHigh = 80, bitLow = 50, zero = 26, one = 70 } = shape;
  const out = [responseLow, responseHigh];
  for (let bit = 0; bit < 40; bit++) out.push(bitLow, bytes[bit >> 3] & (0x80 >> (bit & 7)) ? one : zero);
  return out;
}
