// Device configuration: the firmware's defaults (manifest `config`, compiled in) with per-device
// overrides from persistent storage (NVS `preference` domain "canopy" on ESP32), so one firmware
// image serves a whole fleet. Every value is checked here, once, with an error naming the key and
// where it came from, instead of failing later inside a driver or the session.
import { parseBrokerUrl, type BrokerAddress } from '../protocol/broker-url';
import type { QoS } from '../protocol/mqtt/packets';
import { Topics } from '../protocol/topics';

export type LightSensorKind = 'bh1750' | 'ldr' | 'none';

export interface DeviceConfig {
  deviceId: string;
  broker: BrokerAddress;
  topicPrefix: string;
  /** Telemetry interval, ms. */
  intervalMs: number;
  /** QoS of telemetry samples (motion events are always QoS 1). */
  qos: QoS;
  /** MQTT keepalive, seconds. */
  keepalive: number;
  light: LightSensorKind;
  pins: { dht: number; pir: number; i2cData: number; i2cClock: number; ldr: number };
  bh1750Address: number;
  pirWarmupMs: number;
  /** Most messages kept while offline. */
  outboxLimit: number;
  /** Largest inbound MQTT packet, bytes; a larger one is refused at its header. */
  maxPacketSize: number;
  wifi: { ssid?: string; password?: string };
  /** Reported in the info record; compiled in (manifest config), never a per-device override. */
  firmwareVersion: string;
  /** How often the health record is republished while connected, ms. */
  healthIntervalMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Where a value may come from: the compiled-in config object, or storage. */
export interface ConfigSource {
  get(key: string): unknown;
}

// Frozen, so a preloaded firmware keeps these in flash instead of copying them to RAM at boot.
export const DEFAULTS = Object.freeze({
  topicPrefix: 'canopy',
  intervalMs: 10_000,
  qos: 1,
  keepalive: 60,
  light: 'bh1750',
  dhtPin: 4,
  pirPin: 27,
  i2cDataPin: 21,
  i2cClockPin: 22,
  ldrPin: 34,
  bh1750Address: 0x23,
  pirWarmupMs: 60_000,
  outboxLimit: 64,
  // The largest OTA block (chunkSize may be up to 131,072 bytes, protocol/ota/manifest.ts) plus
  // 4 KiB for its topic, CBOR framing and MQTT header. An offer's chunk table (32 bytes a chunk)
  // fits too for images up to about 15 MB at the default 4 KiB chunks. Anything larger is
  // refused at its header, before its body is buffered.
  maxPacketSize: 131_072 + 4096,
  firmwareVersion: 'dev',
  healthIntervalMs: 60_000,
} as const);

/** Storage keys a technician may set per device; also what the set-interval command persists. */
export const OVERRIDABLE = Object.freeze([
  'deviceId', 'broker', 'mqttUsername', 'mqttPassword', 'topicPrefix', 'intervalMs', 'qos', 'keepalive',
  'light', 'dhtPin', 'pirPin', 'i2cDataPin', 'i2cClockPin', 'ldrPin', 'bh1750Address', 'pirWarmupMs', 'outboxLimit',
] as const);

export function resolveConfig(base: ConfigSource, overrides?: ConfigSource): DeviceConfig {
  const pick = (key: string): { value: unknown; from: string } => {
    const o = OVERRIDABLE.includes(key as (typeof OVERRIDABLE)[number]) ? overrides?.get(key) : undefined;
    if (o !== undefined) return { value: o, from: 'storage' };
    return { value: base.get(key), from: 'config' };
  };
  const str = (key: string, fallback?: string): string => {
    const { value, from } = pick(key);
    if (value === undefined || value === '') {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${key} is required (set it in the manifest's config or in storage)`);
    }
    if (typeof value !== 'string') throw new ConfigError(`${key} from ${from} must be a string, got ${typeof value}`);
    return value;
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const { value, from } = pick(key);
    if (value === undefined || value === '') return fallback;
    const n = typeof value === 'string' && /^(0x[0-9a-fA-F]+|-?\d+)$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(`${key} from ${from} must be an integer ${min}..${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };

  const deviceId = str('deviceId');
  const topicPrefix = str('topicPrefix', DEFAULTS.topicPrefix);
  try {
    new Topics(topicPrefix).status(deviceId);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  let broker: BrokerAddress;
  try {
    broker = parseBrokerUrl(str('broker'));
  } catch (err) {
    throw new ConfigError(err instanceof ConfigError ? err.message : `broker: ${(err as Error).message}`);
  }
  const username = pick('mqttUsername').value;
  const password = pick('mqttPassword').value;
  if (typeof username === 'string' && username !== '') broker = { ...broker, username };
  if (typeof password === 'string' && password !== '') broker = { ...broker, password };

  const light = str('light', DEFAULTS.light);
  if (light !== 'bh1750' && light !== 'ldr' && light !== 'none') {
    throw new ConfigError(`light must be "bh1750", "ldr" or "none", got "${light}"`);
  }
  const bh1750Address = int('bh1750Address', DEFAULTS.bh1750Address, 0, 0x7f);
  if (bh1750Address !== 0x23 && bh1750Address !== 0x5c) {
    throw new ConfigError(`bh1750Address must be 0x23 (ADDR low) or 0x5C (ADDR high), got 0x${bh1750Address.toString(16)}`);
  }
  const firmwareVersion = str('firmwareVersion', DEFAULTS.firmwareVersion);
  if (firmwareVersion.length > 32) throw new ConfigError(`firmwareVersion must be at most 32 characters, got ${firmwareVersion.length}`);
  const wifiSsid = base.get('ssid');
  const wifiPassword = base.get('password');
  return {
    deviceId,
    broker,
    topicPrefix,
    intervalMs: int('intervalMs', DEFAULTS.intervalMs, 1000, 86_400_000),
    qos: int('qos', DEFAULTS.qos, 0, 2) as QoS,
    keepalive: int('keepalive', DEFAULTS.keepalive, 0, 65_535),
    light,
    pins: {
      dht: int('dhtPin', DEFAULTS.dhtPin, 0, 63),
      pir: int('pirPin', DEFAULTS.pirPin, 0, 63),
      i2cData: int('i2cDataPin', DEFAULTS.i2cDataPin, 0, 63),
      i2cClock: int('i2cClockPin', DEFAULTS.i2cClockPin, 0, 63),
      ldr: int('ldrPin', DEFAULTS.ldrPin, 0, 63),
    },
    bh1750Address,
    pirWarmupMs: int('pirWarmupMs', DEFAULTS.pirWarmupMs, 0, 600_000),
    outboxLimit: int('outboxLimit', DEFAULTS.outboxLimit, 1, 10_000),
    maxPacketSize: int('maxPacketSize', DEFAULTS.maxPacketSize, 1024, 268_435_460),
    firmwareVersion,
    healthIntervalMs: int('healthIntervalMs', DEFAULTS.healthIntervalMs, 1000, 86_400_000),
    wifi: {
      ssid: typeof wifiSsid === 'string' && wifiSsid !== '' ? wifiSsid : undefined,
      password: typeof wifiPassword === 'string' && wifiPassword !== '' ? wifiPassword : undefined,
    },
  };
}

/** A plain object (the manifest's config, a JSON file) as a ConfigSource. */
export function objectSource(o: Record<string, unknown>): ConfigSource {
  return { get: (key) => o[key] };
}

/**
 * An app's own settings (pins, set points): the per-device value in storage first, then the
 * manifest's config. The SDK's own keys go through resolveConfig, which lets storage override only
 * the OVERRIDABLE ones; firmwareVersion and the Wi-Fi credentials are never read from storage.
 */
export function layeredSource(storage: ConfigSource | undefined, base: ConfigSource): ConfigSource {
  return {
    get(key) {
      if (key === 'firmwareVersion' || key === 'ssid' || key === 'password') return base.get(key);
      const v = storage?.get(key);
      return v !== undefined ? v : base.get(key);
    },
  };
}

/** The NVS keys `canopy provision` writes that are not plain settings (docs/provisioning.md). */
export const SECRET_KEYS = Object.freeze({ tlsCert: 'tlsCert', tlsKey: 'tlsKey', tlsCa: 'tlsCa', otaTrust: 'otaTrust' } as const);

/** The device's TLS client identity and the broker's CA, DER, as provisioned in NVS. */
export interface TlsIdentity {
  /** Client certificate (CN = device id), DER. */
  certificate?: ArrayBuffer;
  /** Its private key, PKCS#8 DER. */
  key?: ArrayBuffer;
  /** The broker's CA certificate, DER; absent: the CA certificates compiled into the firmware. */
  ca?: ArrayBuffer;
}

export interface DeviceSecrets {
  tls: TlsIdentity;
  /** The OTA trust store (JSON of `canopy ota pubkey`), replacing the compiled-in device/trust.ts. */
  otaTrust?: unknown;
}

/** Storage that can also hand out byte values (NVS blobs, which `preference` reads as ArrayBuffer). */
export interface SecretStorage {
  get(key: string): unknown;
  getBytes?(key: string): ArrayBuffer | undefined;
}

/**
 * The secrets from storage, checked: a certificate needs its key (and the reverse), and a trust
 * store must be JSON. Nothing here is ever logged; errors name the key, never its value.
 */
export function readSecrets(storage: SecretStorage | undefined): DeviceSecrets {
  const bytes = (key: string): ArrayBuffer | undefined => {
    const v = storage?.getBytes?.(key);
    if (v === undefined) return undefined;
    if (!(v instanceof ArrayBuffer) || v.byteLength === 0) throw new ConfigError(`${key} from storage must be DER bytes (an NVS blob)`);
    return v;
  };
  const certificate = bytes(SECRET_KEYS.tlsCert);
  const key = bytes(SECRET_KEYS.tlsKey);
  if ((certificate === undefined) !== (key === undefined)) {
    throw new ConfigError(`${certificate ? SECRET_KEYS.tlsCert : SECRET_KEYS.tlsKey} is provisioned without ${certificate ? SECRET_KEYS.tlsKey : SECRET_KEYS.tlsCert}: a client certificate needs its key`);
  }
  const ca = bytes(SECRET_KEYS.tlsCa);
  const trust = storage?.get(SECRET_KEYS.otaTrust);
  let otaTrust: unknown;
  if (trust !== undefined && trust !== '') {
    if (typeof trust !== 'string') throw new ConfigError(`${SECRET_KEYS.otaTrust} from storage must be a string (the JSON of canopy ota pubkey)`);
    try {
      otaTrust = JSON.parse(trust);
    } catch {
      throw new ConfigError(`${SECRET_KEYS.otaTrust} from storage is not JSON`);
    }
  }
  const tls: TlsIdentity = {};
  if (certificate) tls.certificate = certificate;
  if (key) tls.key = key;
  if (ca) tls.ca = ca;
  return otaTrust === undefined ? { tls } : { tls, otaTrust };
}

/**
 * The TLS socket's `secure` options for this identity (Moddable's ssl_cert takes each as DER):
 * SNI, the broker CA when provisioned (else the CAs in the firmware's resources), and the client
 * certificate and key for a broker that asks (mosquitto's require_certificate).
 */
export function tlsSecureOptions(host: string, identity: TlsIdentity | undefined): Record<string, unknown> {
  const secure: Record<string, unknown> = { serverName: host };
  if (identity?.ca) secure.certificate = identity.ca;
  if (identity?.certificate && identity.key) {
    secure.clientCertificates = [identity.certificate];
    secure.clientKey = identity.key;
  }
  return secure;
}
