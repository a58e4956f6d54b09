// Firmware entry (mcconfig builds this as the `main` module): the DeviceApp on Moddable. Which
// sensors and which network it gets is chosen per platform in manifest.json: drivers and Wi-Fi
// on esp32, a simulated model and the host network on lin.
//
// Every import here is a full module name. XS resolves a relative specifier against the
// importer's module NAME ("main"), not its file (device/main.ts), so `../protocol/...` would type-check
// and then abort at boot. `System` is a global installed by the IO manifests: the typings' module
// `embedded:io/system` does not exist at run time.
import config from 'mc/config';
import Net from 'net';
import { createNetwork } from 'canopy/network';
import { createSensors } from 'canopy/sensors';
import { createOta } from 'canopy/ota';
import trustStore from 'device/trust';
import { sha256Hash, signatureVerifier } from 'canopy/crypto';
import { otaOptionsFromConfig, type DeviceOtaOptions } from 'device/app/device-ota';
import { DeviceApp } from 'device/app/device-app';
import { sensorNodeApp } from 'device/sensor-node/app';
import { ConfigError, objectSource, resolveConfig } from 'device/config';
import { moddableClock } from 'device/platform/moddable/clock';
import { preferenceStorage } from 'device/platform/moddable/storage';
import { openOutboxStore } from 'device/platform/moddable/outbox-store';
import { outboxArea } from 'canopy/outbox-area';
import { bootReason } from 'device/app/reset-reason';
import type { DevicePlatform, LogLevel, PlatformHealth } from 'device/platform/types';

function log(level: LogLevel, message: string): void {
  trace(`[${level}] ${message}\n`);
}

/**
 * What this build's SDK modules can tell: the Wi-Fi RSSI from `net` (ESP32, while associated;
 * lin's `net` has none), and a software restart from the app's own mark. No free heap and no
 * ESP-IDF reset reason: those need SDK modules this manifest does not include (docs/info.md).
 */
function healthOf(reason: PlatformHealth['resetReason']): () => PlatformHealth {
  return () => {
    const rssi: unknown = Net.get('RSSI');
    return { resetReason: reason, ...(typeof rssi === 'number' && rssi <= 0 && rssi >= -128 ? { rssi } : {}) };
  };
}

function boot(): void {
  let settings;
  try {
    settings = resolveConfig(objectSource(config), preferenceStorage);
  } catch (err) {
    // A device with a broken configuration must say why on its console, not reboot-loop silently.
    log('error', err instanceof ConfigError ? `configuration: ${err.message}` : String(err));
    return;
  }
  const slots = createOta();
  let ota: DeviceOtaOptions | undefined;
  if (!slots) log('info', 'OTA: not on this platform');
  else if (trustStore === undefined) log('warn', 'OTA: no trust store compiled in (device/trust.ts), so no updates are accepted');
  else {
    try {
      // The SDK's native SHA-256 and ECDSA (canopy/crypto): pure TypeScript would take minutes per image.
      ota = otaOptionsFromConfig(objectSource(config), { flash: slots.flash, store: slots.store, verifier: signatureVerifier, hash: sha256Hash, trust: trustStore });
    } catch (err) {
      log('error', `OTA disabled: ${(err as Error).message}`);
    }
  }
  // QoS 1/2 messages queued while offline survive a power cut: a ring of flash sectors (esp32: the
  // "storage" partition; lin: a file), one flash write per queued message (docs/device-outbox.md).
  const outboxStore = openOutboxStore(outboxArea());
  const booted = bootReason(preferenceStorage, 'unknown');
  const platform: DevicePlatform = {
    clock: moddableClock,
    network: createNetwork({ ssid: settings.wifi.ssid, password: settings.wifi.password, sntpHost: typeof config.sntp === 'string' ? config.sntp : undefined }),
    storage: preferenceStorage,
    outboxStore,
    // The Outbox never holds more than the flash ring can keep, lost acks included.
    outboxMaxBytes: outboxStore.outboxBounds(settings.outboxLimit, 16).maxBytes,
    random: Math.random,
    log,
    restart: (reason) => {
      log('warn', `restarting: ${reason}`);
      outboxStore.flush();
      booted.markRestart();
      slots?.rollbackIfRequested();
      System.restart();
    },
    health: healthOf(booted.reason),
  };
  const app = new DeviceApp({
    platform,
    config: settings,
    app: sensorNodeApp(createSensors(settings, moddableClock)),
    ota,
    onEvent: (e) => {
      if (e.type === 'link') log('info', `link ${e.state}: ${e.detail}`);
      else if (e.type === 'ota' && e.event.type !== 'progress') log('info', `OTA ${JSON.stringify(e.event)}`);
      else if (e.type === 'session' && (e.event.type === 'connected' || e.event.type === 'connection-lost' || e.event.type === 'connect-refused')) {
        log('info', `mqtt ${e.event.type}${'reason' in e.event ? `: ${e.event.reason}` : ''}`);
      }
    },
  });
  app.start();
}

boot();
