// Item 15.1 on both simulator engines: the same DeviceApp on XS (@agoric/xsnap, the firmware's
// modules) and on V8 publishes its retained info record on every connect and its health record
// on the health interval, against a real mosquitto; the reset reason tells a power cut from a
// restart the device asked for.
import { describe, expect, it } from 'vitest';
import { XsDevice } from '../sim/xs-device.ts';
import { DeviceFlash, type SimDevice } from '../sim/sim-device.ts';
import { NodeDevice } from '../sim/node-device.ts';
import { decodeHealth, decodeInfo, type DeviceInfo } from '../protocol/info.ts';
import { SAMPLE_SCHEMA } from '../protocol/telemetry.ts';
import { encodeCommand } from '../protocol/commands.ts';
import { Topics } from '../protocol/topics.ts';
import type { SessionEvent } from '../protocol/session/session.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { TestClient } from './support/clients.ts';
import { observedFleet } from './support/observed-fleet.ts';
import { deviceBundle } from './support/device-bundle.ts';

const topics = new Topics('canopy');
const sensors = { climate: () => ({ temperature: 21.5, humidity: 40, errors: 0 }), light: () => 300, motion: () => false };

type Message = Extract<SessionEvent, { type: 'message' }>;
function messages(client: TestClient, topic: string): Message[] {
  return client.events.filter((e): e is Message => e.type === 'message' && e.topic === topic);
}

const engines = [
  { engine: 'xs', make: async (options: ConstructorParameters<typeof NodeDevice>[0]): Promise<SimDevice> => new XsDevice({ ...options, code: (await deviceBundle()).code }) },
  { engine: 'node', make: async (options: ConstructorParameters<typeof NodeDevice>[0]): Promise<SimDevice> => new NodeDevice(options) },
];

describe.each(engines)('info and health on the $engine engine', ({ engine, make }) => {
  const broker = new Mosquitto();
  const fleet = observedFleet<SimDevice>(broker, () => broker.dispose(), `observer-${engine}`);
  const { clock, devices } = fleet;

  async function boot(deviceId: string, flash = new DeviceFlash(), extra: Record<string, unknown> = {}): Promise<SimDevice> {
    const device = await make({
      config: { deviceId, broker: broker.url, intervalMs: 60_000, keepalive: 30, firmwareVersion: '1.4.2-sim', ...extra },
      clock,
      sensors,
      seed: 5,
      epoch: 1_700_000_000,
      flash,
    });
    devices.push(device);
    await device.boot();
    return device;
  }

  const infos = (id: string) => messages(fleet.observer, topics.info(id)).map((m) => ({ retain: m.retain, info: decodeInfo(m.payload) }));

  it('publishes a retained info record on connect, and again after a restart it asked for', async () => {
    const id = `info-${engine}`;
    await boot(id);
    await fleet.observer.until(() => infos(id).length >= 1, 'the info record');
    const first = infos(id)[0].info;
    expect(first).toMatchObject<Partial<DeviceInfo>>({ firmwareVersion: '1.4.2-sim', otaSeq: 0, schema: SAMPLE_SCHEMA, resetReason: 'power-on', outboxDepth: expect.any(Number), dropped: 0 });
    expect(first.uptime).toBeLessThan(5);
    expect(first.ts).toBeGreaterThanOrEqual(1_700_000_000);
    expect(first.intervalMs).toBe(60_000);
    // The simulated platform fills what a real ESP32 would.
    expect(first.freeHeap).toBeGreaterThanOrEqual(150_000);
    expect(first.rssi).toBeGreaterThanOrEqual(-75);
    expect(first.rssi).toBeLessThanOrEqual(-45);

    // A late subscriber gets it from the broker: it is retained.
    const late = await new TestClient(broker.url, { clientId: `late-${engine}`, cleanSession: true }).connect();
    await late.subscribe(topics.info(id), 1);
    await late.until(() => messages(late, topics.info(id)).length === 1, 'the retained info');
    expect(messages(late, topics.info(id))[0].retain).toBe(true);
    expect(decodeInfo(messages(late, topics.info(id))[0].payload)).toEqual(first);
    await late.driver.stop();

    await fleet.observer.driver.publish(topics.commands(id), encodeCommand({ kind: 'reboot' }), { qos: 1 });
    await fleet.observer.until(() => infos(id).length >= 2, 'the info record after the reboot');
    expect(infos(id)[1].info.resetReason).toBe('software');
  });

  it('a power cut reads as power-on at the next boot', async () => {
    const id = `cut-${engine}`;
    const flash = new DeviceFlash();
    const device = await boot(id, flash);
    await fleet.observer.until(() => infos(id).length >= 1, 'the info record');
    await device.powerCut();
    await boot(id, flash);
    await fleet.observer.until(() => infos(id).length >= 2, 'the info record after power-on');
    expect(infos(id).map((i) => i.info.resetReason)).toEqual(['power-on', 'power-on']);
  });

  it('republishes health, retained, on the health interval', async () => {
    const id = `health-${engine}`;
    await boot(id, new DeviceFlash(), { healthIntervalMs: 1000 });
    const health = () => messages(fleet.observer, topics.health(id));
    await fleet.observer.until(() => health().length >= 2, 'two health records');
    const [a, b] = health().map((m) => decodeHealth(m.payload));
    expect(b.uptime).toBeGreaterThan(a.uptime);
    expect(a).toMatchObject({ outboxDepth: expect.any(Number), dropped: 0, freeHeap: expect.any(Number), rssi: expect.any(Number) });
    expect(a.ts).toBeGreaterThanOrEqual(1_700_000_000);
    expect(health()[0].payload.length).toBeLessThanOrEqual(26);
  });
});
