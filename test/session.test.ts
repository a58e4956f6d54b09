import { describe, expect, it } from 'vitest';
import { Session, type SessionOptions } from '../protocol/session/session.ts';
import { MemoryStore, Outbox } from '../protocol/session/outbox.ts';
import { utf8Decode, utf8Encode } from '../protocol/utf8.ts';
import { WireBroker } from './support/wire-broker.ts';

const bytes = (s: string) => utf8Encode(s);
const text = (b: Uint8Array | Buffer) => utf8Decode(new Uint8Array(b));

function setup(options: Partial<SessionOptions> = {}) {
  const session = new Session({ clientId: 'dev-1', keepalive: 10, random: () => 0.5, ...options });
  return new WireBroker(session);
}

describe('Session: connect, will and birth', () => {
  it('sends CONNECT with the status will, then a retained "online" birth after CONNACK', () => {
    const b = setup({ status: { topic: 'canopy/dev-1/status' }, username: 'u', password: bytes('p') });
    const connect = b.connect();
    expect(connect).toMatchObject({ clientId: 'dev-1', clean: false, keepalive: 10, username: 'u' });
    expect(text(connect.password)).toBe('p');
    expect(connect.will).toMatchObject({ topic: 'canopy/dev-1/status', qos: 1, retain: true });
    expect(text(connect.will.payload)).toBe('offline');
    const [birth] = b.take();
    expect(birth).toMatchObject({ cmd: 'publish', topic: 'canopy/dev-1/status', retain: true, qos: 1 });
    expect(text(birth.payload)).toBe('online');
    expect(b.takeEvents()).toContainEqual({ type: 'connected', sessionPresent: false });
  });

  it('says "online" again after every reconnect, and drops a stale birth rather than resending it', () => {
    const b = setup({ status: { topic: 's/dev-1' } });
    b.connect();
    b.take();
    b.drop();
    b.connect(true);
    const sent = b.take();
    expect(sent.filter((p) => p.cmd === 'publish')).toHaveLength(1);
    expect(sent[0]).toMatchObject({ cmd: 'publish', topic: 's/dev-1', dup: false });
  });

  it('reports a refused CONNACK and backs off', () => {
    const b = setup();
    b.session.start(0);
    b.pump();
    b.session.connectionMade(0);
    b.pump();
    b.send({ cmd: 'connack', returnCode: 5, sessionPresent: false });
    const events = b.takeEvents();
    expect(events).toContainEqual({ type: 'connect-refused', returnCode: 5, reason: 'not authorized' });
    expect(b.session.state).toBe('waiting');
    expect(b.closes).toBe(1);
  });
});

describe('Session: publishing', () => {
  it('completes QoS 1 on PUBACK and QoS 2 on PUBCOMP, each delivered once', () => {
    const b = setup();
    b.connect();
    const id1 = b.session.publish('t/1', bytes('a'), { qos: 1 });
    const id2 = b.session.publish('t/2', bytes('b'), { qos: 2 });
    b.pump();
    const [p1, p2] = b.take();
    expect(p1).toMatchObject({ cmd: 'publish', qos: 1, topic: 't/1' });
    expect(p2).toMatchObject({ cmd: 'publish', qos: 2, topic: 't/2' });
    b.send({ cmd: 'puback', messageId: p1.messageId });
    b.send({ cmd: 'pubrec', messageId: p2.messageId });
    expect(b.take()).toMatchObject([{ cmd: 'pubrel', messageId: p2.messageId }]);
    b.send({ cmd: 'pubcomp', messageId: p2.messageId });
    const delivered = b.takeEvents().filter((e) => e.type === 'delivered');
    expect(delivered).toEqual([
      { type: 'delivered', id: id1, topic: 't/1', qos: 1 },
      { type: 'delivered', id: id2, topic: 't/2', qos: 2 },
    ]);
    expect(b.session.inflightCount).toBe(0);
  });

  it('keeps at most inflightWindow QoS>0 messages in flight and keeps order', () => {
    const b = setup({ inflightWindow: 2 });
    b.connect();
    for (let i = 0; i < 5; i++) b.session.publish('t', bytes(String(i)), { qos: 1 });
    b.pump();
    let sent = b.take();
    expect(sent.map((p) => text(p.payload))).toEqual(['0', '1']);
    b.send({ cmd: 'puback', messageId: sent[0].messageId });
    sent = b.take();
    expect(sent.map((p) => text(p.payload))).toEqual(['2']);
    expect(b.session.outbox.length).toBe(2);
  });

  it('never reuses a packet id that is in flight, wraps 65535 → 1 and never uses 0', () => {
    const b = setup({ inflightWindow: 8 });
    b.connect();
    b.session.publish('held', bytes('x'), { qos: 1 });
    b.pump();
    const held = b.take()[0].messageId as number;
    const seen = new Set<number>();
    let wrapped = false;
    let last: number = held;
    for (let i = 0; i < 70_000; i++) {
      b.session.publish('t', bytes('y'), { qos: 1 });
      b.pump();
      const [p] = b.take();
      const mid = p.messageId as number;
      expect(mid).not.toBe(held);
      expect(mid).toBeGreaterThan(0);
      if (mid < last) wrapped = true;
      last = mid;
      seen.add(mid);
      b.send({ cmd: 'puback', messageId: p.messageId });
    }
    expect(wrapped).toBe(true);
    expect(seen.has(held)).toBe(false);
  });

  it('rejects wildcard topics and QoS 3 with a clear error, queueing nothing', () => {
    const b = setup();
    expect(() => b.session.publish('a/+', bytes('x'))).toThrow(/wildcard/i);
    expect(() => b.session.publish('a', bytes('x'), { qos: 3 as 0 })).toThrow(/QoS/);
    expect(b.session.outbox.length).toBe(0);
  });
});

