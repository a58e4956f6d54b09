// The bridge's Home Assistant discovery configs (fleet/ha-discovery.ts via fleet/bridge-core.ts)
// checked against Home Assistant's documented MQTT discovery keys: the topic format and id
// character class (https://www.home-assistant.io/integrations/mqtt/#discovery-messages), the
// configuration variables of the MQTT sensor and binary sensor pages
// (https://www.home-assistant.io/integrations/sensor.mqtt/, …/binary_sensor.mqtt/), the device and
// availability blocks, and the sensor device classes with their units
// (https://www.home-assistant.io/integrations/sensor/#device-class). The lists are written out
// here from those pages, not from the code under test.
import { describe, expect, it } from 'vitest';
import { BridgeCore } from '../fleet/bridge-core.ts';
import { encodeHealth, encodeInfo, type DeviceInfo } from '../protocol/info.ts';
import { encodeMotionEvent, encodeSample, type Sample } from '../protocol/telemetry.ts';

// Configuration variables common to MQTT entities, per the sensor/binary_sensor pages.
const COMMON = ['availability', 'availability_mode', 'availability_template', 'availability_topic', 'device', 'enabled_by_default', 'encoding', 'entity_category', 'entity_picture', 'expire_after', 'force_update', 'icon', 'json_attributes_template', 'json_attributes_topic', 'name', 'object_id', 'default_entity_id', 'payload_available', 'payload_not_available', 'platform', 'qos', 'state_topic', 'unique_id', 'value_template', 'device_class', 'origin'];
const DOCUMENTED: Record<string, string[]> = {
  sensor: [...COMMON, 'last_reset_value_template', 'options', 'suggested_display_precision', 'state_class', 'unit_of_measurement'],
  binary_sensor: [...COMMON, 'off_delay', 'payload_off', 'payload_on'],
};
const DEVICE_KEYS = ['configuration_url', 'connections', 'hw_version', 'identifiers', 'manufacturer', 'model', 'model_id', 'name', 'serial_number', 'suggested_area', 'sw_version', 'via_device'];
const AVAILABILITY_KEYS = ['payload_available', 'payload_not_available', 'topic', 'value_template'];
const ORIGIN_KEYS = ['name', 'sw_version', 'support_url'];
const STATE_CLASSES = ['measurement', 'measurement_angle', 'total', 'total_increasing'];
const ENTITY_CATEGORIES = ['config', 'diagnostic'];
/** Sensor device classes used here and the units Home Assistant accepts for each. */
const SENSOR_UNITS: Record<string, string[]> = {
  temperature: ['°C', '°F', 'K'],
  humidity: ['%'],
  illuminance: ['lx'],
  signal_strength: ['dB', 'dBm'],
  duration: ['d', 'h', 'min', 's', 'ms', 'µs'],
};
const BINARY_CLASSES = ['motion', 'occupancy', 'presence', 'connectivity', 'problem'];
const ID = /^[a-zA-Z0-9_-]+$/;

const info: DeviceInfo = { firmwareVersion: '2.3.0', otaSeq: 4, schema: 1, resetReason: 'power-on', ts: 1_700_000_000, intervalMs: 5000, uptime: 12, freeHeap: 100_000, rssi: -61, outboxDepth: 0, dropped: 0 };
const sample: Sample = { seq: 9, ts: 1_700_000_005, temperature: 21.5, humidity: 48.2, lux: 320, motion: false, dhtErrors: 2 };

function discovered(core: BridgeCore, id = 'greenhouse-7') {
  const out = core.handle({ topic: `canopy/${id}/info`, payload: encodeInfo(info), retain: true }, 1_700_000_010_000);
  return out.publish.filter((p) => p.topic.startsWith('homeassistant/'));
}

