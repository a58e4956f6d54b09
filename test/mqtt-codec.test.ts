// One test per validation rule: hand-built bytes in, the named rule out. Plus fuzz: random and
// mutated streams in random fragments give only MqttProtocolError, quickly, in bounded memory.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encode } from '../protocol/mqtt/encode.ts';
import { PacketParser } from '../protocol/mqtt/parser.ts';
import { MqttProtocolError, type Packet } from '../protocol/mqtt/packets.ts';
import { topicMatches, validateTopicFilter } from '../protocol/mqtt/topic-filter.ts';

const str = (s: string) => [0, s.length, ...Buffer.from(s)];

function ruleOf(bytes: number[], options?: { maxPacketSize?: number }): string {
  try {
    new PacketParser(options).push(new Uint8Array(bytes));
  } catch (err) {
    if (err instanceof MqttProtocolError) return err.rule;
    throw err;
  }
  return 'accepted';
}

describe('parser rules', () => {
  const cases: [string, number[], string][] = [
    ['reserved flags on PUBACK', [0x41, 2, 0, 1], 'reserved-flags'],
    ['PUBREL without its 0b0010 flags', [0x60, 2, 0, 1], 'reserved-flags'],
    ['SUBSCRIBE without its 0b0010 flags', [0x80, 6, 0, 1, ...str('a'), 0], 'reserved-flags'],
    ['packet type 0', [0x00, 0], 'packet-type-reserved'],
    ['packet type 15', [0xf0, 0], 'packet-type-reserved'],
    ['remaining length in 5 bytes', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], 'remaining-length-bytes'],
    ['PUBACK of length 3', [0x40, 3, 0, 1, 0], 'remaining-length'],
    ['PINGREQ with a body', [0xc0, 1, 0], 'remaining-length'],
    ['packet id 0 in PUBACK', [0x40, 2, 0, 0], 'packet-id-zero'],
    ['packet id 0 in a QoS 1 PUBLISH', [0x32, 5, ...str('a'), 0, 0], 'packet-id-zero'],
    ['QoS 3 PUBLISH', [0x36, 5, ...str('a'), 0, 1], 'qos-invalid'],
    ['DUP on QoS 0', [0x38, 3, ...str('a')], 'dup-qos0'],
    ['wildcard in a PUBLISH topic', [0x30, 5, ...str('a/+')], 'publish-topic-wildcard'],
    ['empty PUBLISH topic', [0x30, 2, 0, 0], 'topic-empty'],
    ['invalid UTF-8 in a topic', [0x30, 4, 0, 2, 0xc3, 0x28], 'utf8'],
    ['overlong UTF-8', [0x30, 4, 0, 2, 0xc0, 0xaf], 'utf8'],
    ['U+0000 in a topic', [0x30, 4, 0, 2, 0x61, 0x00], 'null-character'],
    ['string past the packet end', [0x30, 3, 0, 9, 0x61], 'malformed-length'],
    ['SUBSCRIBE with no filters', [0x82, 2, 0, 1], 'subscribe-empty'],
    ['SUBSCRIBE QoS 3', [0x82, 6, 0, 1, ...str('a'), 3], 'qos-invalid'],
    ['SUBSCRIBE reserved QoS bits', [0x82, 6, 0, 1, ...str('a'), 0x04], 'subscribe-reserved'],
    ['SUBSCRIBE bad filter', [0x82, 8, 0, 1, ...str('a#b'), 0], 'topic-filter-hash'],
    ['UNSUBSCRIBE with no filters', [0xa2, 2, 0, 1], 'unsubscribe-empty'],
    ['SUBACK code 3', [0x90, 3, 0, 1, 3], 'suback-code'],
    ['CONNACK reserved ack bits', [0x20, 2, 2, 0], 'connack-reserved'],
    ['CONNACK session present with a refusal', [0x20, 2, 1, 5], 'connack-session-present'],
    ['CONNECT protocol name', [0x10, 13, ...str('MQIsdp'), 4, 2, 0, 10, 0, 0], 'protocol-name'],
    ['CONNECT protocol level 5', [0x10, 12, ...str('MQTT'), 5, 2, 0, 10, 0, 0], 'protocol-level'],
    ['CONNECT reserved flag', [0x10, 12, ...str('MQTT'), 4, 3, 0, 10, 0, 0], 'connect-reserved'],
    ['will QoS without will flag', [0x10, 12, ...str('MQTT'), 4, 0x0a, 0, 10, 0, 0], 'will-flags'],
    ['password without user name', [0x10, 14, ...str('MQTT'), 4, 0x42, 0, 10, 0, 0, 0, 0], 'password-without-username'],
    ['CONNECT trailing bytes', [0x10, 13, ...str('MQTT'), 4, 2, 0, 10, 0, 0, 9], 'trailing-bytes'],
  ];
  it.each(cases)('%s → %s', (_name, bytes, rule) => {
    expect(ruleOf(bytes)).toBe(rule);
  });

  it('refuses a packet over the configured maximum as soon as its header arrives', () => {
    const p = new PacketParser({ maxPacketSize: 100 });
    expect(() => p.push(new Uint8Array([0x30, 0xc8, 0x01]))).toThrow(/packet-too-large/);
    expect(p.buffered).toBe(0);
  });

  it('stays failed after an error', () => {
    const p = new PacketParser();
    expect(() => p.push(new Uint8Array([0x40, 2, 0, 0]))).toThrow(MqttProtocolError);
    expect(() => p.push(new Uint8Array([0xd0, 0]))).toThrow(/packet-id-zero/);
  });

  it('parses SUBACK 0x80 (the session turns it into an event)', () => {
    expect(new PacketParser().push(new Uint8Array([0x90, 4, 0, 9, 1, 0x80]))).toEqual([{ type: 'suback', packetId: 9, granted: [1, 0x80] }]);
  });

  it('matches the spec example bytes for PINGREQ and a QoS 1 PUBLISH', () => {
    expect(encode({ type: 'pingreq' })).toEqual(new Uint8Array([0xc0, 0]));
    expect(encode({ type: 'publish', topic: 'a/b', payload: new Uint8Array([1]), qos: 1, retain: true, dup: false, packetId: 10 })).toEqual(
      new Uint8Array([0x33, 8, 0, 3, 0x61, 0x2f, 0x62, 0, 10, 1]),
    );
  });
});

