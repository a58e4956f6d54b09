// Telemetry CBOR: encode and decode of one sample, ours vs cbor-x on the same array, same run;
// and the wire size against the same sample as JSON.
import { Encoder, decode as cborxDecode } from 'cbor-x';
import { decodeSample, encodeSample, type Sample } from '../protocol/telemetry.ts';
import { compare, row, type BenchRow } from './harness.ts';

const BATCH = 1000;
const sample: Sample = { seq: 123, ts: 1700000000, temperature: 21.5, humidity: 45.2, lux: 300, motion: true, dhtErrors: 0 };
const asArray = [123, 1700000000, 215, 452, 300, true, 0];

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
  const dec = compare(
    () => {
      for (let i = 0; i < BATCH; i++) sink += decodeSample(ours).seq;
    },
    () => {
      for (let i = 0; i < BATCH; i++) sink += (cborxDecode(theirs) as number[])[0];
    },
    BATCH,
  );
  if (sink === 0) throw new Error('nothing measured');
  const json = JSON.stringify({ t: 21.5, h: 45.2, lux: 300, motion: true, ts: 1700000000, seq: 123, dhtErrors: 0 });
  return [
    row('cbor: telemetry sample encode (validated)', enc.ours, 'samples/s', 'cbor-x 1.6 encode of the same array', enc.reference),
    row('cbor: telemetry sample decode (strict, validated)', dec.ours, 'samples/s', 'cbor-x 1.6 decode (no checks)', dec.reference),
    row('cbor: bytes per sample', ours.length, 'bytes', `JSON of the same sample (${json.length} B)`, json.length),
  ];
}
