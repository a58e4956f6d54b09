// MQTT 3.1.1 encoder: one exact-size allocation per packet. It refuses to write anything the
// parser on the other side would have to reject, naming the rule.
import { MqttProtocolError } from './packets';
import type { Packet, PublishPacket, QoS } from './packets';
import { validateTopicFilter, validateTopicName } from './topic-filter';
import { Utf8Error, utf8Length, utf8Write } from '../utf8';

const MAX_REMAINING = 268_435_455;

export function encode(packet: Packet): Uint8Array {
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet);
    case 'puback':
      return ack(0x40, packet.packetId);
    case 'pubrec':
      return ack(0x50, packet.packetId);
    case 'pubrel':
      return ack(0x62, packet.packetId);
    case 'pubcomp':
      return ack(0x70, packet.packetId);
    case 'unsuback':
      return ack(0xb0, packet.packetId);
    case 'pingreq':
      return new Uint8Array([0xc0, 0]);
    case 'pingresp':
      return new Uint8Array([0xd0, 0]);
    case 'disconnect':
      return new Uint8Array([0xe0, 0]);
    case 'connack':
      if (packet.returnCode < 0 || packet.returnCode > 255) throw new MqttProtocolError('connack-code', `CONNACK return code ${packet.returnCode} is not a byte`);
      if (packet.sessionPresent && packet.returnCode !== 0) {
        throw new MqttProtocolError('connack-session-present', 'session present must be 0 when the return code is not 0 (MQTT-3.2.2-4)');
      }
      return new Uint8Array([0x20, 2, packet.sessionPresent ? 1 : 0, packet.returnCode]);
    case 'connect':
      return encodeConnect(packet);
    case 'subscribe': {
      checkId(packet.packetId);
      if (packet.subscriptions.length === 0) throw new MqttProtocolError('subscribe-empty', 'SUBSCRIBE needs at least one filter (MQTT-3.8.3-3)');
      let len = 2;
      const sizes = packet.subscriptions.map((s) => {
        validateTopicFilter(s.topic);
        checkQos(s.qos);
        const n = strLength(s.topic);
        len += 2 + n + 1;
        return n;
      });
      const { out, o: start } = header(0x82, len);
      let o = writeU16(out, start, packet.packetId);
      packet.subscriptions.forEach((s, i) => {
        o = writeStr(out, o, s.topic, sizes[i]);
        out[o++] = s.qos;
      });
      return out;
    }
    case 'suback': {
      checkId(packet.packetId);
      for (const g of packet.granted) {
        if (g !== 0 && g !== 1 && g !== 2 && g !== 0x80) throw new MqttProtocolError('suback-code', `SUBACK return code ${g} is not 0, 1, 2 or 0x80`);
      }
      const { out, o } = header(0x90, 2 + packet.granted.length);
      const p = writeU16(out, o, packet.packetId);
      out.set(packet.granted, p);
      return out;
    }
    case 'unsubscribe': {
      checkId(packet.packetId);
      if (packet.topics.length === 0) throw new MqttProtocolError('unsubscribe-empty', 'UNSUBSCRIBE needs at least one filter (MQTT-3.10.3-2)');
      let len = 2;
      const sizes = packet.topics.map((t) => {
        validateTopicFilter(t);
        const n = strLength(t);
        len += 2 + n;
        return n;
      });
      const { out, o: start } = header(0xa2, len);
      let o = writeU16(out, start, packet.packetId);
      packet.topics.forEach((t, i) => (o = writeStr(out, o, t, sizes[i])));
      return out;
    }
  }
}

function encodePublish(p: PublishPacket): Uint8Array {
  validateTopicName(p.topic);
  checkQos(p.qos);
  if (p.qos === 0 && p.dup) throw new MqttProtocolError('dup-qos0', 'DUP must be 0 on a QoS 0 PUBLISH (MQTT-3.3.1-2)');
  if (p.qos > 0) checkId(p.packetId);
  const topicLen = strLength(p.topic);
  const len = 2 + topicLen + (p.qos > 0 ? 2 : 0) + p.payload.length;
  const { out, o: start } = header(0x30 | (p.dup ? 8 : 0) | (p.qos << 1) | (p.retain ? 1 : 0), len);
  let o = writeStr(out, start, p.topic, topicLen);
  if (p.qos > 0) o = writeU16(out, o, p.packetId as number);
  out.set(p.payload, o);
  return out;
}

