// Entry of the device bundle for the simulator's XS engine: the same DeviceApp as the firmware,
// on the bridge platform, with the firmware's own clock and settings modules (over the SDK
// stand-ins that manifest.json's xsnap platform names "timer", "time" and "preference").
// Loading the bundle only installs the "app" channel; the host (sim/xs-device.ts) then sends
// {op: 'start'}, and the app fetches its config and seed over "dev". Keeping load and start apart lets the host measure the code's own footprint.
import { utf8Decode, utf8Encode } from '../protocol/utf8';
import { DeviceApp } from './app/device-app';
import { sensorNodeApp } from './sensor-node/app';
import { objectSource, resolveConfig } from './config';
import { callHost } from './platform/xs-bridge';
import { registerAppChannel } from './platform/xsnap-app-channel';
import { createXsnapPlatform, hostUnixTime } from './platform/xsnap';
import { moddableClock } from './platform/moddable/clock';
import { preferenceStorage } from './platform/moddable/storage';
import type { DevicePlatform } from './platform/types';
import { xsnapOtaFlash, xsnapOtaRecords } from './platform/xsnap-ota';
import { otaOptionsFromConfig } from './app/device-ota';
import { sha256Hash, signatureVerifier } from 'canopy/crypto';

interface Boot {
  config: Record<string, unknown>;
  seed: number;
}

let app: DeviceApp | undefined;

function report(event: unknown): void {
  callHost('dev', utf8Encode(JSON.stringify({ op: 'event', event })));
}

function start(): void {
  if (app) throw new Error('the device app is already running');
  const boot = JSON.parse(utf8Decode(callHost('dev', utf8Encode('{"op":"config"}')))) as Boot;
  const { sensors, ...services } = createXsnapPlatform(boot.seed, preferenceStorage);
  const platform: DevicePlatform = {
    ...services,
    // Ticks and timers as the firmware has them; wall time from the host (see hostUnixTime).
    clock: { ...moddableClock, unixTime: hostUnixTime },
    storage: preferenceStorage,
  };
  const source = objectSource(boot.config);
  const config = resolveConfig(source, { get: (key) => platform.storage.get(key) });
  // The simulator hands the trust store over in the config; firmware compiles it in. canopy/crypto
  // is the host's node:crypto over the bridge here, the SDK's native modules on the board.
  const ota = source.get('otaVendor') === undefined ? undefined : otaOptionsFromConfig(source, { flash: xsnapOtaFlash(), store: xsnapOtaRecords(), verifier: signatureVerifier, hash: sha256Hash, trust: source.get('otaTrust') });
  // The simulator checks delivery against what the firmware produced, so it hears of every sample.
  app = new DeviceApp({
    platform,
    config,
    app: sensorNodeApp(sensors),
    ota,
    onEvent: (e) => {
      if (e.type === 'sample') report({ type: 'sample', seq: e.sample.seq, qos: config.qos });
      else if (e.type === 'error') report({ type: 'error', message: e.message });
      else if (e.type === 'ota') report({ type: 'ota', event: e.event });
    },
  });
  app.start();
}

function running(): DeviceApp {
  if (!app) throw new Error('the device app has not been started');
  return app;
}

registerAppChannel(start, running);
