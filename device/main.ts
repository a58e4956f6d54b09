// Firmware entry (mcconfig builds this as the `main` module): the DeviceApp on Moddable. Which
// sensors and which network it gets is chosen per platform in manifest.json: drivers and Wi-Fi
// on esp32, a simulated model and the host network on lin.
import config from 'mc/config';
import System from 'embedded:io/system';
import { createNetwork } from 'canopy/network';
import { createSensors } from 'canopy/sensors';
import { DeviceApp } from './app/device-app';
import { ConfigError, objectSource, resolveConfig } from './config';
import { moddableClock } from './platform/moddable/clock';
import { preferenceStorage } from './platform/moddable/storage';
import type { DevicePlatform, LogLevel } from './platform/types';

function log(level: LogLevel, message: string): void {
  trace(`[${level}] ${message}\n`);
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
  const platform: DevicePlatform = {
    clock: moddableClock,
    network: createNetwork({ ssid: settings.wifi.ssid, password: settings.wifi.password, sntpHost: typeof config.sntp === 'string' ? config.sntp : undefined }),
    sensors: createSensors(settings, moddableClock),
    storage: preferenceStorage,
    random: Math.random,
    log,
    restart: (reason) => {
      log('warn', `restarting: ${reason}`);
      System.restart();
    },
  };
  const app = new DeviceApp({
    platform,
    config: settings,
    onEvent: (e) => {
      if (e.type === 'link') log('info', `link ${e.state}: ${e.detail}`);
      else if (e.type === 'session' && (e.event.type === 'connected' || e.event.type === 'connection-lost' || e.event.type === 'connect-refused')) {
        log('info', `mqtt ${e.event.type}${'reason' in e.event ? `: ${e.event.reason}` : ''}`);
      }
    },
  });
  app.start();
}

boot();
