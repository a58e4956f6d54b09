// The built-in sensor-node app's telemetry: its declaration (protocol/telemetry-schema.ts, the
// one definition of the layout: the device encodes from it, the generic decoder reads by it, the
// CDDL in docs/telemetry.md is generated from it), plus a hand-written encoder and fast decoder
// for this one layout, the hot path of every fleet (issue 12), held byte-equal to the declared
// ones by test/telemetry.test.ts. One sample is a CBOR array whose positions are its keys, with
// fixed-point integers; a full worst-case sample fits in 24 bytes. Golden vectors in
// test/telemetry.test.ts.
import { decode, encode, type CborValue } from './cbor/index';
import { Telemetry, TelemetryError, type TelemetryDeclaration } from './telemetry-schema';

export { TelemetryError };

/** The sensor-node layout. Deployed devices send it without an id: legacyId 1 (see telemetry-schema.ts). */
export const SENSOR_NODE_DECLARATION: TelemetryDeclaration = {
  name: 'sensor-node',
  legacyId: 1,
  fields: [
    { name: 'temperature', type: 'int', unit: '°C', scale: 1, min: -40, max: 80, nullable: true, description: 'DHT22' },
    { name: 'humidity', type: 'int', unit: '%RH', scale: 1, min: 0, max: 100, nullable: true, description: 'DHT22' },
    { name: 'lux', type: 'int', unit: 'lx', min: 0, max: 65535, nullable: true, description: 'BH1750 or LDR' },
    { name: 'motion', type: 'bool', description: 'PIR' },
    { name: 'dhtErrors', type: 'int', min: 0, max: 65535, saturate: true, description: 'failed DHT reads since boot' },
  ],
};

export const SENSOR_NODE_TELEMETRY = new Telemetry(SENSOR_NODE_DECLARATION);

/**
 * The id of the sample layout below, reported in the device's info record (protocol/info.ts) so a
 * reader can tell which layout a device speaks. A new layout gets a new id, never a reused one.
 */
export const SAMPLE_SCHEMA = SENSOR_NODE_TELEMETRY.id;

export interface Sample {
  /** Increases by one per sample and never goes back across reboots (it may skip ahead after one); 1..2^32-1, then wraps. */
  seq: number;
  /** Unix seconds, 0..2^32-1 (0 when the clock is not set yet). */
  ts: number;
  /** °C, resolution 0.1, −40..80; null when the sensor gave no value. */
  temperature: number | null;
  /** %RH, resolution 0.1, 0..100; null when unavailable. */
  humidity: number | null;
  /** lux, integer 0..65535; null when unavailable. */
  lux: number | null;
  motion: boolean;
  /** Failed DHT reads since boot, 0..65535 (saturates). */
  dhtErrors: number;
}

export interface MotionEvent {
  seq: number;
  ts: number;
  /** true when motion starts, false when it ends. */
  active: boolean;
}

const U32 = 0xffffffff;

export function encodeSample(s: Sample): Uint8Array {
  // Hand-written for the hot path (every device, every interval); test/telemetry.test.ts holds
  // it byte-equal to the generic deterministic encoder.
  const out = new Uint8Array(24);
  out[0] = 0x87;
  let o = 1;
  o = int(out, o, uint('seq', s.seq, U32));
  o = int(out, o, uint('ts', s.ts, U32));
  o = int(out, o, fixed('temperature', s.temperature, -400, 800));
  o = int(out, o, fixed('humidity', s.humidity, 0, 1000));
  o = int(out, o, s.lux === null || Number.isNaN(s.lux) ? null : uint('lux', Math.round(s.lux), 65535));
  out[o++] = bool('motion', s.motion) ? 0xf5 : 0xf4;
  o = int(out, o, uint('dhtErrors', Math.min(s.dhtErrors, 65535), 65535));
  return out.slice(0, o);
}