describe('Session: reconnect and retransmission', () => {
  it('resends unacknowledged PUBLISH with DUP and the same packet id', () => {
    const b = setup();
    b.connect();
    b.session.publish('t', bytes('m'), { qos: 1 });
    b.pump();
    const [first] = b.take();
    b.drop();
    expect(b.takeEvents().find((e) => e.type === 'connection-lost')).toBeTruthy();
    b.connect(true);
    const [again] = b.take();
    expect(again).toMatchObject({ cmd: 'publish', dup: true, messageId: first.messageId, topic: 't' });
  });

  // Resent whatever CONNACK's session flag says: after PUBREC the broker owns the message, and
  // aedes reports no session for a client that merely has no subscriptions.
  it.each([true, false])('resends PUBREL (not PUBLISH) for QoS 2 after PUBREC, session present: %s', (sessionPresent) => {
    const b = setup();
    b.connect();
    b.session.publish('t', bytes('m'), { qos: 2 });
    b.pump();
    const [p] = b.take();
    b.send({ cmd: 'pubrec', messageId: p.messageId });
    b.take();
    b.drop();
    b.connect(sessionPresent);
    expect(b.take()).toMatchObject([{ cmd: 'pubrel', messageId: p.messageId }]);
  });

  it('queues messages published while offline and sends them in order after CONNACK', () => {
    const b = setup();
    b.session.start(0);
    b.pump();
    for (let i = 0; i < 3; i++) b.session.publish('q', bytes(String(i)), { qos: i % 2 ? 1 : 0 });
    b.pump();
    expect(b.take()).toEqual([]);
    b.connect();
    expect(b.take().map((p) => text(p.payload))).toEqual(['0', '1', '2']);
  });

  it('backs off with full jitter, doubling the ceiling up to the cap', () => {
    const b = setup({ backoff: { baseMs: 100, capMs: 1000 }, random: () => 0.999 });
    b.session.start(0);
    b.pump();
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      b.session.connectionLost(b.now, 'refused');
      b.pump();
      delays.push(b.deadline! - b.now);
      b.toDeadline();
      expect(b.session.state).toBe('connecting');
    }
    expect(delays).toEqual([99, 199, 399, 799, 999, 999]);
  });

  it('a rebooted device resends its stored in-flight messages with DUP', () => {
    const store = new MemoryStore();
    const a = setup({ outbox: new Outbox({ store }) });
    a.connect();
    a.session.publish('t', bytes('persist me'), { qos: 1 });
    a.session.publish('t', bytes('q0 is not stored'), { qos: 0 });
    a.pump();
    const [p] = a.take();
    // Power cut: no connectionLost, a fresh Session over the same store.
    const b = setup({ outbox: new Outbox({ store }) });
    b.connect(false);
    const [again] = b.take();
    expect(again).toMatchObject({ cmd: 'publish', dup: true, messageId: p.messageId });
    expect(text(again.payload)).toBe('persist me');
    b.send({ cmd: 'puback', messageId: p.messageId });
    expect(store.load()).toEqual([]);
  });
});

