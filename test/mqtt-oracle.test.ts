// Our codec against mqtt-packet, both directions, for every packet type (fast-check).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { encode } from '../protocol/mqtt/encode.ts';
import { PacketParser } from '../protocol/mqtt/parser.ts';
import type { Packet } from '../protocol/mqtt/packets.ts';

const level = fc.array(fc.constantFrom('a', 'Z', '0', '_', '-', 'é', '€', '😀', '$'), { minLength: 1, maxLength: 8 }).map((c) => c.join(''));
const topicName = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
const topicFilter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'));
const id = fc.integer({ min: 1, max: 65535 });
const qos = fc.constantFrom(0 as const, 1 as const, 2 as const);
const bytes = fc.uint8Array({ maxLength: 300 });
const str = fc.string({ maxLength: 30, unit: 'grapheme' }).filter((s) => !s.includes('\u0000'));

const packetArb: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    type: fc.constant('connect' as const),
    clientId: str,
    cleanSession: fc.boolean(),
    keepalive: fc.integer({ min: 0, max: 65535 }),
    username: fc.option(str, { nil: undefined }),
    will: fc.option(fc.record({ topic: topicName, payload: bytes, qos, retain: fc.boolean() }), { nil: undefined }),
  }).filter((c) => c.clientId.length > 0 || c.cleanSession).chain((c) =>
    (c.username === undefined ? fc.constant(undefined) : fc.option(bytes, { nil: undefined })).map((password) => ({ ...c, password })),
  ),
  fc.record({ type: fc.constant('connack' as const), sessionPresent: fc.boolean(), returnCode: fc.integer({ min: 0, max: 5 }) }).map((c) =>
    c.returnCode ? { ...c, sessionPresent: false } : c,
  ),
  fc.record({ type: fc.constant('publish' as const), topic: topicName, payload: bytes, qos, retain: fc.boolean(), dup: fc.boolean(), packetId: id }).map(
    (p) => (p.qos === 0 ? { ...p, dup: false, packetId: undefined } : p),
  ),
  ...(['puback', 'pubrec', 'pubrel', 'pubcomp', 'unsuback'] as const).map((type) => fc.record({ type: fc.constant(type), packetId: id })),
  fc.record({ type: fc.constant('subscribe' as const), packetId: id, subscriptions: fc.array(fc.record({ topic: topicFilter, qos }), { minLength: 1, maxLength: 5 }) }),
  fc.record({ type: fc.constant('suback' as const), packetId: id, granted: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 5 }) }),
  fc.record({ type: fc.constant('unsubscribe' as const), packetId: id, topics: fc.array(topicFilter, { minLength: 1, maxLength: 5 }) }),
  ...(['pingreq', 'pingresp', 'disconnect'] as const).map((type) => fc.constant({ type })),
) as fc.Arbitrary<Packet>;

/** Our packet → mqtt-packet's object shape. */
function toOracle(p: Packet): Record<string, unknown> {
  const b = (u?: Uint8Array) => (u === undefined ? undefined : Buffer.from(u));
  switch (p.type) {
    case 'connect':
      return {
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: p.clientId, clean: p.cleanSession, keepalive: p.keepalive,
        username: p.username, password: b(p.password),
        will: p.will && { topic: p.will.topic, payload: b(p.will.payload), qos: p.will.qos, retain: p.will.retain },
      };
    case 'connack':
      return { cmd: 'connack', sessionPresent: p.sessionPresent, returnCode: p.returnCode };
    case 'publish':
      return { cmd: 'publish', topic: p.topic, payload: b(p.payload), qos: p.qos, retain: p.retain, dup: p.dup, messageId: p.packetId };
    case 'subscribe':
      return { cmd: 'subscribe', messageId: p.packetId, subscriptions: p.subscriptions };
    case 'suback':
      return { cmd: 'suback', messageId: p.packetId, granted: p.granted };
    case 'unsubscribe':
      return { cmd: 'unsubscribe', messageId: p.packetId, unsubscriptions: p.topics };
    case 'pingreq':
    case 'pingresp':
    case 'disconnect':
      return { cmd: p.type };
    default:
      return { cmd: p.type, messageId: p.packetId };
  }
}

