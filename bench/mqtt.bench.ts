// MQTT: encode + parse a QoS 1 PUBLISH with a 24-byte payload (a telemetry sample), ours vs
// mqtt-packet, interleaved in the same run; and reassembly of 1 MB and 4 MB messages arriving in
// 1,460-byte pieces (one TCP segment each), which was quadratic before issue 11.4.
import mqttPacket from 'mqtt-packet';
import { encode } from '../protocol/mqtt/encode.ts';
import { PacketParser } from '../protocol/mqtt/parser.ts';
import { compare, row, type BenchRow } from './harness.ts';

const BATCH = 1000;
const topic = 'canopy/dev-0001/telemetry';
const payload = new Uint8Array(24).fill(0xa5);
const bufPayload = Buffer.from(payload);

export default async function (): Promise<BenchRow[]> {
  let id = 1;
  const next = () => (id = id === 65535 ? 1 : id + 1);

  const ourParser = new PacketParser();
  const refParser = mqttPacket.parser({ protocolVersion: 4 });
  let refCount = 0;
  refParser.on('packet', () => refCount++);

  const oursRoundTrip = () => {
    for (let i = 0; i < BATCH; i++) {
      const b = encode({ type: 'publish', topic, payload, qos: 1, retain: false, dup: false, packetId: next() });
      if (ourParser.push(b).length !== 1) throw new Error('parse failed');
    }
  };
  const refRoundTrip = () => {
    for (let i = 0; i < BATCH; i++) {
      const b = mqttPacket.generate({ cmd: 'publish', topic, payload: bufPayload, qos: 1, retain: false, dup: false, messageId: next() });
      refParser.parse(b);
    }
  };
  const both = compare(oursRoundTrip, refRoundTrip, BATCH);

  const enc = compare(
    () => {
      for (let i = 0; i < BATCH; i++) encode({ type: 'publish', topic, payload, qos: 1, retain: false, dup: false, packetId: next() });
    },
    () => {
      for (let i = 0; i < BATCH; i++) mqttPacket.generate({ cmd: 'publish', topic, payload: bufPayload, qos: 1, retain: false, dup: false, messageId: next() });
    },
    BATCH,
  );

  // mqtt.js does not call generate to send: it calls writeToStream on its socket, which writes the
  // packet in pieces (fixed header, length, topic, id, payload) without concatenating them. Both
  // sides write into the same null sink; it has no cork(), so writeToStream skips its nextTick uncork.
  let sunk = 0;
  const sink = {
    write(chunk: Uint8Array | string) {
      sunk += chunk.length;
      return true;
    },
  };
  const send = compare(
    () => {
      for (let i = 0; i < BATCH; i++) sink.write(encode({ type: 'publish', topic, payload, qos: 1, retain: false, dup: false, packetId: next() }));
    },
    () => {
      for (let i = 0; i < BATCH; i++) mqttPacket.writeToStream({ cmd: 'publish', topic, payload: bufPayload, qos: 1, retain: false, dup: false, messageId: next() }, sink as never);
    },
    BATCH,
  );
  if (sunk === 0) throw new Error('nothing was sent');

  const wire = encode({ type: 'publish', topic, payload, qos: 1, retain: false, dup: false, packetId: 7 });
  const wireBuf = Buffer.from(wire);
  const parse = compare(
    () => {
      for (let i = 0; i < BATCH; i++) ourParser.push(wire);
    },
    () => {
      for (let i = 0; i < BATCH; i++) refParser.parse(wireBuf);
    },
    BATCH,
  );
  if (refCount === 0) throw new Error('reference parser produced nothing');

  const reassembly = [1, 4].map((mb) => {
    const big = encode({ type: 'publish', topic, payload: new Uint8Array(mb << 20), qos: 1, retain: false, dup: false, packetId: 9 });
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < big.length; at += 1460) pieces.push(big.subarray(at, at + 1460));
    const bufPieces = pieces.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length));
    const parser = new PacketParser();
    const before = refCount;
    const r = compare(
      () => {
        let n = 0;
        for (const p of pieces) n += parser.push(p).length;
        if (n !== 1) throw new Error('reassembly failed');
      },
      () => {
        for (const p of bufPieces) refParser.parse(p);
      },
      1,
      3,
    );
    if (refCount === before) throw new Error('reference parser reassembled nothing');
    return row(`mqtt: reassemble ${mb} MB PUBLISH from 1,460 B pieces`, r.ours * mb, 'MB/s', 'mqtt-packet 9 parser', r.reference * mb);
  });

  return [
    row('mqtt: encode+parse QoS 1 PUBLISH, 24 B payload', both.ours, 'packets/s', 'mqtt-packet 9 generate+parse', both.reference),
    row('mqtt: encode QoS 1 PUBLISH', enc.ours, 'packets/s', 'mqtt-packet 9 generate', enc.reference),
    row('mqtt: encode and write QoS 1 PUBLISH (send path)', send.ours, 'packets/s', "mqtt-packet 9 writeToStream (mqtt.js's send path)", send.reference),
    row('mqtt: parse QoS 1 PUBLISH', parse.ours, 'packets/s', 'mqtt-packet 9 parser', parse.reference),
    ...reassembly,
  ];
}
