// `runFirmware(makeApp)` for the simulator's XS engine: what module "device/platform/moddable/firmware"
// is on manifest_sdk.json's xsnap platform, so an app's own main.ts, hardware module and app
// modules load unchanged in `canopy sim --app DIR` (sim/app.ts). Loading main only installs the
// "app" channel, as device/xsnap-main.ts does for the built-in app; {op: 'start'} from the host
// (sim/xs-device.ts) then makes the app with the config and seed it fetches over "dev".
//
// The host models the sensors the simulator config names (sim/app.ts): each sample, the app's own
// read() is taken and the modeled fields are replaced by the host's values over the "sensors"
// channel (op 5), so the app's rules see the modeled readings while its outputs stay its own.
//
// Every import is a full module name: this module is imported from `main` (docs/moddable.md).
import { utf8Decode, utf8Encode } from 'protocol/utf8';
import { DeviceApp } from 'device/app/device-app';
import type { DeviceAppDefinition } from 'device/app/app-definition';
import { ConfigError, layeredSource, objectSource, resolveConfig, type ConfigSource, type DeviceConfig } from 'device/config';
import { callHost } from 'device/platform/xs-bridge';
import { registerAppChannel } from 'device/platform/xsnap-app-channel';
import { createXsnapPlatform, hostUnixTime } from 'device/platform/xsnap';
import { moddableClock } from 'device/platform/moddable/clock';
import { preferenceStorage } from 'device/platform/moddable/storage';
import type { DeviceClock, DevicePlatform, LogLevel } from 'device/platform/types';
import type { TelemetryValues } from 'protocol/telemetry-schema';
import { xsnapOtaFlash, xsnapOtaRecords } from 'device/platform/xsnap-ota';
import { otaOptionsFromConfig } from 'device/app/device-ota';
import { sha256Hash, signatureVerifier } from 'canopy/crypto';

/** The same context as the Moddable runner's (device/platform/moddable/firmware.ts). */
export interface FirmwareContext {
  settings: DeviceConfig;
  config: ConfigSource;
  clock: DeviceClock;
  log(level: LogLevel, message: string): void;
}

interface Boot {
  config: Record<string, unknown>;
  seed: number;
}

function host(channel: string, request: unknown): void {
  callHost(channel, utf8Encode(JSON.stringify(request)));
}

export function runFirmware(makeApp: (context: FirmwareContext) => DeviceAppDefinition): DeviceApp | undefined {
  let device: DeviceApp | undefined;
  const running = (): DeviceApp => {
    if (!device) throw new Error('the device app has not been started');
    return device;
  };
  const start = (): void => {
    if (device) throw new Error('the device app is already running');
    const boot = JSON.parse(utf8Decode(callHost('dev', utf8Encode('{"op":"config"}')))) as Boot;
    const { sensors: _builtIn, ...services } = createXsnapPlatform(boot.seed, preferenceStorage);
    const platform: DevicePlatform = { ...services, clock: { ...moddableClock, unixTime: hostUnixTime }, storage: preferenceStorage };
    const base = objectSource(boot.config);
    const settings = resolveConfig(base, { get: (key) => platform.storage.get(key) });
    const log = (level: LogLevel, message: string) => platform.log(level, message);
    let app: DeviceAppDefinition;
    try {
      app = makeApp({ settings, config: layeredSource(preferenceStorage, base), clock: platform.clock, log });
    } catch (err) {
      // Said to the simulator, as the board says it on the console.
      throw new Error(err instanceof ConfigError ? `configuration: ${err.message}` : `app: ${String(err)}`);
    }
    const own = app.read;
    const modeled: DeviceAppDefinition = {
      ...app,
      read(): TelemetryValues {
        const values = own.call(app);
        const models = JSON.parse(utf8Decode(callHost('sensors', Uint8Array.of(5)))) as TelemetryValues;
        for (const key of Object.keys(models)) values[key] = models[key];
        return values;
      },
    };
    const ota = base.get('otaVendor') === undefined ? undefined : otaOptionsFromConfig(base, { flash: xsnapOtaFlash(), store: xsnapOtaRecords(), verifier: signatureVerifier, hash: sha256Hash, trust: base.get('otaTrust') });
    device = new DeviceApp({
      platform,
      config: settings,
      app: modeled,
      ota,
      onEvent: (e) => {
        if (e.type === 'sample') host('dev', { op: 'event', event: { type: 'sample', seq: e.sample.seq, qos: settings.qos } });
        else if (e.type === 'error') host('dev', { op: 'event', event: { type: 'error', message: e.message } });
        else if (e.type === 'ota') host('dev', { op: 'event', event: { type: 'ota', event: e.event } });
      },
    });
    device.start();
  };
  registerAppChannel(start, running);
  return undefined;
}