/** The fields both sides define, from a packet mqtt-packet parsed. */
function fromOracle(o: Record<string, any>): Packet {
  const u = (x?: Buffer) => (x === undefined || x === null ? undefined : new Uint8Array(x));
  switch (o.cmd) {
    case 'connect': {
      const p: Packet = { type: 'connect', clientId: o.clientId, cleanSession: o.clean, keepalive: o.keepalive };
      if (o.username !== undefined) p.username = o.username;
      if (o.password !== undefined) p.password = u(o.password);
      if (o.will) p.will = { topic: o.will.topic, payload: u(o.will.payload) as Uint8Array, qos: o.will.qos, retain: o.will.retain };
      return p;
    }
    case 'connack':
      return { type: 'connack', sessionPresent: o.sessionPresent, returnCode: o.returnCode };
    case 'publish': {
      const p: Packet = { type: 'publish', topic: o.topic, payload: u(o.payload) as Uint8Array, qos: o.qos, retain: o.retain, dup: o.dup };
      if (o.qos > 0) p.packetId = o.messageId;
      return p;
    }
    case 'subscribe':
      return { type: 'subscribe', packetId: o.messageId, subscriptions: o.subscriptions.map((s: any) => ({ topic: s.topic, qos: s.qos })) };
    case 'suback':
      return { type: 'suback', packetId: o.messageId, granted: o.granted };
    case 'unsubscribe':
      return { type: 'unsubscribe', packetId: o.messageId, topics: o.unsubscriptions };
    case 'pingreq':
    case 'pingresp':
    case 'disconnect':
      return { type: o.cmd };
    default:
      return { type: o.cmd, packetId: o.messageId } as Packet;
  }
}

function normalize(p: Packet): Packet {
  const copy: Record<string, unknown> = { ...p };
  for (const k of Object.keys(copy)) if (copy[k] === undefined) delete copy[k];
  return copy as unknown as Packet;
}

function oracleParse(bytes: Uint8Array): Record<string, any>[] {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const out: Record<string, any>[] = [];
  parser.on('packet', (p) => out.push(p));
  parser.on('error', (e) => {
    throw e;
  });
  parser.parse(Buffer.from(bytes));
  return out;
}

describe('MQTT codec vs mqtt-packet', () => {
  it('what we encode, mqtt-packet parses to the same packet', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const parsed = oracleParse(encode(p));
        expect(parsed).toHaveLength(1);
        expect(normalize(fromOracle(parsed[0]))).toEqual(normalize(p));
      }),
      { numRuns: 1500 },
    );
  });

  it('what mqtt-packet generates, we parse to the same packet, in any fragmentation', () => {
    fc.assert(
      fc.property(packetArb, fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 8 }), (p, cuts) => {
        const wire = new Uint8Array(mqttPacket.generate(toOracle(p) as unknown as mqttPacket.Packet));
        expect(encode(p)).toEqual(wire);
        const parser = new PacketParser();
        const got: Packet[] = [];
        let i = 0;
        let k = 0;
        while (i < wire.length) {
          const n = cuts[k++ % cuts.length];
          got.push(...parser.push(wire.subarray(i, i + n)));
          i += n;
        }
        expect(got.map(normalize)).toEqual([normalize(p)]);
        expect(parser.buffered).toBe(0);
      }),
      { numRuns: 1500 },
    );
  });

  it('parses a stream of many packets fed one byte at a time', () => {
    const packets = fc.sample(packetArb, { numRuns: 200, seed: 42 });
    const wire = Buffer.concat(packets.map((p) => Buffer.from(encode(p))));
    const parser = new PacketParser();
    const got: Packet[] = [];
    for (const byte of wire) got.push(...parser.push(new Uint8Array([byte])));
    expect(got.map(normalize)).toEqual(packets.map(normalize));
  });
});
