// The telemetry wire format: one sample is a CBOR array whose positions are its keys, with
// fixed-point integers. A map with integer keys would spend one byte per key (7 more), and a
// full worst-case sample must fit in 24 bytes. Schema in docs/telemetry.md; golden vectors in
// test/telemetry.test.ts.
import { decode, encode, type CborValue } from './cbor/index';

/**
 * The id of the sample layout below, reported in the device's info record (protocol/info.ts) so a
 * reader can tell which layout a device speaks. A new layout gets a new id, never a reused one.
 */
export const SAMPLE_SCHEMA = 1;

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

export class TelemetryError extends Error {
  override name = 'TelemetryError';
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
  const a = record(bytes, 7, 'sample');
  return {
    seq: readUint(a[0], 'seq', U32),
    ts: readUint(a[1], 'ts', U32),
    temperature: readFixed(a[2], 'temperature', -400, 800),
    humidity: readFixed(a[3], 'humidity', 0, 1000),
    lux: a[4] === null ? null : readUint(a[4], 'lux', 65535),
    motion: readBool(a[5], 'motion'),
    dhtErrors: readUint(a[6], 'dhtErrors', 65535),
  };
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

function readFixed(v: CborValue, field: string, min: number, max: number): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new TelemetryError(`${field} must be null or an integer ${min}..${max} tenths`);
  return v / 10;
}