/** A CBOR integer (major 0 or 1) or null, shortest form, for values within ±2^32. */
function int(out: Uint8Array, o: number, v: number | null): number {
  if (v === null) {
    out[o] = 0xf6;
    return o + 1;
  }
  let m = 0;
  if (v < 0) {
    m = 0x20;
    v = -1 - v;
  }
  if (v < 24) out[o++] = m | v;
  else if (v < 0x100) {
    out[o++] = m | 24;
    out[o++] = v;
  } else if (v < 0x10000) {
    out[o++] = m | 25;
    out[o++] = v >> 8;
    out[o++] = v & 0xff;
  } else {
    out[o++] = m | 26;
    out[o++] = (v >>> 24) & 0xff;
    out[o++] = (v >>> 16) & 0xff;
    out[o++] = (v >>> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  return o;
}

export function decodeSample(bytes: Uint8Array): Sample {
  return fastSample(bytes) ?? decodeSampleGeneric(bytes);
}

/**
 * The generic strict path: the CBOR decoder, then each field's schema check. Every malformed
 * sample ends here and gets its error from it; decodeSample's fast path only ever answers for
 * bytes this accepts, with the same value (test/telemetry.test.ts checks both on mutated bytes).
 */
export function decodeSampleGeneric(bytes: Uint8Array): Sample {
  return SENSOR_NODE_TELEMETRY.decode(bytes) as unknown as Sample;
}

// The hot path (every sample a fleet sends passes here): reads a well-formed sample straight from
// the bytes, with the decoder's shortest-form rule and the schema's ranges, and gives up (returns
// undefined, leaving the error to the generic path) at the first byte that is anything else.
// Building the generic array of CborValues first cost 2.5x cbor-x's time (issue 12); helpers
// sharing a module-level cursor cost 68 ns a sample, this one function with a local cursor and
// a straight-line block per field 29 ns. A read past the end gives undefined, which fails every
// comparison below; 2- and 4-byte arguments check the length as well.
function fastSample(b: Uint8Array): Sample | undefined {
  const n = b.length;
  if (b[0] !== 0x87) return undefined;
  let p = 1;
  let ib = b[p];
  // seq, then ts: 0..2^32-1 (a 9-byte argument is beyond it).
  let seq: number;
  if (ib < 24) { seq = ib; p += 1; }
  else if (ib === 24) { seq = b[p + 1]; if (!(seq >= 24)) return undefined; p += 2; }
  else if (ib === 25) { seq = (b[p + 1] << 8) | b[p + 2]; if (!(seq >= 0x100 && p + 3 <= n)) return undefined; p += 3; }
  else if (ib === 26) { seq = b[p + 1] * 0x1000000 + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]); if (!(seq >= 0x10000 && p + 5 <= n)) return undefined; p += 5; }
  else return undefined;
  ib = b[p];
  let ts: number;
  if (ib < 24) { ts = ib; p += 1; }
  else if (ib === 24) { ts = b[p + 1]; if (!(ts >= 24)) return undefined; p += 2; }
  else if (ib === 25) { ts = (b[p + 1] << 8) | b[p + 2]; if (!(ts >= 0x100 && p + 3 <= n)) return undefined; p += 3; }
  else if (ib === 26) { ts = b[p + 1] * 0x1000000 + ((b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]); if (!(ts >= 0x10000 && p + 5 <= n)) return undefined; p += 5; }
  else return undefined;
  // temperature: null or tenths -400..800 (a 2-byte argument past 800 or a negative past -400 is out).
  ib = b[p];
  let temperature: number | null;
  if (ib === 0xf6) { temperature = null; p += 1; }
  else {
    let v: number;
    if (ib < 24) { v = ib; p += 1; }
    else if (ib === 24) { v = b[p + 1]; if (!(v >= 24)) return undefined; p += 2; }
    else if (ib === 25) { v = (b[p + 1] << 8) | b[p + 2]; if (!(v >= 0x100 && v <= 800 && p + 3 <= n)) return undefined; p += 3; }
    else if (ib >= 0x20 && ib < 0x38) { v = 0x1f - ib; p += 1; }
    else if (ib === 0x38) { const m = b[p + 1]; if (!(m >= 24)) return undefined; v = -1 - m; p += 2; }
    else if (ib === 0x39) { const m = (b[p + 1] << 8) | b[p + 2]; if (!(m >= 0x100 && m <= 399 && p + 3 <= n)) return undefined; v = -1 - m; p += 3; }
    else return undefined;
    temperature = v / 10;
  }
  ib = b[p];
  let humidity: number | null;
  if (ib === 0xf6) { humidity = null; p += 1; }
  else {
    let v: number;
    if (ib < 24) { v = ib; p += 1; }
    else if (ib === 24) { v = b[p + 1]; if (!(v >= 24)) return undefined; p += 2; }
    else if (ib === 25) { v = (b[p + 1] << 8) | b[p + 2]; if (!(v >= 0x100 && v <= 1000 && p + 3 <= n)) return undefined; p += 3; }
    else return undefined;
    humidity = v / 10;
  }
  ib = b[p];
  let lux: number | null;
  if (ib === 0xf6) { lux = null; p += 1; }
  else if (ib < 24) { lux = ib; p += 1; }
  else if (ib === 24) { lux = b[p + 1]; if (!(lux >= 24)) return undefined; p += 2; }
  else if (ib === 25) { lux = (b[p + 1] << 8) | b[p + 2]; if (!(lux >= 0x100 && p + 3 <= n)) return undefined; p += 3; }
  else return undefined;
  const m = b[p++];
  if (m !== 0xf4 && m !== 0xf5) return undefined;
  ib = b[p];
  let dhtErrors: number;
  if (ib < 24) { dhtErrors = ib; p += 1; }
  else if (ib === 24) { dhtErrors = b[p + 1]; if (!(dhtErrors >= 24)) return undefined; p += 2; }
  else if (ib === 25) { dhtErrors = (b[p + 1] << 8) | b[p + 2]; if (!(dhtErrors >= 0x100 && p + 3 <= n)) return undefined; p += 3; }
  else return undefined;
  if (p !== n) return undefined;
  return { seq, ts, temperature, humidity, lux, motion: m === 0xf5, dhtErrors };
}

