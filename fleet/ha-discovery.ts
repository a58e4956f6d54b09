// Home Assistant MQTT discovery for Canopy devices: one retained config per device and field, so
// Home Assistant shows every device, with its sensors, and no YAML. Pure: the bridge
// (fleet/bridge-core.ts) decides when, this decides what. The keys are Home Assistant's documented
// ones (https://www.home-assistant.io/integrations/mqtt/#discovery-messages and the sensor and
// binary_sensor MQTT pages), written out in full rather than abbreviated, so the payloads read as
// the documentation does; test/ha-discovery.test.ts checks them against those key lists.
//
//   topic    <discovery prefix>/<component>/<node id>/<object id>/config
//            node id: canopy_<device id>; object id: the field (temperature, humidity, …)
//   state    the bridge's JSON state topic, a value_template picking the field
//   avail.   the device's own retained status topic: "online" / "offline" (its will)
import type { DeviceHealth } from '../protocol/info.ts';

export const DISCOVERY_PREFIX = 'homeassistant';

export interface DiscoveryDevice {
  id: string;
  /** The device's retained status topic (availability). */
  statusTopic: string;
  /** The bridge's JSON state topic for the device (the last sample), and its health topic. */
  stateTopic: string;
  healthTopic: string;
  firmwareVersion?: string;
  /** Telemetry schema id, from the info record: part of the model name. */
  schema?: number;
  /** Telemetry interval (ms), from the info/health record: values expire after a few missed ones. */
  intervalMs?: number;
  /** The device reports RSSI (a Wi-Fi link): it gets a signal strength sensor. */
  hasRssi?: boolean;
}

export interface DiscoveryMessage {
  topic: string;
  /** The config object; JSON.stringify it for the wire. */
  config: Record<string, unknown>;
}

interface FieldSpec {
  object: string;
  component: 'sensor' | 'binary_sensor';
  name: string;
  /** The key in the JSON state (or health) object. */
  key: string;
  source: 'state' | 'health';
  device_class?: string;
  unit_of_measurement?: string;
  state_class?: 'measurement' | 'total' | 'total_increasing';
  entity_category?: 'diagnostic';
  suggested_display_precision?: number;
}

/** One entity per sample field, plus the diagnostics a technician wants beside them. */
export const DISCOVERY_FIELDS: readonly FieldSpec[] = [
  { object: 'temperature', component: 'sensor', name: 'Temperature', key: 'temperature', source: 'state', device_class: 'temperature', unit_of_measurement: '°C', state_class: 'measurement', suggested_display_precision: 1 },
  { object: 'humidity', component: 'sensor', name: 'Humidity', key: 'humidity', source: 'state', device_class: 'humidity', unit_of_measurement: '%', state_class: 'measurement', suggested_display_precision: 1 },
  { object: 'illuminance', component: 'sensor', name: 'Illuminance', key: 'lux', source: 'state', device_class: 'illuminance', unit_of_measurement: 'lx', state_class: 'measurement', suggested_display_precision: 0 },
  { object: 'motion', component: 'binary_sensor', name: 'Motion', key: 'motion', source: 'state', device_class: 'motion' },
  { object: 'dht_errors', component: 'sensor', name: 'DHT read errors', key: 'dhtErrors', source: 'state', state_class: 'total_increasing', entity_category: 'diagnostic' },
  { object: 'rssi', component: 'sensor', name: 'Wi-Fi signal', key: 'rssi', source: 'health', device_class: 'signal_strength', unit_of_measurement: 'dBm', state_class: 'measurement', entity_category: 'diagnostic' },
  { object: 'uptime', component: 'sensor', name: 'Uptime', key: 'uptime', source: 'health', device_class: 'duration', unit_of_measurement: 's', state_class: 'total_increasing', entity_category: 'diagnostic' },
];

export const MANUFACTURER = 'Canopy';

/** The model Home Assistant shows: the app and the telemetry schema it speaks. */
export function modelName(schema: number | undefined): string {
  return schema === undefined ? 'Canopy sensor node' : `Canopy sensor node (telemetry schema ${schema})`;
}

/**
 * The retained configs for one device. `bridgeVersion` goes in the origin block (who published
 * the config). A value expires (shows "unavailable") after 3 missed intervals, so a partitioned
 * device's numbers do not sit there frozen while its will has not fired yet.
 */
export function discoveryConfigs(d: DiscoveryDevice, bridgeVersion: string, prefix = DISCOVERY_PREFIX): DiscoveryMessage[] {
  const node = `canopy_${d.id}`;
  const device: Record<string, unknown> = {
    identifiers: [node],
    name: d.id,
    manufacturer: MANUFACTURER,
    model: modelName(d.schema),
  };
  if (d.firmwareVersion !== undefined) device.sw_version = d.firmwareVersion;
  const expire = d.intervalMs === undefined ? undefined : Math.max(1, Math.ceil((3 * d.intervalMs) / 1000));
  const out: DiscoveryMessage[] = [];
  for (const f of DISCOVERY_FIELDS) {
    if (f.object === 'rssi' && !d.hasRssi) continue;
    const config: Record<string, unknown> = {
      name: f.name,
      unique_id: `${node}_${f.object}`,
      state_topic: f.source === 'state' ? d.stateTopic : d.healthTopic,
      value_template: f.component === 'binary_sensor' ? `{{ 'ON' if value_json.${f.key} else 'OFF' }}` : `{{ value_json.${f.key} }}`,
      availability: [{ topic: d.statusTopic, payload_available: 'online', payload_not_available: 'offline' }],
      device,
      origin: { name: 'canopy bridge', sw_version: bridgeVersion },
      qos: 1,
    };
    if (f.component === 'binary_sensor') {
      config.payload_on = 'ON';
      config.payload_off = 'OFF';
    }
    for (const k of ['device_class', 'unit_of_measurement', 'state_class', 'entity_category', 'suggested_display_precision'] as const) if (f[k] !== undefined) config[k] = f[k];
    if (expire !== undefined && f.source === 'state') config.expire_after = expire;
    out.push({ topic: `${prefix}/${f.component}/${node}/${f.object}/config`, config });
  }
  return out;
}

/** The health record as the bridge's JSON health topic carries it. */
export function healthJson(h: DeviceHealth): Record<string, unknown> {
  return { ...h, time: h.ts > 0 ? new Date(h.ts * 1000).toISOString() : null };
}