describe('Home Assistant discovery configs', () => {
  const core = new BridgeCore({ bridgeVersion: '0.1.0' });
  const configs = discovered(core);

  it('one retained QoS 1 config per field on <prefix>/<component>/<node_id>/<object_id>/config', () => {
    expect(configs.map((c) => c.topic)).toEqual([
      'homeassistant/sensor/canopy_greenhouse-7/temperature/config',
      'homeassistant/sensor/canopy_greenhouse-7/humidity/config',
      'homeassistant/sensor/canopy_greenhouse-7/illuminance/config',
      'homeassistant/binary_sensor/canopy_greenhouse-7/motion/config',
      'homeassistant/sensor/canopy_greenhouse-7/dht_errors/config',
      'homeassistant/sensor/canopy_greenhouse-7/rssi/config',
      'homeassistant/sensor/canopy_greenhouse-7/uptime/config',
    ]);
    for (const c of configs) {
      expect(c.retain).toBe(true);
      expect(c.qos).toBe(1);
      const [prefix, component, node, object, last, ...more] = c.topic.split('/');
      expect([prefix, last, more]).toEqual(['homeassistant', 'config', []]);
      expect(Object.keys(DOCUMENTED)).toContain(component);
      expect(node).toMatch(ID);
      expect(object).toMatch(ID);
    }
  });

  it('every key is a documented one, with a valid device class, unit and state class', () => {
    for (const c of configs) {
      const component = c.topic.split('/')[1];
      const config = JSON.parse(c.payload) as Record<string, unknown>;
      for (const key of Object.keys(config)) expect(DOCUMENTED[component], `${c.topic}: ${key}`).toContain(key);
      expect(typeof config.name).toBe('string');
      expect(config.unique_id).toMatch(ID);
      if (config.state_class !== undefined) expect(STATE_CLASSES).toContain(config.state_class);
      if (config.entity_category !== undefined) expect(ENTITY_CATEGORIES).toContain(config.entity_category);
      if (component === 'sensor' && config.device_class !== undefined) {
        expect(Object.keys(SENSOR_UNITS), c.topic).toContain(config.device_class);
        expect(SENSOR_UNITS[config.device_class as string], c.topic).toContain(config.unit_of_measurement);
      }
      if (component === 'binary_sensor') {
        expect(BINARY_CLASSES).toContain(config.device_class);
        expect([config.payload_on, config.payload_off]).toEqual(['ON', 'OFF']);
      }
      expect(typeof config.value_template).toBe('string');
      expect(config.value_template).toMatch(/^\{\{ .*value_json\.[a-zA-Z]+.* \}\}$/);
    }
  });

  it("availability is the device's retained status topic, online/offline", () => {
    for (const c of configs) {
      const { availability } = JSON.parse(c.payload) as { availability: Record<string, unknown>[] };
      expect(availability).toEqual([{ topic: 'canopy/greenhouse-7/status', payload_available: 'online', payload_not_available: 'offline' }]);
      for (const a of availability) for (const key of Object.keys(a)) expect(AVAILABILITY_KEYS).toContain(key);
    }
  });

  it('the device block carries identifiers, model and the firmware version from the info record', () => {
    const blocks = configs.map((c) => (JSON.parse(c.payload) as { device: Record<string, unknown> }).device);
    for (const d of blocks) {
      for (const key of Object.keys(d)) expect(DEVICE_KEYS).toContain(key);
      expect(d).toEqual({ identifiers: ['canopy_greenhouse-7'], name: 'greenhouse-7', manufacturer: 'Canopy', model: 'Canopy sensor node (telemetry schema 1)', sw_version: '2.3.0' });
    }
    for (const c of configs) {
      const { origin } = JSON.parse(c.payload) as { origin: Record<string, unknown> };
      for (const key of Object.keys(origin)) expect(ORIGIN_KEYS).toContain(key);
      expect(origin).toEqual({ name: 'canopy bridge', sw_version: '0.1.0' });
    }
  });

  it('values read from the JSON state the bridge publishes, and expire after three missed intervals', () => {
    const state = core.handle({ topic: 'canopy/greenhouse-7/telemetry', payload: encodeSample(sample), retain: false }, 1_700_000_010_000).publish;
    expect(state).toEqual([{ topic: 'canopy-json/greenhouse-7/state', retain: true, qos: 0, payload: JSON.stringify({ seq: 9, time: '2023-11-14T22:13:25.000Z', temperature: 21.5, humidity: 48.2, lux: 320, motion: false, dhtErrors: 2 }) }]);
    const json = JSON.parse(state[0].payload) as Record<string, unknown>;
    const byObject = Object.fromEntries(configs.map((c) => [c.topic.split('/')[3], JSON.parse(c.payload) as Record<string, unknown>]));
    expect(byObject.temperature).toMatchObject({ state_topic: 'canopy-json/greenhouse-7/state', value_template: '{{ value_json.temperature }}', device_class: 'temperature', unit_of_measurement: '°C', state_class: 'measurement', expire_after: 15 });
    expect(byObject.rssi).toMatchObject({ state_topic: 'canopy-json/greenhouse-7/health', value_template: '{{ value_json.rssi }}' });
    // Every field a template names is in the JSON it reads.
    for (const [object, c] of Object.entries(byObject)) {
      const key = /value_json\.([a-zA-Z]+)/.exec(c.value_template as string)![1];
      if (c.state_topic === 'canopy-json/greenhouse-7/state') expect(json, object).toHaveProperty(key);
    }
  });

  it('published once per device, and again when its firmware version changes (an OTA)', () => {
    const c = new BridgeCore({ bridgeVersion: '0.1.0' });
    expect(discovered(c).length).toBe(7);
    expect(c.handle({ topic: 'canopy/greenhouse-7/telemetry', payload: encodeSample(sample), retain: false }, 0).publish.filter((p) => p.topic.startsWith('homeassistant/'))).toEqual([]);
    const again = c.handle({ topic: 'canopy/greenhouse-7/info', payload: encodeInfo({ ...info, firmwareVersion: '2.4.0', otaSeq: 5 }), retain: false }, 0).publish.filter((p) => p.topic.startsWith('homeassistant/'));
    expect(again.length).toBe(7);
    expect((JSON.parse(again[0].payload) as { device: { sw_version: string } }).device.sw_version).toBe('2.4.0');
  });

  it('a device without Wi-Fi (lin: no RSSI) gets no signal strength sensor; --no-discovery publishes none', () => {
    const c = new BridgeCore({ bridgeVersion: '0.1.0' });
    const { rssi: _r, freeHeap: _f, ...lin } = info;
    const out = c.handle({ topic: 'canopy/lin-1/info', payload: encodeInfo(lin), retain: true }, 0).publish.map((p) => p.topic);
    expect(out.filter((t) => t.endsWith('/rssi/config'))).toEqual([]);
    expect(out.filter((t) => t.startsWith('homeassistant/')).length).toBe(6);
    const none = new BridgeCore({ bridgeVersion: '0.1.0', discoveryPrefix: null });
    expect(none.handle({ topic: 'canopy/lin-1/info', payload: encodeInfo(lin), retain: true }, 0).publish.map((p) => p.topic)).toEqual(['canopy-json/lin-1/info', 'canopy-json/lin-1/health']);
  });
});

