// MQTT: encode + parse a QoS 1 PUBLISH with a 24-byte payload (a telemetry sample), ours vs
// mqtt-packet, interleaved in the same run.
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

  return [
    row('mqtt: encode+parse QoS 1 PUBLISH, 24 B payload', both.ours, 'packets/s', 'mqtt-packet 9 generate+parse', both.reference),
    row('mqtt: encode QoS 1 PUBLISH', enc.ours, 'packets/s', 'mqtt-packet 9 generate', enc.reference),
    row('mqtt: parse QoS 1 PUBLISH', parse.ours, 'packets/s', 'mqtt-packet 9 parser', parse.reference),
  ];
}