describe('Session: inbound messages', () => {
  it('delivers a QoS 2 message once even when the broker resends it before PUBREL', () => {
    const b = setup();
    b.connect();
    const pub = { cmd: 'publish', topic: 'cmd', payload: Buffer.from('go'), qos: 2, messageId: 7, retain: false, dup: false };
    b.send(pub);
    b.send({ ...pub, dup: true });
    const messages = b.takeEvents().filter((e) => e.type === 'message');
    expect(messages).toHaveLength(1);
    expect(b.take()).toMatchObject([{ cmd: 'pubrec', messageId: 7 }, { cmd: 'pubrec', messageId: 7 }]);
    b.send({ cmd: 'pubrel', messageId: 7 });
    expect(b.take()).toMatchObject([{ cmd: 'pubcomp', messageId: 7 }]);
    // Released: the id may now carry a new message.
    b.send(pub);
    expect(b.takeEvents().filter((e) => e.type === 'message')).toHaveLength(1);
  });

  it('acknowledges QoS 1 with PUBACK', () => {
    const b = setup();
    b.connect();
    b.send({ cmd: 'publish', topic: 'x', payload: Buffer.from('1'), qos: 1, messageId: 3, retain: true, dup: false });
    expect(b.take()).toMatchObject([{ cmd: 'puback', messageId: 3 }]);
    expect(b.takeEvents().find((e) => e.type === 'message')).toMatchObject({ topic: 'x', qos: 1, retain: true });
  });

  it('treats bytes that break the protocol as a protocol error and reconnects', () => {
    const b = setup();
    b.connect();
    b.takeEvents();
    b.sendRaw(new Uint8Array([0x40, 0x02, 0x00, 0x00])); // PUBACK with packet id 0
    const events = b.takeEvents();
    expect(events[0]).toMatchObject({ type: 'protocol-error' });
    expect(events[1]).toMatchObject({ type: 'connection-lost' });
    expect(b.closes).toBe(1);
    expect(b.session.state).toBe('waiting');
  });
});

describe('Session: subscriptions', () => {
  it('reports granted QoS and SUBACK 0x80 failures per filter', () => {
    const b = setup();
    b.connect();
    b.session.subscribe([{ topic: 'a/#', qos: 2 }, { topic: 'b/+', qos: 1 }]);
    b.pump();
    const [sub] = b.take();
    expect(sub).toMatchObject({ cmd: 'subscribe', subscriptions: [{ topic: 'a/#', qos: 2 }, { topic: 'b/+', qos: 1 }] });
    b.send({ cmd: 'suback', messageId: sub.messageId, granted: [1, 0x80] });
    expect(b.takeEvents().filter((e) => e.type.startsWith('subscribe'))).toEqual([
      { type: 'subscribed', filter: 'a/#', requestedQos: 2, grantedQos: 1 },
      { type: 'subscribe-failed', filter: 'b/+', requestedQos: 1 },
    ]);
    expect([...b.session.subscriptions.desired.keys()]).toEqual(['a/#']);
  });

  it('resubscribes after a reconnect only when the broker has no session', () => {
    const b = setup();
    b.connect();
    b.session.subscribe([{ topic: 'c/#', qos: 1 }]);
    b.pump();
    const [sub] = b.take();
    b.send({ cmd: 'suback', messageId: sub.messageId, granted: [1] });
    b.drop();
    b.connect(true);
    expect(b.take()).toEqual([]);
    b.drop();
    b.connect(false);
    expect(b.take()).toMatchObject([{ cmd: 'subscribe', subscriptions: [{ topic: 'c/#', qos: 1 }] }]);
  });

  it('rejects an invalid filter', () => {
    const b = setup();
    expect(() => b.session.subscribe([{ topic: 'a/#/b', qos: 0 }])).toThrow();
  });
});

describe('Session: keepalive', () => {
  it('pings after a silent interval and stays up when PINGRESP comes', () => {
    const b = setup({ keepalive: 10 });
    b.connect();
    b.take();
    b.advance(10_000);
    expect(b.take()).toMatchObject([{ cmd: 'pingreq' }]);
    b.send({ cmd: 'pingresp' });
    b.advance(4_000);
    expect(b.session.state).toBe('connected');
  });

  it('declares the connection dead after 1.5 × keepalive without traffic', () => {
    const b = setup({ keepalive: 10 });
    b.connect();
    b.takeEvents();
    b.toDeadline(); // 10 s: PINGREQ
    b.toDeadline(); // 15 s: dead
    expect(b.now).toBe(15_000);
    const events = b.takeEvents();
    expect(events[0]).toEqual({ type: 'keepalive-timeout', silentMs: 15_000 });
    expect(b.session.state).toBe('waiting');
    expect(b.closes).toBe(1);
  });

  it('gives up on a broker that never answers CONNECT', () => {
    const b = setup({ connectTimeoutMs: 3000 });
    b.session.start(0);
    b.pump();
    b.session.connectionMade(0);
    b.pump();
    b.advance(3000);
    expect(b.takeEvents().at(-1)).toMatchObject({ type: 'connection-lost', reason: expect.stringMatching(/CONNACK/) });
  });
});