describe('the JSON topic tree', () => {
  it('motion events, health, and what does not decode', () => {
    const c = new BridgeCore({ bridgeVersion: '0.1.0', discoveryPrefix: null });
    c.handle({ topic: 'canopy/d/telemetry', payload: encodeSample(sample), retain: false }, 0);
    const m = c.handle({ topic: 'canopy/d/events/motion', payload: encodeMotionEvent({ seq: 10, ts: 1_700_000_006, active: true }), retain: false }, 0);
    expect(m.publish.map((p) => [p.topic, JSON.parse(p.payload)])).toEqual([
      ['canopy-json/d/events/motion', { seq: 10, time: '2023-11-14T22:13:26.000Z', active: true }],
      ['canopy-json/d/state', { seq: 9, time: '2023-11-14T22:13:25.000Z', temperature: 21.5, humidity: 48.2, lux: 320, motion: true, dhtErrors: 2 }],
    ]);
    const h = c.handle({ topic: 'canopy/d/health', payload: encodeHealth(info), retain: false }, 0);
    expect(JSON.parse(h.publish[0].payload)).toEqual({ ts: 1_700_000_000, intervalMs: 5000, uptime: 12, freeHeap: 100_000, rssi: -61, outboxDepth: 0, dropped: 0, time: '2023-11-14T22:13:20.000Z' });
    const bad = c.handle({ topic: 'canopy/d/telemetry', payload: new Uint8Array([0xff, 0x00]), retain: false }, 0);
    expect(bad.publish).toEqual([]);
    expect(bad.row).toBeUndefined();
    expect(bad.error).toMatch(/^canopy\/d\/telemetry: /);
    expect(c.counts).toMatchObject({ samples: 1, decodeErrors: 1 });
  });

  it('a live sample becomes a history row; a retained one does not', () => {
    const c = new BridgeCore({ bridgeVersion: '0.1.0' });
    expect(c.handle({ topic: 'canopy/d/telemetry', payload: encodeSample(sample), retain: false }, 5).row).toEqual({ device: 'd', at: 1_700_000_005_000, sample });
    expect(c.handle({ topic: 'canopy/d/telemetry', payload: encodeSample(sample), retain: true }, 5).row).toBeUndefined();
  });
});
