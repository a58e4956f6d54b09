// The proof that the device app runs on XS, not only on V8: the firmware bundle runs in the real
// XS engine (@agoric/xsnap) with the host bridge for sockets, sensors and storage, against real
// brokers; an observer decodes its CBOR telemetry, its retained status and its will.
import { describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../host/broker.ts';
import { XsDevice } from '../sim/xs-device.ts';
import { DeviceFlash, type SensorSource, type SimDeviceEvent } from '../sim/sim-device.ts';
import { decodeMotionEvent, decodeSample } from '../protocol/telemetry.ts';
import { encodeCommand } from '../protocol/commands.ts';
import { Topics } from '../protocol/topics.ts';
import type { SessionEvent } from '../protocol/session/session.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { TestClient } from './support/clients.ts';
import { observedFleet } from './support/observed-fleet.ts';
import { deviceBundle } from './support/device-bundle.ts';

const topics = new Topics('canopy');

class ScriptedSensors implements SensorSource {
  temperature: number | null = 21.5;
  humidity: number | null = 45.2;
  errors = 0;
  lux: number | null = 300;
  moving = false;
  private listener: ((active: boolean) => void) | undefined;
  climate() {
    return { temperature: this.temperature, humidity: this.humidity, errors: this.errors };
  }
  light() {
    return this.lux;
  }
  motion() {
    return this.moving;
  }
  onMotion(listener: (active: boolean) => void) {
    this.listener = listener;
  }
  edge(active: boolean) {
    this.moving = active;
    this.listener?.(active);
  }
}

function messages(client: TestClient, topic: string): Uint8Array[] {
  return client.events.filter((e): e is Extract<SessionEvent, { type: 'message' }> => e.type === 'message' && e.topic === topic).map((e) => e.payload);
}

const brokers = [
  { name: 'aedes', make: () => { const b = new EmbeddedBroker({ port: 0 }); return { start: () => b.start(), stop: () => b.stop(), get url() { return b.url; } }; } },
  { name: 'mosquitto', make: () => { const m = new Mosquitto(); return { start: () => m.start(), stop: () => m.dispose(), get url() { return m.url; } }; } },
];

describe.each(brokers)('device app on XS against $name', ({ make }) => {
  const broker = make();
  const fleet = observedFleet<XsDevice>(broker, () => broker.stop(), 'observer');
  const { clock, devices } = fleet;

  async function boot(deviceId: string, sensors: SensorSource, extra: Record<string, unknown> = {}, onEvent?: (e: SimDeviceEvent) => void, flash?: DeviceFlash): Promise<XsDevice> {
    const device = new XsDevice({
      code: (await deviceBundle()).code,
      config: { deviceId, broker: broker.url, intervalMs: 1000, keepalive: 30, ...extra },
      clock,
      sensors,
      epoch: 1_700_000_000,
      onEvent,
      flash,
    });
    devices.push(device);
    await device.boot();
    return device;
  }

  it('publishes the retained online status, CBOR telemetry and motion events', async () => {
    const sensors = new ScriptedSensors();
    const device = await boot('xs-telemetry', sensors);
    const status = topics.status('xs-telemetry');
    const telemetry = topics.telemetry('xs-telemetry');
    await fleet.observer.until(() => fleet.observer.texts(status).includes('online'), 'online status');
    await fleet.observer.until(() => messages(fleet.observer, telemetry).length >= 1, 'a telemetry sample');
    sensors.temperature = -10.1;
    sensors.errors = 3;
    await device.sampleNow();
    await fleet.observer.until(() => messages(fleet.observer, telemetry).some((p) => decodeSample(p).temperature === -10.1), 'the negative sample');
    const samples = messages(fleet.observer, telemetry).map(decodeSample);
    expect(samples[0]).toMatchObject({ temperature: 21.5, humidity: 45.2, lux: 300, motion: false, dhtErrors: 0 });
    expect(samples[0].ts).toBeGreaterThanOrEqual(1_700_000_000);
    expect(samples.at(-1)).toMatchObject({ temperature: -10.1, dhtErrors: 3 });
    // seq strictly increases sample by sample.
    for (let i = 1; i < samples.length; i++) expect(samples[i].seq).toBe(samples[i - 1].seq + 1);

    sensors.edge(true);
    const motion = topics.event('xs-telemetry', 'motion');
    await fleet.observer.until(() => messages(fleet.observer, motion).length >= 1, 'a motion event');
    expect(decodeMotionEvent(messages(fleet.observer, motion)[0])).toMatchObject({ active: true });
  });

  it('obeys commands: set-interval is stored, sample-now samples', async () => {
    let refused: (message: string) => void = () => {};
    const refusal = new Promise<string>((resolve) => (refused = resolve));
    const device = await boot('xs-commands', new ScriptedSensors(), { intervalMs: 60_000 }, (e) => e.type === 'error' && refused(e.message));
    const telemetry = topics.telemetry('xs-commands');
    await fleet.observer.until(() => fleet.observer.texts(topics.status('xs-commands')).includes('online'), 'online status');
    // The device subscribes before it says online, so the command cannot overtake the subscription.
    await fleet.observer.driver.publish(topics.commands('xs-commands'), encodeCommand({ kind: 'sample-now' }), { qos: 1 });
    await fleet.observer.until(() => messages(fleet.observer, telemetry).length >= 1, 'a sample on command');
    fleet.observer.driver.publish(topics.commands('xs-commands'), encodeCommand({ kind: 'set-interval', ms: 1000 }), { qos: 1 });
    await fleet.observer.until(() => messages(fleet.observer, telemetry).length >= 3, 'samples at the new interval');
    expect((await device.stats()).intervalMs).toBe(1000);
    expect(device.flash.settings.get('intervalMs')).toBe(1000);
    // A malformed command is refused and counted; the device carries on.
    fleet.observer.driver.publish(topics.commands('xs-commands'), new Uint8Array([0xff]), { qos: 1 });
    expect(await refusal).toMatch(/^command refused: command is not valid CBOR/);
    expect((await device.stats()).errors).toBe(1);
  });

  // device/xsnap-main.ts gives the app the firmware's own clock and storage modules, over the
  // "timer", "time" and "preference" stand-ins: the device's NVS (flash.settings) is their domain.
  it("runs on the firmware's own clock and preference storage", async () => {
    const program = await deviceBundle();
    expect(program.modules).toEqual(expect.arrayContaining(['device/platform/moddable/clock', 'device/platform/moddable/storage', 'timer', 'time', 'preference']));
    const flash = new DeviceFlash(new Map<string, string | number | boolean>([['intervalMs', 1000], ['seq', 5001]]));
    const device = await boot('xs-firmware-modules', new ScriptedSensors(), { intervalMs: 60_000 }, undefined, flash);
    const telemetry = topics.telemetry('xs-firmware-modules');
    // The stored interval (read through Preference.get) beats the config's; its timer (Timer.set) ticks.
    await fleet.observer.until(() => messages(fleet.observer, telemetry).length >= 2, 'two samples at the stored interval');
    expect((await device.stats()).intervalMs).toBe(1000);
    expect(messages(fleet.observer, telemetry).map(decodeSample)[0].seq).toBe(5001);
    // The next block is reserved through Preference.set, under the same key.
    expect(flash.settings.get('seq')).toBe(6001);
  });

  it('a power cut fires the will ("offline"); a clean stop says offline itself', async () => {
    const cut = await boot('xs-cut', new ScriptedSensors());
    const cutStatus = topics.status('xs-cut');
    await fleet.observer.until(() => fleet.observer.texts(cutStatus).includes('online'), 'online status');
    await cut.powerCut();
    await fleet.observer.until(() => fleet.observer.texts(cutStatus).at(-1) === 'offline', 'the will');

    const clean = await boot('xs-clean', new ScriptedSensors());
    const cleanStatus = topics.status('xs-clean');
    await fleet.observer.until(() => fleet.observer.texts(cleanStatus).includes('online'), 'online status');
    await clean.stop();
    await fleet.observer.until(() => fleet.observer.texts(cleanStatus).at(-1) === 'offline', 'offline on clean stop');
    expect(fleet.observer.texts(cleanStatus).filter((t) => t === 'offline')).toHaveLength(1);
  });
});