describe('Session: outbox bounds', () => {
  it('drops the oldest queued message when full and reports it', () => {
    const b = setup({ outbox: new Outbox({ maxMessages: 2 }) });
    const ids = [0, 1, 2].map((i) => b.session.publish('t', bytes(String(i)), { qos: 1 }));
    b.pump();
    expect(b.takeEvents()).toEqual([{ type: 'dropped', id: ids[0], topic: 't', reason: 'overflow' }]);
    expect(b.session.outbox.length).toBe(2);
  });

  it('keeps only the latest message per topic with that policy', () => {
    const b = setup({ outbox: new Outbox({ policy: 'latest-per-topic' }) });
    b.session.publish('a', bytes('1'), { qos: 1 });
    b.session.publish('b', bytes('1'), { qos: 1 });
    b.session.publish('a', bytes('2'), { qos: 1 });
    b.pump();
    expect(b.takeEvents().map((e) => e.type)).toEqual(['dropped']);
    b.connect();
    expect(b.take().map((p) => `${p.topic}=${text(p.payload)}`)).toEqual(['b=1', 'a=2']);
  });

  it('latest-per-topic follows messages leaving and rejoining the queue (take, unshift, overflow)', () => {
    const o = new Outbox({ policy: 'latest-per-topic', maxMessages: 3 });
    const msg = (topic: string, v: string) => ({ topic, payload: bytes(v), qos: 1 as const, retain: false });
    o.add(msg('a', '1'));
    const taken = o.take()!; // in flight: no longer queued, so a new 'a' supersedes nothing
    expect(o.add(msg('a', '2')).dropped).toEqual([]);
    o.unshift(taken); // put back: both 'a' are queued now, and the next 'a' supersedes both
    expect(o.add(msg('a', '3')).dropped.map((d) => d.reason)).toEqual(['superseded', 'superseded']);
    o.add(msg('b', '1'));
    o.add(msg('c', '1'));
    expect(o.add(msg('d', '1')).dropped.map((d) => `${d.message.topic}:${d.reason}`)).toEqual(['a:overflow']);
    expect(o.add(msg('a', '4')).dropped.map((d) => `${d.message.topic}:${d.reason}`)).toEqual(['b:overflow']); // the overflowed 'a' is gone
    const left: string[] = [];
    for (let m = o.take(); m; m = o.take()) left.push(`${m.topic}=${text(m.payload)}`);
    expect(left).toEqual(['c=1', 'd=1', 'a=4']);
    expect(o.bytes).toBe(0);
  });

  it('bounds by bytes too', () => {
    const outbox = new Outbox({ maxBytes: 100 });
    const b = setup({ outbox });
    for (let i = 0; i < 10; i++) b.session.publish('t', new Uint8Array(30), { qos: 1 });
    expect(outbox.bytes).toBeLessThanOrEqual(100);
    expect(() => b.session.publish('t', new Uint8Array(200), { qos: 1 })).toThrow(/exceeds the outbox limit/);
  });
});

describe('Session: clean disconnect', () => {
  it('announces "offline", waits for its PUBACK, then sends DISCONNECT and closes', () => {
    const b = setup({ status: { topic: 's' } });
    b.connect();
    b.take();
    b.session.disconnect(b.now);
    b.pump();
    const [offline] = b.take();
    expect(offline).toMatchObject({ cmd: 'publish', topic: 's', retain: true });
    expect(text(offline.payload)).toBe('offline');
    b.send({ cmd: 'puback', messageId: offline.messageId });
    expect(b.take()).toMatchObject([{ cmd: 'disconnect' }]);
    expect(b.session.state).toBe('closed');
    expect(b.takeEvents().at(-1)).toEqual({ type: 'closed' });
  });

  it('sends DISCONNECT at the drain timeout if acks never come', () => {
    const b = setup({ drainTimeoutMs: 500 });
    b.connect();
    b.session.publish('t', bytes('x'), { qos: 1 });
    b.session.disconnect(b.now);
    b.pump();
    b.take();
    b.advance(500);
    expect(b.take()).toMatchObject([{ cmd: 'disconnect' }]);
  });
});
