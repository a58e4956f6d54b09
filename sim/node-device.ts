// A simulated device on V8: the same DeviceApp as the firmware, with a Node platform (host
// sockets, the simulator's clock, the device's flash). For fleets larger than the XS engine's
// one-process-per-device model allows.
import { DeviceApp } from '../device/app/device-app.ts';
import { sensorNodeApp } from '../device/sensor-node/app.ts';
import { objectSource, resolveConfig } from '../device/config.ts';
import { seededRandom, simulatedHealth } from '../device/platform/random.ts';
import { bootReason } from '../device/app/reset-reason.ts';
import type { DevicePlatform, TimerHandle } from '../device/platform/types.ts';
import { openDeviceSocket, type DeviceSocket } from '../host/device-socket.ts';
import { DeviceFlash, type SimDevice, type SimDeviceOptions } from './sim-device.ts';
import { otaOptionsFromConfig } from '../device/app/device-ota.ts';
import { nodeVerifier } from '../host/crypto.ts';
import type { MakeApp } from './app.ts';
import type { DeviceAppDefinition } from '../device/app/app-definition.ts';
import { layeredSource, type ConfigSource, type DeviceConfig } from '../device/config.ts';

export interface NodeDeviceOptions extends SimDeviceOptions {
  /** An app's makeApp (sim/app.ts); default the built-in sensor-node app. */
  makeApp?: MakeApp;
}

export class NodeDevice implements SimDevice {
  readonly id: string;
  readonly flash: DeviceFlash;
  private app: DeviceApp | undefined;
  private sockets = new Set<DeviceSocket>();
  private timers = new Set<number>();
  private motionListener: ((active: boolean) => void) | undefined;
  private stopped: (() => void) | undefined;
  private boots = 0;

  constructor(private readonly options: NodeDeviceOptions) {
    this.id = String(options.config.deviceId);
    this.flash = options.flash ?? new DeviceFlash();
    options.sensors.onMotion?.((active) => this.motionListener?.(active));
  }

  get running(): boolean {
    return this.app !== undefined;
  }

  async boot(): Promise<void> {
    if (this.app) throw new Error('device is already running');
    const { options, flash } = this;
    flash.powerOn();
    const clock = options.clock;
    const timers = this.timers;
    const sockets = this.sockets;
    this.boots++;
    const storage = {
      get: (key: string) => flash.settings.get(key),
      set: (key: string, value: string | number | boolean) => void flash.settings.set(key, value),
      delete: (key: string) => void flash.settings.delete(key),
    };
    const boot = bootReason(storage, 'power-on');
    const measure = simulatedHealth((options.seed ?? 1) * 7919 + this.boots);
    const platform: DevicePlatform = {
      clock: {
        now: () => clock.now(),
        unixTime: () => Math.floor((options.epoch ?? 0) + clock.now() / 1000),
        setTimer: (callback, ms) => {
          const handle = clock.schedule(clock.now() + ms, () => {
            timers.delete(handle);
            callback();
          });
          timers.add(handle);
          return handle;
        },
        clearTimer: (handle: TimerHandle) => {
          clock.cancel(handle as number);
          timers.delete(handle as number);
        },
      },
      network: {
        start: (onState) => onState('up', 'host network'),
        connect: (host, port, secure, handlers) => {
          const s = openDeviceSocket(host, port, secure, {
            ...handlers,
            onClose: (reason) => {
              sockets.delete(s);
              options.onEvent?.({ type: 'connection-lost', reason });
              handlers.onClose(reason);
            },
          }, this.options.activity, this.options.identity);
          sockets.add(s);
          return s;
        },
        stop: () => {},
      },
      storage,
      outboxStore: flash.outboxStore(),
      // A new seed per boot, as a real device's entropy would differ after a reset.
      random: seededRandom((options.seed ?? 1) * 7919 + this.boots),
      log: (level, message) => options.onEvent?.({ type: 'log', level, message }),
      restart: (reason) => {
        boot.markRestart();
        // Called from inside the app: reboot once its stack has unwound.
        setImmediate(() => {
          this.halt();
          this.boot().then(() => options.onEvent?.({ type: 'restart', reason }));
        });
      },
      health: () => ({ resetReason: boot.reason, ...measure() }),
    };
    const source = objectSource(options.config);
    const config = resolveConfig(source, platform.storage);
    const ota = source.get('otaVendor') === undefined ? undefined : otaOptionsFromConfig(source, { flash: flash.ota.flash, store: flash.ota.records, verifier: nodeVerifier, trust: source.get('otaTrust') });
    this.app = new DeviceApp({
      platform,
      config,
      app: options.makeApp ? this.appOf(options.makeApp, platform, config, source) : sensorNodeApp({
        climate: () => options.sensors.climate(),
        light: () => options.sensors.light(),
        motion: () => options.sensors.motion(),
        onMotion: (callback) => (this.motionListener = callback),
        close: () => (this.motionListener = undefined),
      }),
      ota,
      onEvent: (e) => {
        if (e.type === 'sample') options.onEvent?.({ type: 'sample', seq: e.sample.seq, qos: config.qos });
        else if (e.type === 'error') options.onEvent?.({ type: 'error', message: e.message });
        else if (e.type === 'ota') options.onEvent?.({ type: 'ota', event: e.event });
        else if (e.type === 'stopped') {
          this.stopped?.();
          this.stopped = undefined;
        }
      },
    });
    this.app.start();
  }

  /** An app's definition as its main makes it, with the simulator's modeled fields read over its own. */
  private appOf(makeApp: MakeApp, platform: DevicePlatform, settings: DeviceConfig, source: ConfigSource): DeviceAppDefinition {
    const app = makeApp({ settings, config: layeredSource(platform.storage, source), clock: platform.clock, log: platform.log });
    const fields = this.options.fields;
    if (!fields) return app;
    return { ...app, read: () => ({ ...app.read(), ...fields() }) };
  }

  async sampleNow(): Promise<void> {
    this.require().sampleNow();
  }

  async stats(): Promise<Record<string, unknown>> {
    return { ...this.require().status };
  }

  async stop(timeoutMs = 5000): Promise<void> {
    const app = this.app;
    if (!app) return;
    const done = new Promise<void>((resolve) => (this.stopped = resolve));
    app.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.halt();
  }

  async powerCut(): Promise<void> {
    this.halt();
  }

  /** RAM is gone: timers, sockets (destroyed, so the broker sees a vanished client) and the app. */
  private halt(): void {
    for (const t of this.timers) this.options.clock.cancel(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.motionListener = undefined;
    this.app = undefined;
  }

  private require(): DeviceApp {
    if (!this.app) throw new Error(`device ${this.id} is not running`);
    return this.app;
  }
}
