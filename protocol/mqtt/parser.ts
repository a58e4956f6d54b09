// Incremental MQTT 3.1.1 parser: fed arbitrary fragments (one byte at a time works), returns the
// complete packets. Strict: every violation is an MqttProtocolError naming the rule, after which
// the parser stays failed (the connection must be closed). A declared length above
// maxPacketSize fails before the body is buffered, so a hostile peer cannot make it hoard bytes.
import { MqttProtocolError } from './packets';
import type { Packet, QoS, Subscription } from './packets';
import { validateTopicFilter, validateTopicName } from './topic-filter';
import { utf8Decode } from '../utf8';

export interface ParserOptions {
  /** Largest whole packet accepted, header included. */
  maxPacketSize?: number;
}

const EMPTY = new Uint8Array(0);

export class PacketParser {
  readonly maxPacketSize: number;
  /**
   * Reassembly buffer: bytes [0, len) are the start of a packet not yet complete. Sized for the
   * whole packet once its header is known, so a large packet in small pieces is copied in once
   * (repeated concatenation made a 4 MB message in 1,460-byte pieces cost 8 s of CPU).
   */
  private buf: Uint8Array = EMPTY;
  private len = 0;
  /** Size of the packet being reassembled, once its fixed header has arrived. */
  private want = 0;
  private failed: MqttProtocolError | undefined;

  constructor(options: ParserOptions = {}) {
    this.maxPacketSize = options.maxPacketSize ?? 268_435_460;
  }

  get buffered(): number {
    return this.len;
  }

  push(chunk: Uint8Array): Packet[] {
    if (this.failed) throw this.failed;
    const packets: Packet[] = [];
    try {
      let rest = chunk;
      if (this.len > 0) {
        // Finish the pending packet from the chunk's head (all of the chunk while its header is
        // still incomplete); whatever follows that packet is parsed from the chunk itself.
        const take = this.want > 0 ? Math.min(this.want - this.len, chunk.length) : chunk.length;
        this.append(chunk.subarray(0, take));
        rest = chunk.subarray(take);
        const pos = this.scan(this.buf, this.len, packets);
        if (pos < this.len) {
          // Still incomplete, so the chunk was used up. Bytes after a packet that completed here
          // came from this chunk: moving them costs at most its length.
          if (pos > 0) this.keep(this.buf.subarray(pos, this.len));
          return packets;
        }
        this.buf = EMPTY;
        this.len = 0;
      }
      const pos = this.scan(rest, rest.length, packets);
      if (pos < rest.length) this.keep(rest.subarray(pos));
    } catch (err) {
      this.buf = EMPTY;
      this.len = 0;
      if (err instanceof MqttProtocolError) this.failed = err;
      throw err;
    }
    return packets;
  }

  /**
   * Parses the complete packets in data[0, end) into `packets`; returns where the first
   * incomplete one starts, with its size in `want` once its header is there (0 before).
   */
  private scan(data: Uint8Array, end: number, packets: Packet[]): number {
    let pos = 0;
    this.want = 0;
    for (;;) {
      if (end - pos < 2) return pos;
      let remaining = 0;
      let mult = 1;
      let i = pos + 1;
      let complete = false;
      for (let n = 0; n < 4; n++, i++) {
        if (i >= end) break;
        const b = data[i];
        remaining += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
        if (n === 3) throw new MqttProtocolError('remaining-length-bytes', 'remaining length uses more than 4 bytes (MQTT-2.2.3)');
      }
      if (!complete) return pos;
      const total = i - pos + remaining;
      if (total > this.maxPacketSize) {
        throw new MqttProtocolError('packet-too-large', `packet of ${total} bytes exceeds the maximum of ${this.maxPacketSize}`);
      }
      if (end - pos < total) {
        this.want = total;
        return pos;
      }
      packets.push(parseBody(data[pos], data, i, i + remaining));
      pos += total;
    }
  }

  /** Starts a fresh buffer with the start of the next packet, sized for all of it when known. */
  private keep(start: Uint8Array): void {
    const buf = new Uint8Array(Math.max(start.length, this.want));
    buf.set(start);
    this.buf = buf;
    this.len = start.length;
  }

