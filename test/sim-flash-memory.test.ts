// A simulated device's flash holds its live outbox messages only (issue 11, item 12): it used to
// keep every record (three per QoS 1 sample) until 256 had piled up, one Uint8Array and
// ArrayBuffer each, which is what a heap snapshot diff of a long run showed growing.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../host/xs/timers.ts';
import { EmbeddedBroker } from '../host/broker.ts';
import { encodeRecord } from '../protocol/session/record.ts';
import { DeviceFlash } from '../sim/sim-device.ts';
import { Fleet } from '../sim/fleet.ts';
import { networkQuiet } from '../sim/runner.ts';
import { NetActivity } from '../host/device-socket.ts';

describe("a simulated device's flash", () => {
  it('holds as many outbox entries after 1,000 QoS 1 messages as there are messages unacknowledged', () => {
    const flash = new DeviceFlash();
    const store = flash.outboxStore();
    for (let id = 1; id <= 1000; id++) {
      const m = { id, topic: 'canopy/d/telemetry', payload: Uint8Array.of(1, 2, 3), qos: 1 as const, retain: false };
      store.put(m);
      store.put({ ...m, packetId: (id % 65535) + 1, phase: 'publish' });
      if (id > 2) store.delete(id - 2); // two in flight at any time
      expect(flash.held).toBeLessThanOrEqual(3);
    }
    expect(flash.held).toBe(2);
    expect(store.load().map((m) => m.id)).toEqual([999, 1000]);
  });

  it('takes the XS firmware records as bytes and gives the live set back as a log', () => {
    const flash = new DeviceFlash();
    const m = (id: number) => ({ id, topic: 't', payload: Uint8Array.of(id), qos: 1 as const, retain: false });
    flash.appendRecord(encodeRecord({ op: 'put', message: m(1) }));
    flash.appendRecord(new Uint8Array([...encodeRecord({ op: 'put', message: m(2) }), ...encodeRecord({ op: 'delete', id: 1 })]));
    expect(flash.held).toBe(1);
    const again = new DeviceFlash();
    again.appendRecord(flash.readLog());
    expect(again.outboxStore().load()).toEqual([m(2)]);
  });

  it('a device that published 200 samples on a broker holds at most its in-flight window', async () => {
    const broker = await new EmbeddedBroker({ port: 0 }).start();
    const clock = new VirtualClock(0);
    const activity = new NetActivity();
    const group = { count: 1, prefix: 'mem', intervalMs: 1000, qos: 1 as const, keepalive: 30, dhtErrorRate: 0, motionPerHour: 0 };
    const fleet = await Fleet.create({ engine: 'node', groups: [group], brokerUrl: broker.url, clock, seed: 1, epoch: 0, proxies: false, activity });
    try {
      await fleet.boot();
      for (let t = 0; t <= 200_000; t += 1000) {
        await networkQuiet(activity, 2, 250);
        await clock.advanceTo(t);
      }
      await networkQuiet(activity, 5, 1000);
      const device = fleet.members[0].device;
      expect((await device.stats()).samples).toBeGreaterThanOrEqual(200);
      expect(device.flash.held).toBeLessThanOrEqual(2);
    } finally {
      await fleet.dispose();
      await broker.stop();
    }
  });
});
