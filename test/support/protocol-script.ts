// A scripted MQTT exchange through the whole protocol core (session, codec, outbox, CBOR,
// telemetry, topics). Pure ES2022, so the same function runs on Node and, bundled, on XS; the
// two transcripts must be identical.
import { Session } from '../../protocol/session/session';
import { encode } from '../../protocol/mqtt/encode';
import { encodeSample, decodeSample } from '../../protocol/telemetry';
import { decodeCommand, encodeCommand } from '../../protocol/commands';
import { Topics } from '../../protocol/topics';
import { utf8Encode } from '../../protocol/utf8';

const hex = (b: Uint8Array) => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
};

export function protocolScript(): { writes: string[]; events: string[]; decoded: string } {
  const topics = new Topics('canopy');
  const s = new Session({ clientId: 'xs-dev', keepalive: 30, status: { topic: topics.status('xs-dev') }, random: () => 0.5 });
  const writes: string[] = [];
  const events: string[] = [];
  const drain = () => {
    const out = s.drain();
    for (const b of out.send) writes.push(hex(b));
    for (const e of out.events) events.push(JSON.stringify(e, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)));
  };
  const feed = (p: Parameters<typeof encode>[0], now: number) => {
    s.dataReceived(encode(p), now);
    drain();
  };
  s.start(0);
  s.connectionMade(1);
  drain();
  feed({ type: 'connack', sessionPresent: false, returnCode: 0 }, 10);
  const sample = { seq: 1, ts: 1700000000, temperature: -10.1, humidity: 45.2, lux: 300, motion: true, dhtErrors: 2 };
  s.publish(topics.telemetry('xs-dev'), encodeSample(sample), { qos: 1 }, 20);
  s.publish(topics.event('xs-dev', 'motion'), utf8Encode('m'), { qos: 2 }, 21);
  s.subscribe([{ topic: topics.commands('xs-dev'), qos: 2 }, { topic: 'denied/#', qos: 1 }], 22);
  drain();
  feed({ type: 'puback', packetId: 1 }, 30);
  feed({ type: 'puback', packetId: 2 }, 31);
  feed({ type: 'pubrec', packetId: 3 }, 32);
  feed({ type: 'pubcomp', packetId: 3 }, 33);
  feed({ type: 'suback', packetId: 4, granted: [2, 0x80] }, 34);
  const cmd = { type: 'publish' as const, topic: topics.commands('xs-dev'), payload: encodeCommand({ kind: 'set-interval', ms: 5000 }), qos: 2 as const, retain: false, dup: false, packetId: 9 };
  feed(cmd, 40);
  feed({ ...cmd, dup: true }, 41);
  feed({ type: 'pubrel', packetId: 9 }, 42);
  s.tick(30_040);
  drain();
  s.connectionLost(30_050, 'script drop');
  drain();
  return { writes, events, decoded: JSON.stringify([decodeSample(encodeSample(sample)), decodeCommand(cmd.payload)]) };
}
