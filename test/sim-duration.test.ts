// A run's duration is device time counted from each device's own boot: XS devices boot in batches
// over seconds, and counted from the last boot the first ones published more samples than the rest.
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { ScaledClock } from '../host/xs/timers.ts';
import { Fleet } from '../sim/fleet.ts';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('fleet run duration', () => {
  it('every device runs the duration from its own boot, so a late booter publishes as many samples as an early one', async () => {
    const broker = await new EmbeddedBroker({ port: 0 }).start();
    cleanup.push(() => broker.stop());
    const clock = new ScaledClock(10); // 10 s of device time per real second
    cleanup.push(async () => clock.cancelAll());
    const samples = new Map<string, number>();
    const fleet = await Fleet.create({
      engine: 'node',
      groups: [{ count: 2, prefix: 'd', intervalMs: 1000, qos: 1, keepalive: 60, dhtErrorRate: 0, motionPerHour: 0 }],
      brokerUrl: broker.url,
      clock,
      seed: 1,
      epoch: 1_780_272_000,
      proxies: false,
      onDeviceEvent: (id, e) => e.type === 'sample' && samples.set(id, (samples.get(id) ?? 0) + 1),
    });
    cleanup.push(() => fleet.dispose());
    // The second device boots 15 s of device time after the first, as a later XS batch would.
    const late = fleet.members[1].device;
    const boot = late.boot.bind(late);
    late.boot = () => new Promise<void>((resolve) => clock.schedule(clock.now() + 15_000, () => boot().then(resolve)));
    await fleet.boot();
    await fleet.runFor(30_000);
    const [early, later] = fleet.members.map((m) => samples.get(m.id) ?? 0);
    expect(early).toBeGreaterThanOrEqual(20);
    // Counted from the last boot, the early device would have run 45 s and published ~15 more;
    // a few samples either way are real-time jitter on a loaded machine (one real ms = 10 device ms).
    expect(Math.abs(early - later)).toBeLessThanOrEqual(4);
    expect(fleet.members.every((m) => !m.device.running)).toBe(true);
  });
});