  private append(chunk: Uint8Array): void {
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      // The whole packet when its size is known; doubling while its header is still arriving.
      const grown = new Uint8Array(Math.max(need, this.want || 2 * this.buf.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len = need;
  }
}

const FLAGS_TWO = (1 << 6) | (1 << 8) | (1 << 10);

function parseBody(first: number, d: Uint8Array, start: number, end: number): Packet {
  const type = first >> 4;
  const flags = first & 0x0f;
  if (type === 0 || type === 15) throw new MqttProtocolError('packet-type-reserved', `packet type ${type} is reserved`);
  if (type !== 3) {
    const want = FLAGS_TWO & (1 << type) ? 2 : 0;
    if (flags !== want) throw new MqttProtocolError('reserved-flags', `fixed header flags 0x${flags.toString(16)} are invalid for packet type ${type} (MQTT-2.2.2-2)`);
  }
  const r = new Reader(d, start, end);
  switch (type) {
    case 3: {
      const qos = (flags >> 1) & 3;
      if (qos === 3) throw new MqttProtocolError('qos-invalid', 'PUBLISH with QoS 3 (MQTT-3.3.1-4)');
      const dup = (flags & 8) !== 0;
      if (dup && qos === 0) throw new MqttProtocolError('dup-qos0', 'DUP set on a QoS 0 PUBLISH (MQTT-3.3.1-2)');
      const topic = r.str();
      validateTopicName(topic);
      const packetId = qos > 0 ? r.id() : undefined;
      const payload = copy(d, r.o, end);
      const p: Packet = { type: 'publish', topic, payload, qos: qos as QoS, retain: (flags & 1) !== 0, dup };
      if (packetId !== undefined) p.packetId = packetId;
      return p;
    }
    case 4:
    case 5:
    case 6:
    case 7:
    case 11: {
      fixed(end - start, 2, type);
      const packetId = r.id();
      const name = ({ 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp', 11: 'unsuback' } as const)[type];
      return { type: name, packetId };
    }
    case 12:
    case 13:
    case 14:
      fixed(end - start, 0, type);
      return { type: type === 12 ? 'pingreq' : type === 13 ? 'pingresp' : 'disconnect' };
    case 2: {
      fixed(end - start, 2, type);
      const ackFlags = r.u8();
      if (ackFlags & 0xfe) throw new MqttProtocolError('connack-reserved', 'CONNACK acknowledge flags bits 7-1 must be 0 (MQTT-3.2.2-1)');
      const returnCode = r.u8();
      if (ackFlags && returnCode !== 0) throw new MqttProtocolError('connack-session-present', 'session present with a non-zero return code (MQTT-3.2.2-4)');
      return { type: 'connack', sessionPresent: ackFlags === 1, returnCode };
    }
    case 8: {
      const packetId = r.id();
      const subscriptions: Subscription[] = [];
      while (r.o < end) {
        const topic = r.str();
        validateTopicFilter(topic);
        const q = r.u8();
        if (q & 0xfc) throw new MqttProtocolError('subscribe-reserved', 'requested QoS byte has reserved bits set (MQTT-3.8.3-4)');
        if (q === 3) throw new MqttProtocolError('qos-invalid', 'SUBSCRIBE requests QoS 3 (MQTT-3.8.3-4)');
        subscriptions.push({ topic, qos: q as QoS });
      }
      if (subscriptions.length === 0) throw new MqttProtocolError('subscribe-empty', 'SUBSCRIBE with no filters (MQTT-3.8.3-3)');
      return { type: 'subscribe', packetId, subscriptions };
    }
    case 9: {
      const packetId = r.id();
      const granted: number[] = [];
      while (r.o < end) {
        const g = r.u8();
        if (g !== 0 && g !== 1 && g !== 2 && g !== 0x80) throw new MqttProtocolError('suback-code', `SUBACK return code 0x${g.toString(16)} is not 0, 1, 2 or 0x80 (MQTT-3.9.3-2)`);
        granted.push(g);
      }
      return { type: 'suback', packetId, granted };
    }
    case 10: {
      const packetId = r.id();
      const topics: string[] = [];
      while (r.o < end) {
        const t = r.str();
        validateTopicFilter(t);
        topics.push(t);
      }
      if (topics.length === 0) throw new MqttProtocolError('unsubscribe-empty', 'UNSUBSCRIBE with no filters (MQTT-3.10.3-2)');
      return { type: 'unsubscribe', packetId, topics };
    }
    default:
      return parseConnect(r, end);
  }
}

function parseConnect(r: Reader, end: number): Packet {
  const name = r.str();
  if (name !== 'MQTT') throw new MqttProtocolError('protocol-name', `protocol name "${name}" is not "MQTT" (MQTT-3.1.2-1)`);
  const level = r.u8();
  if (level !== 4) throw new MqttProtocolError('protocol-level', `protocol level ${level} is not 4 (MQTT-3.1.2-2)`);
  const flags = r.u8();
  if (flags & 1) throw new MqttProtocolError('connect-reserved', 'CONNECT reserved flag must be 0 (MQTT-3.1.2-3)');
  const hasWill = (flags & 4) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  if (!hasWill && (willQos !== 0 || willRetain)) throw new MqttProtocolError('will-flags', 'will QoS/retain set without the will flag (MQTT-3.1.2-11)');
  if (willQos === 3) throw new MqttProtocolError('qos-invalid', 'will QoS 3 (MQTT-3.1.2-14)');
  const hasUser = (flags & 0x80) !== 0;
  const hasPass = (flags & 0x40) !== 0;
  if (hasPass && !hasUser) throw new MqttProtocolError('password-without-username', 'password flag without user name flag (MQTT-3.1.2-22)');
  const keepalive = r.u16();
  const clientId = r.str();
  const p: Packet = { type: 'connect', clientId, cleanSession: (flags & 2) !== 0, keepalive };
  if (hasWill) {
    const topic = r.str();
    validateTopicName(topic);
    p.will = { topic, payload: r.bin(), qos: willQos as QoS, retain: willRetain };
  }
  if (hasUser) p.username = r.str();
  if (hasPass) p.password = r.bin();
  if (r.o !== end) throw new MqttProtocolError('trailing-bytes', `${end - r.o} unexpected bytes at the end of CONNECT`);
  return p;
}

function fixed(len: number, want: number, type: number): void {
  if (len !== want) throw new MqttProtocolError('remaining-length', `packet type ${type} must have remaining length ${want}, got ${len}`);
}

class Reader {
  constructor(
    readonly d: Uint8Array,
    public o: number,
    readonly end: number,
  ) {}

  need(n: number): void {
    if (this.o + n > this.end) throw new MqttProtocolError('malformed-length', 'a field runs past the end of the packet');
  }

  u8(): number {
    this.need(1);
    return this.d[this.o++];
  }

  u16(): number {
    this.need(2);
    const v = (this.d[this.o] << 8) | this.d[this.o + 1];
    this.o += 2;
    return v;
  }

  id(): number {
    const v = this.u16();
    if (v === 0) throw new MqttProtocolError('packet-id-zero', 'packet id 0 (MQTT-2.3.1-1)');
    return v;
  }

  str(): string {
    const n = this.u16();
    this.need(n);
    const start = this.o;
    this.o += n;
    let s: string;
    try {
      s = utf8Decode(this.d, start, start + n);
    } catch (err) {
      throw new MqttProtocolError('utf8', `invalid UTF-8 string: ${(err as Error).message} (MQTT-1.5.3-1)`);
    }
    if (s.indexOf('\u0000') >= 0) throw new MqttProtocolError('null-character', 'string contains U+0000 (MQTT-1.5.3-2)');
    return s;
  }

  bin(): Uint8Array {
    const n = this.u16();
    this.need(n);
    const b = copy(this.d, this.o, this.o + n);
    this.o += n;
    return b;
  }
}

/** A plain Uint8Array copy: a Node Buffer's slice() would be a view into the caller's chunk. */
function copy(d: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(d.subarray(start, end));
  return out;
}
