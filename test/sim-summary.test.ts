// The simulator's memory is bounded (issue 11, item 12): a run keeps per-device ranges and counters,
// not every observation, so what it holds does not grow with the number of messages.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAssertions } from '../sim/assertions.ts';
import type { Observation } from '../sim/observer.ts';
import { runSimulation } from '../sim/runner.ts';
import type { Scenario } from '../sim/scenario.ts';
import { RangeSet, RunSummary } from '../sim/summary.ts';
import { redact } from '../host/redact.ts';

const telemetry = (device: string, seq: number, at = 0): Observation => ({
  kind: 'telemetry',
  device,
  at,
  dup: false,
  sample: { seq, ts: 0, temperature: 20, humidity: 50, lux: null, motion: false, dhtErrors: 0 },
});

describe('RangeSet', () => {
  it('agrees with a plain Set on add, has, minus and and', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 300 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 300 }), (xs, ys) => {
        const a = new RangeSet();
        const b = new RangeSet();
        const sa = new Set<number>();
        const sb = new Set<number>();
        for (const x of xs) {
          expect(a.add(x)).toBe(!sa.has(x));
          sa.add(x);
        }
        for (const y of ys) (b.add(y), sb.add(y));
        for (let n = 0; n <= 200; n++) expect(a.has(n)).toBe(sa.has(n));
        expect(a.size).toBe(sa.size);
        const minus = [...sa].filter((x) => !sb.has(x)).sort((p, q) => p - q);
        expect(a.minus(b, 5)).toEqual({ count: minus.length, first: minus.slice(0, 5) });
        const both = [...sa].filter((x) => sb.has(x)).sort((p, q) => p - q);
        expect(a.and(b, 5)).toEqual({ count: both.length, first: both.slice(0, 5) });
      }),
    );
  });
});

describe('RunSummary', () => {
  function feed(messages: number): RunSummary {
    const s = new RunSummary();
    s.addPartition({ devices: ['d-1'], startMs: 1000, endMs: 2000 });
    for (let seq = 1; seq <= messages; seq++) {
      for (const d of ['d-1', 'd-2', 'd-3']) {
        s.produced(d, seq, 1);
        s.observe(telemetry(d, seq, seq * 1000));
        if (seq % 50 === 0) s.observe(telemetry(d, seq, seq * 1000)); // a redelivery now and then
        if (seq % 100 === 0) s.observe({ kind: 'status', device: d, at: seq * 1000, status: seq % 200 ? 'online' : 'offline', retained: false });
      }
    }
    return s;
  }

  it('holds as many entries after 100,000 messages per device as after 1,000', () => {
    const small = feed(1000);
    const large = feed(100_000);
    expect(large.devices.get('d-1')!.telemetry).toBeGreaterThan(100_000);
    // Redeliveries are kept as ranges too: one per redelivered seq here, the one part that grows.
    const withoutDups = (s: RunSummary) => s.retained() - [...s.devices.values()].reduce((n, t) => n + t.seenAgain.ranges, 0);
    expect(withoutDups(large)).toBe(withoutDups(small));
    expect(withoutDups(large)).toBeLessThan(30);
  });

  it('still names missing and duplicated samples, with the first few listed', () => {
    const s = new RunSummary();
    for (let seq = 1; seq <= 20; seq++) s.produced('d', seq, 2);
    for (let seq = 1; seq <= 20; seq++) if (seq !== 5 && seq !== 17) s.observe(telemetry('d', seq));
    s.observe(telemetry('d', 9));
    const [r] = checkAssertions([{ type: 'delivered' }], ['d'], s);
    expect(r.passed).toBe(false);
    expect(r.detail).toBe('d: 2 QoS 1/2 samples never arrived (seq 5, 17)\nd: 1 QoS 2 samples arrived more than once (seq 9)');
    expect(s.missing()).toBe(2);
  });

  it('checks status around a partition from the first status after each edge', () => {
    const s = new RunSummary();
    s.addPartition({ devices: ['d'], startMs: 10_000, endMs: 60_000 });
    s.observe({ kind: 'status', device: 'd', at: 5000, status: 'offline', retained: false }); // before: ignored
    s.observe({ kind: 'status', device: 'd', at: 40_000, status: 'offline', retained: false });
    s.observe({ kind: 'status', device: 'd', at: 61_000, status: 'online', retained: false });
    const [off, on] = checkAssertions([{ type: 'offline-after-partition', withinMs: 20_000 }, { type: 'online-after-partition', withinMs: 5000 }], ['d'], s);
    expect(off.passed).toBe(false);
    expect(off.detail).toContain('d: no "offline" within 20 s after the partition began at 10 s');
    expect(on.passed).toBe(true);
  });
});

describe('a whole run keeps a bounded summary', () => {
  const scenario = (minutes: number): Scenario => ({
    name: 'bounded',
    engine: 'node',
    seed: 3,
    durationMs: minutes * 60_000,
    epoch: 0,
    time: { kind: 'virtual' },
    groups: [{ count: 2, prefix: 'sim', intervalMs: 1000, qos: 1, keepalive: 30, dhtErrorRate: 0, motionPerHour: 0 }],
    faults: [],
    assertions: [{ type: 'delivered' }],
  });

  it('the runner and observer hold the same number of entries after 6× the messages', async () => {
    let streamed = 0;
    const short = await runSimulation({ scenario: scenario(2), brokerPort: 0, onObservation: () => streamed++ });
    const long = await runSimulation({ scenario: scenario(12), brokerPort: 0 });
    expect(short.passed && long.passed).toBe(true);
    expect(streamed).toBeGreaterThan(2 * 110);
    expect(long.summary.devices.get('sim-1')!.telemetry).toBeGreaterThan(6 * short.summary.devices.get('sim-1')!.telemetry - 20);
    expect(long.summary.retained()).toBe(short.summary.retained());
    expect(Object.keys(long)).not.toContain('observations');
  }, 120_000);
});

describe('redact', () => {
  it.each([
    ['mqtt://user:pw@host:1883', 'mqtt://user:***@host:1883'],
    ['broker=mqtts://a:b%40c@h', 'broker=mqtts://a:***@h'],
    ['mcconfig password=pw mqttPassword=x2 ssid=lab', 'mcconfig password=*** mqttPassword=*** ssid=lab'],
    ['{"mqttPassword":"x2","broker":"mqtt://u:p@h"}', '{"mqttPassword":"***","broker":"mqtt://u:***@h"}'],
    ['mqtt://user@host and mqtt://host:1883', 'mqtt://user@host and mqtt://host:1883'],
  ])('%s → %s', (input, output) => {
    expect(redact(input)).toBe(output);
  });
});
