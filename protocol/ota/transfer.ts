// The MQTT block-transfer messages, defined once for the pusher and the device agent. Each is a
// deterministic CBOR map with small integer keys on its own topic under <prefix>/<device>/ota/:
//
//   offer   host → device  {1: envelope, 2: chunk table}          QoS 1
//   req     device → host  {1: id, 2: first block, 3: bitmap}      QoS 0, repeated on silence
//   block   host → device  {1: id, 2: index, 3: bytes}            QoS 0, only when requested
//   status  device → host  {1: id?, 2: state, 3: reason code, 4: blocks done, 5: blocks total,
//                           6: seq, 7: detail?}                    QoS 1, retained
//
// id = first 8 bytes of SHA-256(manifest bytes). The device asks for blocks it has not yet written
// and read back (bit i of the bitmap = block first+i, LSB first, at most 128 bytes as in AWS IoT
// OTA), so a resume after a drop or a reboot never re-fetches a completed block.

import { decode, encode, CborError, type CborValue } from '../cbor/index';
import { OtaError } from './reasons';

export const OTA_TOPICS = { offer: 'offer', request: 'req', block: 'block', status: 'status' } as const;
export const ID_LENGTH = 8;
export const MAX_BITMAP = 128;

export type TransferState =
  | 'refused' // offer failed verification or policy: reason says why; nothing was written
  | 'receiving'
  | 'installing' // whole-image check and boot switch
  | 'rebooting'
  | 'self-test'
  | 'confirmed'
  | 'rolled-back'
  | 'failed'; // a flash or payload failure after writing began
const STATES: TransferState[] = ['refused', 'receiving', 'installing', 'rebooting', 'self-test', 'confirmed', 'rolled-back', 'failed'];

export interface Offer {
  envelope: Uint8Array;
  table: Uint8Array;
}
export interface BlockRequest {
  id: Uint8Array;
  first: number;
  bitmap: Uint8Array;
}
export interface Block {
  id: Uint8Array;
  index: number;
  data: Uint8Array;
}
export interface TransferStatus {
  id?: Uint8Array;
  state: TransferState;
  /** protocol/ota/reasons.ts code; 0 when nothing is wrong. */
  reason: number;
  done: number;
  total: number;
  seq: number;
  detail?: string;
}

function map(entries: [number, CborValue | undefined][]): Uint8Array {
  return encode(new Map<CborValue, CborValue>(entries.filter((e): e is [number, CborValue] => e[1] !== undefined)));
}

function read(bytes: Uint8Array, what: string, fields: Record<number, 'bytes' | 'uint' | 'text' | 'state'>, required: number[]): Map<CborValue, CborValue> {
  let v: CborValue;
  try {
    v = decode(bytes, { floats: false, maxDepth: 2 });
  } catch (e) {
    if (e instanceof CborError) throw new OtaError('cbor', `${what}: ${e.message}`);
    throw e;
  }
  if (!(v instanceof Map)) throw new OtaError('envelope', `${what} is not a map`);
  for (const [k, val] of v) {
    const kind = fields[k as number];
    if (kind === undefined) throw new OtaError('envelope', `${what} has unknown key ${String(k)}`);
    const ok =
      kind === 'bytes' ? val instanceof Uint8Array
      : kind === 'uint' ? typeof val === 'number' && Number.isSafeInteger(val) && val >= 0
      : kind === 'text' ? typeof val === 'string'
      : typeof val === 'string' && (STATES as string[]).includes(val);
    if (!ok) throw new OtaError('envelope', `${what} key ${String(k)} has the wrong type`);
  }
  for (const k of required) if (!v.has(k)) throw new OtaError('envelope', `${what} lacks key ${k}`);
  return v;
}

export function encodeOffer(o: Offer): Uint8Array {
  return map([[1, o.envelope], [2, o.table]]);
}
export function decodeOffer(b: Uint8Array): Offer {
  const m = read(b, 'offer', { 1: 'bytes', 2: 'bytes' }, [1, 2]);
  return { envelope: m.get(1) as Uint8Array, table: m.get(2) as Uint8Array };
}

export function encodeRequest(r: BlockRequest): Uint8Array {
  return map([[1, r.id], [2, r.first], [3, r.bitmap]]);
}
export function decodeRequest(b: Uint8Array): BlockRequest {
  const m = read(b, 'request', { 1: 'bytes', 2: 'uint', 3: 'bytes' }, [1, 2, 3]);
  const bitmap = m.get(3) as Uint8Array;
  if (bitmap.length > MAX_BITMAP) throw new OtaError('envelope', `request bitmap of ${bitmap.length} bytes exceeds ${MAX_BITMAP}`);
  return { id: m.get(1) as Uint8Array, first: m.get(2) as number, bitmap };
}

export function encodeBlock(b: Block): Uint8Array {
  return map([[1, b.id], [2, b.index], [3, b.data]]);
}
export function decodeBlock(b: Uint8Array): Block {
  const m = read(b, 'block', { 1: 'bytes', 2: 'uint', 3: 'bytes' }, [1, 2, 3]);
  return { id: m.get(1) as Uint8Array, index: m.get(2) as number, data: m.get(3) as Uint8Array };
}

export function encodeStatus(s: TransferStatus): Uint8Array {
  return map([[1, s.id], [2, s.state], [3, s.reason], [4, s.done], [5, s.total], [6, s.seq], [7, s.detail]]);
}
export function decodeStatus(b: Uint8Array): TransferStatus {
  const m = read(b, 'status', { 1: 'bytes', 2: 'state', 3: 'uint', 4: 'uint', 5: 'uint', 6: 'uint', 7: 'text' }, [2, 3, 4, 5, 6]);
  return {
    id: m.get(1) as Uint8Array | undefined,
    state: m.get(2) as TransferState,
    reason: m.get(3) as number,
    done: m.get(4) as number,
    total: m.get(5) as number,
    seq: m.get(6) as number,
    detail: m.get(7) as string | undefined,
  };
}

/** Block indexes a request asks for. */
export function requestedBlocks(r: BlockRequest): number[] {
  const out: number[] = [];
  for (let i = 0; i < r.bitmap.length * 8; i++) if (r.bitmap[i >> 3] & (1 << (i & 7))) out.push(r.first + i);
  return out;
}

/** A request for `blocks` (sorted, all within 8*MAX_BITMAP of the first). */
export function requestFor(id: Uint8Array, blocks: number[]): BlockRequest {
  const first = blocks[0];
  const span = blocks[blocks.length - 1] - first + 1;
  if (span > MAX_BITMAP * 8) throw new Error(`blocks span ${span}, more than one bitmap holds`);
  const bitmap = new Uint8Array(Math.ceil(span / 8));
  for (const i of blocks) bitmap[(i - first) >> 3] |= 1 << ((i - first) & 7);
  return { id, first, bitmap };
}