function encodeConnect(p: Extract<Packet, { type: 'connect' }>): Uint8Array {
  if (!(p.keepalive >= 0 && p.keepalive <= 65535) || !Number.isInteger(p.keepalive)) {
    throw new MqttProtocolError('keepalive', `keepalive ${p.keepalive} is not 0..65535 seconds`);
  }
  if (p.password !== undefined && p.username === undefined) {
    throw new MqttProtocolError('password-without-username', 'a password needs a user name (MQTT-3.1.2-22)');
  }
  if (p.clientId.length === 0 && !p.cleanSession) {
    throw new MqttProtocolError('client-id-empty', 'an empty client id is allowed only with a clean session (MQTT-3.1.3-7): give a client id, or ask for a clean session');
  }
  const idLen = strLength(p.clientId);
  let len = 10 + 2 + idLen;
  let flags = p.cleanSession ? 2 : 0;
  let willTopicLen = 0;
  if (p.will) {
    validateTopicName(p.will.topic);
    checkQos(p.will.qos);
    willTopicLen = strLength(p.will.topic);
    len += 2 + willTopicLen + 2 + p.will.payload.length;
    if (p.will.payload.length > 65535) throw new MqttProtocolError('field-too-long', 'will payload longer than 65535 bytes');
    flags |= 4 | (p.will.qos << 3) | (p.will.retain ? 0x20 : 0);
  }
  let userLen = 0;
  if (p.username !== undefined) {
    userLen = strLength(p.username);
    len += 2 + userLen;
    flags |= 0x80;
  }
  if (p.password !== undefined) {
    if (p.password.length > 65535) throw new MqttProtocolError('field-too-long', 'password longer than 65535 bytes');
    len += 2 + p.password.length;
    flags |= 0x40;
  }
  const { out, o: start } = header(0x10, len);
  let o = start;
  out.set([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, flags], o);
  o += 8;
  o = writeU16(out, o, p.keepalive);
  o = writeStr(out, o, p.clientId, idLen);
  if (p.will) {
    o = writeStr(out, o, p.will.topic, willTopicLen);
    o = writeU16(out, o, p.will.payload.length);
    out.set(p.will.payload, o);
    o += p.will.payload.length;
  }
  if (p.username !== undefined) o = writeStr(out, o, p.username, userLen);
  if (p.password !== undefined) {
    o = writeU16(out, o, p.password.length);
    out.set(p.password, o);
  }
  return out;
}

function ack(first: number, packetId: number): Uint8Array {
  checkId(packetId);
  return new Uint8Array([first, 2, packetId >> 8, packetId & 0xff]);
}

function header(first: number, remaining: number): { out: Uint8Array; o: number } {
  if (remaining > MAX_REMAINING) throw new MqttProtocolError('packet-too-large', `remaining length ${remaining} exceeds 268,435,455`);
  const lenBytes = remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4;
  const out = new Uint8Array(1 + lenBytes + remaining);
  out[0] = first;
  let o = 1;
  let x = remaining;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    out[o++] = b;
  } while (x > 0);
  return { out, o };
}

function checkId(id: number | undefined): void {
  if (id === undefined) throw new MqttProtocolError('packet-id-missing', 'packet id is required here');
  if (id === 0) throw new MqttProtocolError('packet-id-zero', 'packet id must not be 0 (MQTT-2.3.1-1)');
  if (!(id > 0 && id <= 65535) || !Number.isInteger(id)) throw new MqttProtocolError('packet-id-range', `packet id ${id} is not 1..65535`);
}

function checkQos(q: QoS): void {
  if (q !== 0 && q !== 1 && q !== 2) throw new MqttProtocolError('qos-invalid', `QoS ${String(q)} is not 0, 1 or 2`);
}

function strLength(s: string): number {
  let n: number;
  try {
    n = utf8Length(s);
  } catch (err) {
    throw new MqttProtocolError('utf8', (err as Utf8Error).message);
  }
  if (n > 65535) throw new MqttProtocolError('field-too-long', `string of ${n} bytes exceeds 65535`);
  if (s.indexOf('\u0000') >= 0) throw new MqttProtocolError('null-character', 'string contains U+0000 (MQTT-1.5.3-2)');
  return n;
}

function writeU16(out: Uint8Array, o: number, v: number): number {
  out[o] = v >> 8;
  out[o + 1] = v & 0xff;
  return o + 2;
}

function writeStr(out: Uint8Array, o: number, s: string, n: number): number {
  o = writeU16(out, o, n);
  return utf8Write(s, out, o);
}
