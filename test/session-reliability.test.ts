// Regression tests for the session defects of issue 11 (items 1-3), each driven sans-I/O with
// virtual time: the Session is fed bytes and a clock, nothing sleeps.
import { describe, expect, it } from 'vitest';
import { Session, type SessionEvent, type SessionOptions } from '../protocol/session/session.ts';
import { PacketParser } from '../protocol/mqtt/parser.ts';
import { encode } from '../protocol/mqtt/encode.ts';
import { utf8Decode } from '../protocol/utf8.ts';
import { WireBroker } from './support/wire-broker.ts';

function setup(options: Partial<SessionOptions> = {}) {
  const session = new Session({ clientId: 'dev-1', keepalive: 10, random: () => 0.5, ...options });
  return new WireBroker(session);
}

/** Delay the session chose for its next attempt, from the connection-lost event. */
function reconnectDelay(b: WireBroker): number {
  const lost = b.takeEvents().filter((e): e is Extract<SessionEvent, { type: 'connection-lost' }> => e.type === 'connection-lost');
  expect(lost).toHaveLength(1);
  return lost[0].reconnectAt - b.now;
}

describe('issue 11.1: reconnect backoff resets only after a stable connection', () => {
  it('grows to the cap when every connection is accepted and then dropped at once', () => {
    const b = setup({ keepalive: 60, backoff: { baseMs: 500, capMs: 60_000 } });
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      b.connect();
      b.advance(100); // a takeover kicks us out shortly after CONNACK
      b.drop();
      delays.push(reconnectDelay(b));
    }
    // random() = 0.5, so each delay is half the ceiling: 500 · 2^n, capped at 60 s.
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('also grows when the broker closes the connection right after answering SUBSCRIBE and the birth', () => {
    const b = setup({ keepalive: 60, status: { topic: 's/dev-1' } });
    b.session.subscribe([{ topic: 'c/dev-1', qos: 1 }]);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      b.connect();
      for (const p of b.take()) {
        if (p.cmd === 'subscribe') b.send({ cmd: 'suback', messageId: p.messageId, granted: [1] });
        if (p.cmd === 'publish') b.send({ cmd: 'puback', messageId: p.messageId });
      }
      b.drop();
      delays.push(reconnectDelay(b));
    }
    expect(delays).toEqual([250, 500, 1000, 2000]);
  });

  it('starts again from the base after a connection that lasted a full keepalive interval', () => {
    const b = setup({ keepalive: 10 });
    for (let i = 0; i < 3; i++) {
      b.connect();
      b.drop();
      b.takeEvents();
    }
    b.connect();
    // Stay up for one keepalive interval, answering the ping.
    b.advance(10_000);
    expect(b.take()).toMatchObject([{ cmd: 'pingreq' }]);
    b.send({ cmd: 'pingresp' });
    b.advance(1);
    b.drop();
    expect(reconnectDelay(b)).toBe(250);
  });

  it('two sessions sharing a client id (a takeover) send few CONNECTs in 5 virtual seconds', () => {
    // A broker that, like mosquitto and aedes, accepts every CONNECT and closes the older
    // connection with the same client id.
    const mk = () => new Session({ clientId: 'twin', keepalive: 60, random: () => 0.5 });
    const sessions = [mk(), mk()];
    const up = [false, false];
    const parsers = [new PacketParser(), new PacketParser()];
    let connects = 0;
    let now = 0;
    const deadlines: (number | undefined)[] = [undefined, undefined];
    const apply = (i: number): void => {
      const out = sessions[i].drain();
      deadlines[i] = out.deadline;
      for (const chunk of out.send) {
        for (const p of parsers[i].push(chunk)) {
          if (p.type !== 'connect') continue;
          connects++;
          const other = 1 - i;
          if (up[other]) {
            up[other] = false;
            sessions[other].connectionLost(now, 'session taken over');
            apply(other);
          }
          up[i] = true;
          sessions[i].dataReceived(encode({ type: 'connack', sessionPresent: false, returnCode: 0 }), now);
          apply(i);
          return;
        }
      }
      if (out.open) {
        parsers[i] = new PacketParser();
        sessions[i].connectionMade(now);
        apply(i);
      }
    };
    sessions.forEach((s, i) => {
      s.start(now);
      apply(i);
    });
    while (true) {
      const next = Math.min(...deadlines.map((d) => d ?? Infinity));
      if (next > 5000) break;
      now = next;
      sessions.forEach((s, i) => {
        if (deadlines[i] !== undefined && (deadlines[i] as number) <= now) {
          s.tick(now);
          apply(i);
        }
      });
    }
    // Before the fix this was one CONNECT every 250 ms, 21 in 5 s; with the ceiling doubling
    // from 500 ms each twin makes 5 attempts (0, 0.25, 0.75, 1.75, 3.75 s after its first loss).
    expect(connects).toBeLessThanOrEqual(10);
  });
});

describe('issue 11.2: inbound QoS 2 ids do not outlive the session (MQTT-3.1.2-6)', () => {
  function messages(b: WireBroker): string[] {
    return b.takeEvents().flatMap((e) => (e.type === 'message' ? [utf8Decode(e.payload)] : []));
  }

  function trace(b: WireBroker): string[] {
    const seen: string[] = [];
    b.connect();
    b.send({ cmd: 'publish', topic: 'c/dev-1', payload: Buffer.from('first'), qos: 2, messageId: 1, retain: false, dup: false });
    expect(b.take()).toMatchObject([{ cmd: 'pubrec', messageId: 1 }]);
    seen.push(...messages(b));
    b.drop(); // the PUBREL is lost with the connection
    b.connect(false); // session present 0: the broker has no state for id 1 any more
    b.take();
    b.send({ cmd: 'publish', topic: 'c/dev-1', payload: Buffer.from('second'), qos: 2, messageId: 1, retain: false, dup: false });
    expect(b.take()).toMatchObject([{ cmd: 'pubrec', messageId: 1 }]);
    b.send({ cmd: 'pubrel', messageId: 1 });
    expect(b.take()).toMatchObject([{ cmd: 'pubcomp', messageId: 1 }]);
    seen.push(...messages(b));
    return seen;
  }

  it('delivers a new message reusing the id after a clean-session reconnect (the trace from the issue)', () => {
    expect(trace(setup({ cleanSession: true }))).toEqual(['first', 'second']);
  });

  it('delivers it too when a persistent session comes back with session present 0', () => {
    expect(trace(setup({ cleanSession: false }))).toEqual(['first', 'second']);
  });

  it('still suppresses the resend of an unreleased message when the session is present', () => {
    const b = setup({ cleanSession: false });
    b.connect();
    b.send({ cmd: 'publish', topic: 'c/dev-1', payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: false });
    b.take();
    b.drop();
    b.connect(true);
    b.take();
    b.send({ cmd: 'publish', topic: 'c/dev-1', payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: true });
    expect(b.take()).toMatchObject([{ cmd: 'pubrec', messageId: 7 }]);
    expect(messages(b)).toEqual(['once']);
  });
});

describe('issue 11.3: an empty client id needs a clean session', () => {
  it('is refused when the session is configured, with a message saying what to do', () => {
    expect(() => new Session({ clientId: '', cleanSession: false })).toThrow(/empty client id.*clean session \(MQTT-3\.1\.3-7\)/);
    expect(() => new Session({ clientId: '' })).toThrow(/empty client id/);
  });

  it('is accepted with a clean session (the broker assigns one)', () => {
    const b = setup({ clientId: '', cleanSession: true });
    expect(b.connect()).toMatchObject({ clientId: '', clean: true });
  });
});
