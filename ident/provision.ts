// One device's identity and settings, as the NVS items its firmware reads through Moddable's
// `preference` (domain "canopy" = NVS namespace "canopy"). Each key is typed the way
// preference.get hands it to device/config.ts: str -> string, i32 -> number, u8 -> boolean,
// blob -> ArrayBuffer (sdk/modules/files/preference/esp32/modPreference.c tries u8, i32, str,
// blob in that order). docs/provisioning.md lists every key.
import { randomBytes, X509Certificate } from 'node:crypto';
import { parseBrokerUrl } from '../protocol/broker-url.ts';
import { parseTrustStore, trustStoreJson } from '../protocol/ota/trust.ts';
import { Topics } from '../protocol/topics.ts';
import { ConfigError, objectSource, resolveConfig } from '../device/config.ts';
import { writeNvsImage, type NvsItem, type NvsValue } from '../host/nvs/writer.ts';
import { keyDer, type KeyType } from './certificates.ts';
import { issue, type FleetCa, type Issued } from './fleet-ca.ts';

/** The preference domain device/platform/moddable/storage.ts opens. */
export const NVS_NAMESPACE = 'canopy';

/** NVS keys written here beyond device/config.ts's OVERRIDABLE ones (all at most 15 characters). */
export const IDENTITY_KEYS = {
  /** The device's client certificate, DER. */
  cert: 'tlsCert',
  /** Its private key, PKCS#8 DER. */
  key: 'tlsKey',
  /** The CA that signed the broker's certificate, DER (when given). */
  brokerCa: 'tlsCa',
  /** The OTA trust store, the JSON `canopy ota pubkey` writes. */
  otaTrust: 'otaTrust',
} as const;

export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

export interface ProvisionOptions {
  deviceId: string;
  broker: string;
  topicPrefix?: string;
  intervalMs?: number;
  keepalive?: number;
  /** Also give the device a random MQTT password (username = device id), for brokers that ask for one. */
  password?: boolean;
  /** The trust store JSON text. */
  otaTrust?: string;
  /** PEM of the CA that signed the broker's certificate. */
  brokerCa?: string;
  keyType?: KeyType;
  days?: number;
  nvsSize: number;
  now?: Date;
}

export interface ProvisionedDevice extends Issued {
  password?: string;
  items: NvsItem[];
  nvs: Uint8Array;
}

export function checkDeviceId(id: string, prefix = 'canopy'): void {
  try {
    new Topics(prefix).status(id);
  } catch (err) {
    throw new ProvisionError((err as Error).message);
  }
}

export function provisionDevice(ca: FleetCa, o: ProvisionOptions): ProvisionedDevice {
  checkDeviceId(o.deviceId, o.topicPrefix);
  let address;
  try {
    address = parseBrokerUrl(o.broker);
  } catch (err) {
    throw new ProvisionError((err as Error).message);
  }
  if (address.username !== undefined || address.password !== undefined) {
    throw new ProvisionError('the broker URL must not hold a user name or password; give --password to issue one');
  }
  let trust: string | undefined;
  if (o.otaTrust !== undefined) {
    try {
      trust = JSON.stringify(trustStoreJson(parseTrustStore(JSON.parse(o.otaTrust))));
    } catch (err) {
      throw new ProvisionError(`the OTA trust store is not valid: ${(err as Error).message}`);
    }
  }
  let brokerCa: Uint8Array | undefined;
  if (o.brokerCa !== undefined) {
    try {
      brokerCa = new Uint8Array(new X509Certificate(o.brokerCa).raw);
    } catch (err) {
      throw new ProvisionError(`the broker CA is not a certificate: ${(err as Error).message}`);
    }
  }

  const issued = issue(ca, o.deviceId, 'client', { keyType: o.keyType ?? 'rsa2048', days: o.days ?? 825, now: o.now });
  const password = o.password ? randomBytes(24).toString('base64url') : undefined;

  const items: NvsItem[] = [];
  const add = (key: string, value: NvsValue) => items.push({ namespace: NVS_NAMESPACE, key, value });
  add('deviceId', { type: 'str', value: o.deviceId });
  add('broker', { type: 'str', value: o.broker });
  if (o.topicPrefix !== undefined) add('topicPrefix', { type: 'str', value: o.topicPrefix });
  if (o.intervalMs !== undefined) add('intervalMs', { type: 'i32', value: o.intervalMs });
  if (o.keepalive !== undefined) add('keepalive', { type: 'i32', value: o.keepalive });
  if (password !== undefined) {
    add('mqttUsername', { type: 'str', value: o.deviceId });
    add('mqttPassword', { type: 'str', value: password });
  }
  add(IDENTITY_KEYS.cert, { type: 'blob', value: new Uint8Array(issued.cert.raw) });
  add(IDENTITY_KEYS.key, { type: 'blob', value: keyDer(issued.key) });
  if (brokerCa) add(IDENTITY_KEYS.brokerCa, { type: 'blob', value: brokerCa });
  if (trust !== undefined) add(IDENTITY_KEYS.otaTrust, { type: 'str', value: trust });
  // The firmware's own check of its settings, on exactly what it will read: a value it would
  // refuse at boot is refused here instead.
  try {
    resolveConfig(objectSource({}), objectSource(Object.fromEntries(items.map((i) => [i.key, i.value.value]))));
  } catch (err) {
    if (err instanceof ConfigError) throw new ProvisionError(`the device would refuse this configuration: ${err.message}`);
    throw err;
  }
  return { ...issued, password, items, nvs: writeNvsImage(items, o.nvsSize) };
}
