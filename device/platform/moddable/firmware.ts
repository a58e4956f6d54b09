// The SDK's firmware runner: everything a Canopy app's `main` needs on Moddable (esp32 and lin)
// but the app itself — config from the manifest with per-device overrides and secrets from NVS,
// Wi-Fi or the host network, TLS with the provisioned client certificate, the flash outbox, OTA
// with the trust store from NVS or the one compiled in, health, restart. An app's main.ts is one
// call: `runFirmware(({ settings, config, clock }) => myApp(...))` (docs/sdk.md).
//
// Every import here is a full module name: this module is also imported from `main`, and XS
// resolves names, not files (docs/moddable.md). `System` is a global installed by the IO manifests.
import config from 'mc/config';
import Net from 'net';
import { createNetwork } from 'canopy/network';
import { createOta } from 'canopy/ota';
import compiledTrust from 'device/trust';
import { sha256Hash, signatureVerifier } from 'canopy/crypto';
import { otaOptionsFromConfig, type DeviceOtaOptions } from 'device/app/device-ota';
import { DeviceApp, type DeviceAppEvent } from 'device/app/device-app';
import type { DeviceAppDefinition } from 'device/app/app-definition';
import { ConfigError, layeredSource, objectSource, readSecrets, resolveConfig, type ConfigSource, type DeviceConfig, type DeviceSecrets } from 'device/config';
import { moddableClock } from 'device/platform/moddable/clock';
import { preferenceStorage } from 'device/platform/moddable/storage';
import { openOutboxStore } from 'device/platform/moddable/outbox-store';
import { outboxArea } from 'canopy/outbox-area';
import { bootReason } from 'device/app/reset-reason';
import type { DeviceClock, DevicePlatform, LogLevel, PlatformHealth } from 'device/platform/types';

export interface FirmwareContext {
  /** The SDK's settings (id, broker, intervals, pins of the built-in sensors, ...). */
  settings: DeviceConfig;
  /** The app's own keys: per-device value from NVS first, then the manifest's config. */
  config: ConfigSource;
  clock: DeviceClock;
  log(level: LogLevel, message: string): void;
}

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

function logEvent(e: DeviceAppEvent): void {
  if (e.type === 'link') log('info', `link ${e.state}: ${e.detail}`);
  else if (e.type === 'ota' && e.event.type !== 'progress') log('info', `OTA ${JSON.stringify(e.event)}`);
  else if (e.type === 'session' && (e.event.type === 'connected' || e.event.type === 'connection-lost' || e.event.type === 'connect-refused')) {
    log('info', `mqtt ${e.event.type}${'reason' in e.event ? `: ${e.event.reason}` : ''}`);
  }
}

/** Boots the app; a broken configuration is said on the console (never a silent reboot loop). */
export function runFirmware(makeApp: (context: FirmwareContext) => DeviceAppDefinition): DeviceApp | undefined {
  const base = objectSource(config);
  let settings: DeviceConfig;
  let secrets: DeviceSecrets;
  let app: DeviceAppDefinition;
  const appConfig = layeredSource(preferenceStorage, base);
  try {
    settings = resolveConfig(base, preferenceStorage);
    secrets = readSecrets(preferenceStorage);
    app = makeApp({ settings, config: appConfig, clock: moddableClock, log });
  } catch (err) {
    log('error', err instanceof ConfigError ? `configuration: ${err.message}` : `app: ${String(err)}`);
    return undefined;
  }
  if (secrets.tls.certificate) log('info', 'TLS: client certificate from NVS');
  const slots = createOta();
  const trust = secrets.otaTrust ?? compiledTrust;
  let ota: DeviceOtaOptions | undefined;
  if (!slots) log('info', 'OTA: not on this platform');
  else if (trust === undefined) log('warn', 'OTA: no trust store (NVS otaTrust, or device/trust.ts compiled in), so no updates are accepted');
  else {
    try {
      // The SDK's native SHA-256 and ECDSA (canopy/crypto): pure TypeScript would take minutes per image.
      ota = otaOptionsFromConfig(base, { flash: slots.flash, store: slots.store, verifier: signatureVerifier, hash: sha256Hash, trust });
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
    network: createNetwork({ ssid: settings.wifi.ssid, password: settings.wifi.password, sntpHost: typeof config.sntp === 'string' ? config.sntp : undefined, tls: secrets.tls }),
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
  const device = new DeviceApp({ platform, config: settings, app, ota, onEvent: logEvent });
  device.start();
  return device;
}
