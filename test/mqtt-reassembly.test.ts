// Issue 11.4: inbound packets are refused at their header above the limit, and a large packet
// arriving in TCP-sized pieces is reassembled with linear work (counted in bytes copied, not
// timed; bench/mqtt.bench.ts has the timing rows).
import { SENSOR_NODE_TELEMETRY } from '../protocol/telemetry.ts';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Session, type SessionOptions } from '../protocol/session/session.ts';
import { PacketParser } from '../protocol/mqtt/parser.ts';
import { encode } from '../protocol/mqtt/encode.ts';
import { utf8Encode } from '../protocol/utf8.ts';
import { WireBroker } from './support/wire-broker.ts';
import { DEFAULTS, objectSource, resolveConfig } from '../device/config.ts';
import { DeviceApp } from '../device/app/device-app.ts';
import type { DevicePlatform } from '../device/platform/types.ts';
import { encodeBlock } from '../protocol/ota/transfer.ts';
import { Topics } from '../protocol/topics.ts';

const bytes = (s: string) => utf8Encode(s);

function setup(options: Partial<SessionOptions> = {}) {
  return new WireBroker(new Session({ clientId: 'dev-1', keepalive: 10, random: () => 0.5, ...options }));
}

describe('issue 11.4: inbound packet size and reassembly', () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuses an over-limit packet at its header, before any of its body arrives', () => {
    const b = setup({ maxPacketSize: 1024 });
    b.connect();
    b.takeEvents();
    // PUBLISH QoS 0 with remaining length 2000: 0x30, varint 2000 = 0xd0 0x0f. No body follows.
    b.sendRaw(new Uint8Array([0x30, 0xd0, 0x0f]));
    const events = b.takeEvents();
    expect(events[0]).toMatchObject({ type: 'protocol-error', rule: 'packet-too-large' });
    expect(events[1]).toMatchObject({ type: 'connection-lost' });
    expect(b.closes).toBe(1);
  });

  it('reassembles a 1 MB message from 1,460-byte pieces with a linear number of byte copies', () => {
    const size = 1 << 20;
    const packet = encode({ type: 'publish', topic: 'big', payload: new Uint8Array(size).fill(7), qos: 0, retain: false, dup: false });
    let copied = 0;
    const set = Uint8Array.prototype.set;
    vi.spyOn(Uint8Array.prototype, 'set').mockImplementation(function (this: Uint8Array, src: ArrayLike<number>, offset?: number) {
      copied += src.length;
      return set.call(this, src, offset);
    });
    const copyWithin = Uint8Array.prototype.copyWithin;
    vi.spyOn(Uint8Array.prototype, 'copyWithin').mockImplementation(function (this: Uint8Array, target: number, start: number, end?: number) {
      copied += (end ?? this.length) - start;
      return copyWithin.call(this, target, start, end);
    });
    const parser = new PacketParser();
    const got = [];
    for (let at = 0; at < packet.length; at += 1460) got.push(...parser.push(packet.subarray(at, at + 1460)));
    vi.restoreAllMocks();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: 'publish', topic: 'big' });
    expect((got[0] as { payload: Uint8Array }).payload.length).toBe(size);
    // One copy into the reassembly buffer and one into the payload (plus a header's worth).
    // Repeated concatenation copied ~size²/(2·1460) bytes: 756 MB here.
    expect(copied).toBeLessThanOrEqual(2 * packet.length + 1460);
  });

  it('keeps packets that follow a reassembled one in the same piece', () => {
    const big = encode({ type: 'publish', topic: 'a', payload: new Uint8Array(5000).fill(1), qos: 0, retain: false, dup: false });
    const small = encode({ type: 'publish', topic: 'b', payload: bytes('x'), qos: 1, retain: false, dup: false, packetId: 9 });
    const stream = new Uint8Array(big.length + 2 * small.length);
    stream.set(big, 0);
    stream.set(small, big.length);
    stream.set(small, big.length + small.length);
    for (const piece of [1, 7, 1460, 4999, 5020]) {
      const parser = new PacketParser();
      const got = [];
      for (let at = 0; at < stream.length; at += piece) got.push(...parser.push(stream.subarray(at, at + piece)));
      expect(got.map((p) => (p as { topic: string }).topic)).toEqual(['a', 'b', 'b']);
      expect(parser.buffered).toBe(0);
    }
  });

  it('gives the same packets however a stream of mixed sizes is cut', () => {
    const sizes = [0, 1, 126, 127, 128, 16_383, 16_384, 70_000];
    const parts = sizes.map((n, i) => encode({ type: 'publish', topic: `t/${i}`, payload: new Uint8Array(n).fill(i), qos: 1, retain: false, dup: false, packetId: i + 1 }));
    const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (stream.set(p, at), at + p.length), 0);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 12 }), (cuts) => {
        const parser = new PacketParser();
        const got = [];
        for (let at = 0, k = 0; at < stream.length; at += cuts[k++ % cuts.length]) got.push(...parser.push(stream.subarray(at, at + cuts[k % cuts.length])));
        expect(got.map((p) => (p as { payload: Uint8Array }).payload.length)).toEqual(sizes);
        expect(parser.buffered).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it("gives the device a default limit that admits the largest OTA block and refuses more at the header", () => {
    const config = resolveConfig(objectSource({ deviceId: 'dev-with-a-long-id-0123456789', broker: 'mqtt://10.0.0.2' }));
    expect(config.maxPacketSize).toBe(131_072 + 4096);
    expect(DEFAULTS.maxPacketSize).toBe(config.maxPacketSize);
    // Only what the constructor touches: the session is driven below without the app's link.
    const platform = { storage: { get: () => undefined, set: () => {}, delete: () => {} }, random: () => 0.5 } as unknown as DevicePlatform;
    const app = new DeviceApp({ platform, config, app: { telemetry: SENSOR_NODE_TELEMETRY, read: () => ({}) } });
    expect(app.session.maxPacketSize).toBe(config.maxPacketSize);

    const b = new WireBroker(app.session);
    b.connect();
    b.takeEvents();
    // The largest block the manifest allows (chunkSize <= 131,072), on the device's block topic.
    const topic = new Topics(config.topicPrefix).ota(config.deviceId, 'block');
    const block = encodeBlock({ id: new Uint8Array(8), index: 0xffff_ffff, data: new Uint8Array(131_072) });
    b.sendRaw(encode({ type: 'publish', topic, payload: block, qos: 1, retain: false, dup: false, packetId: 1 }));
    expect(b.takeEvents()).toMatchObject([{ type: 'message', topic }]);
    // 1 MB: refused from its 4-byte fixed header alone.
    b.sendRaw(new Uint8Array([0x30, 0x80, 0x80, 0x40]));
    expect(b.takeEvents()[0]).toMatchObject({ type: 'protocol-error', rule: 'packet-too-large' });
  });
});
