// The on-storage form of an outbox entry, shared by every OutboxStore that writes bytes (the
// Node file store, the firmware's flash ring in outbox-log.ts). An append-only log of these
// records survives a power cut mid-write: a torn tail fails its length or CRC and is discarded.
//
// record := u32 bodyLength, body, u32 crc32(body)           (all big-endian)
// body   := u8 op (1 put, 2 delete), u32 id, [put fields]
// put    := u8 flags (bits 0-1 qos, 2 retain, 3 pubrel phase, 4 has packet id),
//           u16 packetId, u16 topicLength, topic (UTF-8), u32 payloadLength, payload
import type { QoS } from '../mqtt/packets';
import { crc32 } from '../crc32';
import { utf8Decode, utf8Encode } from '../utf8';
import type { OutboundMessage } from './message';

export type StoreRecord = { op: 'put'; message: OutboundMessage } | { op: 'delete'; id: number };

export function encodeRecord(r: StoreRecord): Uint8Array {
  const topic = r.op === 'put' ? utf8Encode(r.message.topic) : new Uint8Array(0);
  const payload = r.op === 'put' ? r.message.payload : new Uint8Array(0);
  const bodyLength = r.op === 'put' ? 1 + 4 + 1 + 2 + 2 + topic.length + 4 + payload.length : 1 + 4;
  const out = new Uint8Array(4 + bodyLength + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, bodyLength);
  let o = 4;
  if (r.op === 'delete') {
    out[o++] = 2;
    view.setUint32(o, r.id);
    o += 4;
  } else {
    const m = r.message;
    out[o++] = 1;
    view.setUint32(o, m.id);
    o += 4;
    out[o++] = m.qos | (m.retain ? 4 : 0) | (m.phase === 'pubrel' ? 8 : 0) | (m.packetId !== undefined ? 16 : 0);
    view.setUint16(o, m.packetId ?? 0);
    o += 2;
    view.setUint16(o, topic.length);
    o += 2;
    out.set(topic, o);
    o += topic.length;
    view.setUint32(o, payload.length);
    o += 4;
    out.set(payload, o);
    o += payload.length;
  }
  view.setUint32(o, crc32(out.subarray(4, o)));
  return out;
}

/**
 * Decodes the records of a log in order. Stops at the first record that is truncated or fails its
 * CRC and reports how many bytes were good, so the store can cut (or skip past) the torn tail.
 */
export function decodeRecords(log: Uint8Array): { records: StoreRecord[]; sizes: number[]; goodBytes: number } {
  const records: StoreRecord[] = [];
  const sizes: number[] = [];
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength);
  let o = 0;
  while (o + 4 <= log.length) {
    const bodyLength = view.getUint32(o);
    if (bodyLength < 5 || o + 4 + bodyLength + 4 > log.length) break;
    const body = log.subarray(o + 4, o + 4 + bodyLength);
    if (view.getUint32(o + 4 + bodyLength) !== crc32(body)) break;
    const r = decodeBody(body);
    if (!r) break;
    records.push(r);
    sizes.push(4 + bodyLength + 4);
    o += 4 + bodyLength + 4;
  }
  return { records, sizes, goodBytes: o };
}

/** Replays a log into the live set of messages (see decodeRecords for the torn tail). */
export function replayLog(log: Uint8Array): { messages: OutboundMessage[]; goodBytes: number; records: number } {
  const { records, goodBytes } = decodeRecords(log);
  const live = new Map<number, OutboundMessage>();
  for (const r of records) {
    if (r.op === 'put') live.set(r.message.id, r.message);
    else live.delete(r.id);
  }
  return { messages: [...live.values()].sort((a, b) => a.id - b.id), goodBytes, records: records.length };
}

function decodeBody(b: Uint8Array): StoreRecord | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const op = b[0];
  const id = view.getUint32(1);
  if (op === 2) return b.length === 5 ? { op: 'delete', id } : undefined;
  if (op !== 1 || b.length < 14) return undefined;
  const flags = b[5];
  const qos = flags & 3;
  if (qos === 3) return undefined;
  const packetId = view.getUint16(6);
  const topicLength = view.getUint16(8);
  if (10 + topicLength + 4 > b.length) return undefined;
  const topic = utf8Decode(b, 10, 10 + topicLength);
  const payloadLength = view.getUint32(10 + topicLength);
  const start = 14 + topicLength;
  if (start + payloadLength !== b.length) return undefined;
  const message: OutboundMessage = { id, topic, payload: new Uint8Array(b.subarray(start)), qos: qos as QoS, retain: (flags & 4) !== 0 };
  if (flags & 16) {
    message.packetId = packetId;
    message.phase = flags & 8 ? 'pubrel' : 'publish';
  }
  return { op: 'put', message };
}