export function encodeMotionEvent(e: MotionEvent): Uint8Array {
  return encode([uint('seq', e.seq, U32), uint('ts', e.ts, U32), bool('active', e.active)]);
}

export function decodeMotionEvent(bytes: Uint8Array): MotionEvent {
  const a = record(bytes, 3, 'motion event');
  return { seq: readUint(a[0], 'seq', U32), ts: readUint(a[1], 'ts', U32), active: readBool(a[2], 'active') };
}

function record(bytes: Uint8Array, n: number, what: string): CborValue[] {
  let v: CborValue;
  try {
    v = decode(bytes, { floats: false, maxDepth: 1 });
  } catch (err) {
    throw new TelemetryError(`${what} is not valid CBOR: ${(err as Error).message}`);
  }
  if (!Array.isArray(v) || v.length !== n) throw new TelemetryError(`${what} must be an array of ${n} items`);
  return v;
}

function uint(field: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new TelemetryError(`${field} must be an integer 0..${max}, got ${v}`);
  return v;
}

function bool(field: string, v: boolean): boolean {
  if (typeof v !== 'boolean') throw new TelemetryError(`${field} must be a boolean`);
  return v;
}

/** Value × 10 as an integer, or null. NaN counts as "no value", the DHT convention. */
function fixed(field: string, v: number | null, min: number, max: number): number | null {
  if (v === null || Number.isNaN(v)) return null;
  const t = Math.round(v * 10);
  if (!(t >= min && t <= max)) throw new TelemetryError(`${field} ${v} is outside ${min / 10}..${max / 10}`);
  return t;
}

function readUint(v: CborValue, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new TelemetryError(`${field} must be an integer 0..${max}`);
  return v;
}

function readBool(v: CborValue, field: string): boolean {
  if (typeof v !== 'boolean') throw new TelemetryError(`${field} must be a boolean`);
  return v;
}
