import { describe, expect, it } from 'vitest';
import { Pir, PIR_BLOCKED_MS } from '../device/drivers/sensors/pir/pir.ts';
import { scriptedDigitalPins } from './support/scripted-io.ts';

const PIN = 27;

function setup(warmupMs?: number) {
  const pins = scriptedDigitalPins();
  let now = 0;
  const events: [boolean, number][] = [];
  const pir = new Pir({ sensor: { io: pins.io, pin: PIN }, warmupMs, clock: () => now, onMotion: (active, at) => events.push([active, at]) });
  return { pins, pir, events, at: (ms: number) => (now = ms) };
}

describe('Pir', () => {
  it('opens the pin pulled down with both edges', () => {
    const { pins } = setup();
    const o = pins.opened.get(PIN)!;
    expect(o.mode).toBe(pins.io.InputPullDown);
    expect(o.edge).toBe(pins.io.Rising | pins.io.Falling);
  });

  it('ignores the warm-up chatter, then reports motion start and end at edge time', () => {
    const { pins, pir, events, at } = setup();
    at(1_000); pins.set(PIN, 1);
    at(4_000); pins.set(PIN, 0);
    at(59_999); pins.set(PIN, 1);
    at(59_999.5); pins.set(PIN, 0);
    expect(events).toEqual([]);
    expect(pir.ignoredEdges).toBe(4);
    expect(pir.sample()).toEqual({ motion: false, warmedUp: false });

    at(60_000);
    expect(pir.sample()).toEqual({ motion: false, warmedUp: true });
    at(61_000); pins.set(PIN, 1);
    expect(pir.sample()).toEqual({ motion: true, warmedUp: true });
    at(64_000); pins.set(PIN, 0);
    expect(events).toEqual([[true, 61_000], [false, 64_000]]);
    expect(pir.sample().motion).toBe(false);
    expect(pir.blockedUntil).toBe(64_000 + PIR_BLOCKED_MS);
  });

  it('an output already high when warm-up ends is reported by the next sample()', () => {
    const { pins, pir, events, at } = setup(10_000);
    at(9_000); pins.set(PIN, 1);
    at(10_500);
    expect(pir.sample().motion).toBe(true);
    expect(events).toEqual([[true, 10_500]]);
  });

  it('retriggerable hold (jumper H): continuous movement is one event until the hold runs out', () => {
    // The sensor keeps its output high while detections keep restarting the hold: no edges reach us.
    const { pins, events, at } = setup(0);
    at(100); pins.set(PIN, 1);
    for (let t = 1_000; t < 20_000; t += 1_000) at(t); // movement every second, output stays high
    at(23_000); pins.set(PIN, 0); // 3 s hold after the last movement
    expect(events).toEqual([[true, 100], [false, 23_000]]);
  });

  it('non-retriggerable (jumper L): movement outlasting the hold is two events with the blocked gap between', () => {
    const { pins, pir, events, at } = setup(0);
    at(0); pins.set(PIN, 1);
    at(3_000); pins.set(PIN, 0);
    expect(pir.blockedUntil).toBe(5_500);
    // Movement between 3.0 s and 5.5 s is invisible: the sensor raises nothing. It rises again after.
    at(5_500); pins.set(PIN, 1);
    at(8_500); pins.set(PIN, 0);
    expect(events).toEqual([[true, 0], [false, 3_000], [true, 5_500], [false, 8_500]]);
  });

  it('coalesced edges: the level decides, so a doubled or merged edge does not invent an event', () => {
    const { pins, events, at } = setup(0);
    at(10); pins.set(PIN, 1);
    at(11); pins.fire(PIN); // a second callback for the same high level (bounce, coalescing)
    expect(events).toEqual([[true, 10]]);
    // Rise and fall before the callback runs: it sees low, and a start nobody saw is not reported.
    at(20); pins.set(PIN, 0);
    at(30_000); pins.set(PIN, 1, false); pins.set(PIN, 0, false);
    at(30_001); pins.fire(PIN);
    expect(events).toEqual([[true, 10], [false, 20]]);
    // A fall whose callback runs late is reported at the time it runs: the IO carries no timestamp.
    at(40_000); pins.set(PIN, 1);
    at(43_000); pins.set(PIN, 0, false);
    at(43_500); pins.fire(PIN);
    expect(events.slice(-2)).toEqual([[true, 40_000], [false, 43_500]]);
  });

  it('sample() catches up with a level whose callback has not run yet', () => {
    const { pins, pir, events, at } = setup(0);
    at(100); pins.set(PIN, 1, false);
    at(150);
    expect(pir.sample().motion).toBe(true);
    at(151); pins.fire(PIN); // the late callback finds nothing new
    expect(events).toEqual([[true, 150]]);
  });

  it('close() stops interrupts: later edges call nothing, sample() is a closed error', () => {
    const { pins, pir, events, at } = setup(0);
    at(5);
    pir.close();
    pins.set(PIN, 1);
    expect(events).toEqual([]);
    expect(() => pir.sample()).toThrow(expect.objectContaining({ reason: 'closed' }));
    // The pin is free again.
    expect(() => new Pir({ sensor: { io: pins.io, pin: PIN }, warmupMs: 0 }).close()).not.toThrow();
  });

  it('a pin that cannot be opened is an absent error naming it', () => {
    const pins = scriptedDigitalPins();
    expect(() => new Pir({ sensor: { io: pins.io, pin: 99 } })).toThrow('PIR digital input on pin 99 could not be opened: invalid pin');
    const first = new Pir({ sensor: { io: pins.io, pin: PIN } });
    expect(() => new Pir({ sensor: { io: pins.io, pin: PIN } })).toThrow(/pin 27 could not be opened: in use/);
    first.close();
  });

  it('a negative warm-up is a configuration error', () => {
    const pins = scriptedDigitalPins();
    expect(() => new Pir({ sensor: { io: pins.io, pin: PIN }, warmupMs: -1 })).toThrow('PIR warmupMs must be ≥ 0, not -1');
  });
});