describe('encoder rules', () => {
  const bad: [string, Packet, string][] = [
    ['packet id 0', { type: 'puback', packetId: 0 }, 'packet-id-zero'],
    ['missing packet id', { type: 'publish', topic: 't', payload: new Uint8Array(), qos: 1, retain: false, dup: false }, 'packet-id-missing'],
    ['QoS 3', { type: 'publish', topic: 't', payload: new Uint8Array(), qos: 3 as 0, retain: false, dup: false }, 'qos-invalid'],
    ['wildcard topic', { type: 'publish', topic: 't/#', payload: new Uint8Array(), qos: 0, retain: false, dup: false }, 'publish-topic-wildcard'],
    ['DUP on QoS 0', { type: 'publish', topic: 't', payload: new Uint8Array(), qos: 0, retain: false, dup: true }, 'dup-qos0'],
    ['U+0000', { type: 'publish', topic: 'a\u0000', payload: new Uint8Array(), qos: 0, retain: false, dup: false }, 'null-character'],
    ['lone surrogate', { type: 'unsubscribe', packetId: 1, topics: ['\ud800'] }, 'utf8'],
    ['empty SUBSCRIBE', { type: 'subscribe', packetId: 1, subscriptions: [] }, 'subscribe-empty'],
    ['password without user', { type: 'connect', clientId: 'c', cleanSession: true, keepalive: 0, password: new Uint8Array(1) }, 'password-without-username'],
    ['long string', { type: 'unsubscribe', packetId: 1, topics: ['x'.repeat(65536)] }, 'field-too-long'],
  ];
  it.each(bad)('%s → %s', (_name, packet, rule) => {
    expect(() => encode(packet)).toThrow(expect.objectContaining({ rule }));
  });
});

describe('topic filters', () => {
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['+', 'a/b', false],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['a/+', 'a/', true],
  ])('%s matches %s: %s', (f, t, want) => {
    expect(topicMatches(f, t)).toBe(want);
  });
  it('rejects misplaced wildcards', () => {
    for (const f of ['a/#/b', 'a#', 'a+/b', '']) expect(() => validateTopicFilter(f)).toThrow(MqttProtocolError);
  });
});

describe('parser fuzz', () => {
  const valid = encode({ type: 'publish', topic: 'canopy/dev/telemetry', payload: new Uint8Array(24).fill(7), qos: 1, retain: false, dup: false, packetId: 5 });
  const feed = (stream: Uint8Array, cuts: number[], max: number) => {
    const p = new PacketParser({ maxPacketSize: max });
    let i = 0;
    let k = 0;
    try {
      while (i < stream.length) {
        const n = cuts[k++ % cuts.length];
        p.push(stream.subarray(i, i + n));
        expect(p.buffered).toBeLessThanOrEqual(max);
        i += n;
      }
    } catch (err) {
      if (!(err instanceof MqttProtocolError)) throw err;
    }
  };

  it('random bytes in random fragments give only MqttProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }), (bytes, cuts) => feed(bytes, cuts, 1024)),
      { numRuns: 3000 },
    );
  });

  it('mutated valid streams (flips, truncation, splices) give only MqttProtocolError', () => {
    const stream = new Uint8Array(Array.from({ length: 20 }, () => [...valid]).flat());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(stream.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(stream.length),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
        (flips, cut, cuts) => {
          const s = stream.slice(0, Math.max(1, cut));
          for (const [i, v] of flips) if (i < s.length) s[i] = v;
          feed(s, cuts, 512);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a header claiming 256 MB fails at once without buffering it', () => {
    const p = new PacketParser({ maxPacketSize: 4096 });
    expect(() => p.push(new Uint8Array([0x30, 0xff, 0xff, 0xff, 0x7f]))).toThrow(/packet-too-large/);
  });
});
