// Telemetry CBOR: encode and decode of one sample, ours vs cbor-x on the same array, same run;
// decode also against cbor-x followed by the checks a cbor-x user would write (the fair
// reference for a strict decoder); and the wire size against the same sample as JSON.
import { Encoder, decode as cborxDecode } from 'cbor-x';
import { decodeSample, encodeSample, type Sample } from '../protocol/telemetry.ts';
import { compare, row, type BenchRow } from './harness.ts';

const BATCH = 1000;
const sample: Sample = { seq: 123, ts: 1700000000, temperature: 21.5, humidity: 45.2, lux: 300, motion: true, dhtErrors: 0 };
const asArray = [123, 1700000000, 215, 452, 300, true, 0];

// 64 samples as a fleet sends them: nulls from a failed sensor, negative temperatures, and
// integers of every width (1-byte seq to 5-byte ts, 1- to 3-byte lux and dhtErrors).
const SAMPLES: Sample[] = Array.from({ length: 64 }, (_, i) => ({
  seq: i < 8 ? i + 1 : 1000 + i * 997,
  ts: i % 9 === 0 ? 0 : 1700000000 + 60 * i,
  temperature: i % 16 === 5 ? null : ((i * 73) % 600) / 10 - 20, // -20.0..39.9
  humidity: i % 16 === 9 ? null : ((i * 13) % 1000) / 10,
  lux: i % 16 === 3 ? null : (i * 1031) % 65536,
  motion: i % 3 === 0,
  dhtErrors: i % 8 === 0 ? 300 : i % 5,
}));

/** The array cbor-x is given: the sample's positions with fixed-point integers, as on the wire. */
function asRecord(s: Sample): (number | boolean | null)[] {
  const tenth = (v: number | null) => (v === null ? null : Math.round(v * 10));
  return [s.seq, s.ts, tenth(s.temperature), tenth(s.humidity), s.lux, s.motion, s.dhtErrors];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// What a cbor-x user writes to get a checked Sample: the same types and ranges as our decoder
// (docs/telemetry.md), but after the fact, so it cannot reject a non-shortest integer, an
// indefinite-length array or a float standing in for an integer that happens to be whole.
function checkedSample(v: unknown): Sample {
  if (!Array.isArray(v) || v.length !== 7) throw new Error('sample must be an array of 7 items');
  const [seq, ts, t, h, lux, motion, dhtErrors] = v as unknown[];
  if (typeof motion !== 'boolean') throw new Error('motion must be a boolean');
  return {
    seq: uintIn(seq, 0xffffffff),
    ts: uintIn(ts, 0xffffffff),
    temperature: t === null ? null : intIn(t, -400, 800) / 10,
    humidity: h === null ? null : intIn(h, 0, 1000) / 10,
    lux: lux === null ? null : uintIn(lux, 65535),
    motion,
    dhtErrors: uintIn(dhtErrors, 65535),
  };
}

function uintIn(v: unknown, max: number): number {
  return intIn(v, 0, max);
}

function intIn(v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Error(`expected an integer ${min}..${max}`);
  return v;
}

export default async function (): Promise<BenchRow[]> {
  const cborx = new Encoder({ useRecords: false });
  const ours = encodeSample(sample);
  const theirs = cborx.encode(asArray);
  let sink = 0;
  const enc = compare(
    () => {
      for (let i = 0; i < BATCH; i++) sink += encodeSample({ ...sample, seq: i }).length;
    },
    () => {
      for (let i = 0; i < BATCH; i++) {
        asArray[0] = i;
        sink += cborx.encode(asArray).length;
      }
    },
    BATCH,
  );
  // Decode: both sides read the same bytes (checked equal below), 64 varied samples in turn (nulls,
  // negative temperatures, 1- to 5-byte integers), and every result is kept in a ring so neither
  // side's result object can be optimised away. Rows are samples/s: higher is better, so a ratio
  // above ×1 means ours is faster than the reference.
  const inputs = SAMPLES.map((s) => encodeSample(s));
  const theirInputs = SAMPLES.map((s) => cborx.encode(asRecord(s)));
  inputs.forEach((b, i) => {
    if (!sameBytes(b, theirInputs[i])) throw new Error(`cbor-x encodes sample ${i} differently: the decode rows would compare unequal inputs`);
  });
  const kept: unknown[] = new Array(BATCH);
  const decoded = (v: unknown) => (v as Sample).seq; // touch the result like a caller would
  const dec = compare(
    () => {
      for (let i = 0; i < BATCH; i++) sink += decoded((kept[i] = decodeSample(inputs[i & 63])));
    },
    () => {
      for (let i = 0; i < BATCH; i++) sink += (kept[i] = cborxDecode(theirInputs[i & 63]) as number[])[0];
    },
    BATCH,
  );
  const decChecked = compare(
    () => {
      for (let i = 0; i < BATCH; i++) sink += decoded((kept[i] = decodeSample(inputs[i & 63])));
    },
    () => {
      for (let i = 0; i < BATCH; i++) sink += (kept[i] = checkedSample(cborxDecode(theirInputs[i & 63]))).seq;
    },
    BATCH,
  );
  if (sink === 0) throw new Error('nothing measured');
  const json = JSON.stringify({ t: 21.5, h: 45.2, lux: 300, motion: true, ts: 1700000000, seq: 123, dhtErrors: 0 });
  return [
    row('cbor: telemetry sample encode (validated)', enc.ours, 'samples/s', 'cbor-x 1.6 encode of the same array', enc.reference),
    row('cbor: telemetry sample decode (strict, validated)', dec.ours, 'samples/s', 'cbor-x 1.6 decode, no checks (higher is better)', dec.reference),
    row(
      'cbor: same decode, against cbor-x plus the checks in JS',
      decChecked.ours,
      'samples/s',
      'cbor-x 1.6 decode + array/type/range checks and a Sample object (it cannot see shortest-form or definite lengths)',
      decChecked.reference,
    ),
    row('cbor: bytes per sample', ours.length, 'bytes', `JSON of the same sample (${json.length} B)`, json.length),
  ];
}
