// The session edge arms one platform timer for the session's deadline. The deadline moves with
// every packet sent (keepalive), and re-arming a platform timer for each packet was a large part of
// a simulated fleet's CPU (issue 12, item 5): a timer due no later than the new deadline is kept.
import { describe, expect, it } from 'vitest';
import { SessionEdge } from '../protocol/session/edge.ts';
import { Session } from '../protocol/session/session.ts';
import { encode } from '../protocol/mqtt/encode.ts';

describe('SessionEdge timers', () => {
  it('arms a handful of timers for 100 publishes, not one per packet, and still pings on time', () => {
    let now = 0;
    const timers = new Map<number, { at: number; fn: () => void }>();
    let next = 1;
    let armed = 0;
    const written: Uint8Array[] = [];
    const session = new Session({ clientId: 'edge', keepalive: 10 });
    const edge = new SessionEdge(session, {
      now: () => now,
      write: (bytes) => void written.push(...bytes),
      open: () => queueMicrotask(() => edge.connectionMade()),
      close: () => {},
      event: () => {},
      setTimer: (fn, ms) => {
        armed++;
        timers.set(next, { at: now + ms, fn });
        return next++;
      },
      clearTimer: (h) => void timers.delete(h as number),
    });
    const runTimersUntil = (t: number) => {
      for (;;) {
        const due = [...timers.entries()].filter(([, x]) => x.at <= t).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = t;
    };
    edge.start();
    return Promise.resolve().then(() => {
      edge.dataReceived(encode({ type: 'connack', sessionPresent: false, returnCode: 0 }));
      const before = armed;
      for (let i = 0; i < 100; i++) {
        now += 50;
        session.publish('t', Uint8Array.of(i), { qos: 0 }, now);
        edge.flush();
      }
      expect(armed - before).toBeLessThanOrEqual(2);
      // 10 s keepalive: with nothing sent for 10 s a PINGREQ goes out, a timer firing early or not.
      written.length = 0;
      runTimersUntil(now + 10_001);
      expect(written.some((b) => b[0] === 0xc0)).toBe(true);
    });
  });
});
