// The edge rule (device/app/edge-rule.ts), sans-I/O: fed values and clock times, it answers the
// output's state. Hysteresis, minimum on/off times, no-reading, and the command override.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EdgeRule } from '../device/app/edge-rule.ts';

describe('EdgeRule', () => {
  it('switches on at the on threshold and off only at the off threshold (hysteresis)', () => {
    const r = new EdgeRule({ field: 'temperature', when: 'above', on: 28, off: 26 });
    const states = [25, 27.9, 28, 27, 26.1, 26, 27, 28.5].map((v, i) => r.update(v, i * 1000));
    expect(states.map((d) => d.on)).toEqual([false, false, true, true, true, false, false, true]);
    expect(states.map((d) => d.changed)).toEqual([false, false, true, false, false, true, false, true]);
  });

  it('"below" is the heating rule: on at or under on, off at or over off', () => {
    const r = new EdgeRule({ field: 'temperature', when: 'below', on: 10, off: 12 });
    expect([11, 10, 11.9, 12, 9].map((v, i) => r.update(v, i).on)).toEqual([false, true, true, false, true]);
  });

  it('holds each state for its minimum time, then follows the value', () => {
    const r = new EdgeRule({ field: 't', when: 'above', on: 28, off: 26, minOnMs: 60_000, minOffMs: 30_000 });
    expect(r.update(30, 0)).toEqual({ on: true, changed: true, reason: 'rule' });
    expect(r.update(20, 59_999)).toEqual({ on: true, changed: false, reason: 'hold' });
    expect(r.update(20, 60_000)).toEqual({ on: false, changed: true, reason: 'rule' });
    expect(r.update(30, 89_999)).toEqual({ on: false, changed: false, reason: 'hold' });
    expect(r.update(30, 90_000)).toEqual({ on: true, changed: true, reason: 'rule' });
  });

  it('the first switch after boot is not held back (no minimum time before any switch)', () => {
    const r = new EdgeRule({ field: 't', when: 'above', on: 28, off: 26, minOffMs: 600_000 });
    expect(r.update(29, 5).changed).toBe(true);
  });

  it('no reading (null, NaN) changes nothing', () => {
    const r = new EdgeRule({ field: 't', when: 'above', on: 28, off: 26 });
    r.update(30, 0);
    expect(r.update(null, 1)).toEqual({ on: true, changed: false, reason: 'no-reading' });
    expect(r.update(Number.NaN, 2)).toEqual({ on: true, changed: false, reason: 'no-reading' });
  });

  it('a command overrides the rule until handed back', () => {
    const r = new EdgeRule({ field: 't', when: 'above', on: 28, off: 26, minOnMs: 60_000 });
    r.update(30, 0);
    // A person decides: no minimum time applies to the command.
    expect(r.override(false, 1)).toEqual({ on: false, changed: true, reason: 'manual' });
    expect(r.overridden).toBe(true);
    expect(r.update(35, 100_000)).toEqual({ on: false, changed: false, reason: 'manual' });
    expect(r.override(null, 100_001)).toEqual({ on: false, changed: false, reason: 'rule' });
    expect(r.update(35, 100_002)).toEqual({ on: true, changed: true, reason: 'rule' });
  });

  it('refuses a band the wrong way round', () => {
    expect(() => new EdgeRule({ field: 't', when: 'above', on: 26, off: 28 })).toThrow(/"above" needs on > off/);
    expect(() => new EdgeRule({ field: 't', when: 'below', on: 12, off: 10 })).toThrow(/"below" needs on < off/);
    expect(() => new EdgeRule({ field: 't', when: 'above', on: 28, off: 26, minOnMs: -1 })).toThrow(/minimum times/);
  });

  it('never switches more often than its minimum times allow, whatever the values', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 50, noNaN: true }), fc.integer({ min: 1, max: 20_000 })), { maxLength: 200 }), (steps) => {
        const r = new EdgeRule({ field: 't', when: 'above', on: 28, off: 26, minOnMs: 30_000, minOffMs: 10_000 });
        let now = 0;
        let last = -Infinity;
        let first = true;
        for (const [v, dt] of steps) {
          now += dt;
          const before = r.on;
          const d = r.update(v, now);
          if (d.changed) {
            if (!first) expect(now - last).toBeGreaterThanOrEqual(before ? 30_000 : 10_000);
            first = false;
            last = now;
            // Only across the band: on at >= 28, off at <= 26.
            expect(d.on ? v >= 28 : v <= 26).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
