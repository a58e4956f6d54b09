// The bridge without I/O: fed one MQTT message from the fleet at a time (topic, payload, retain,
// the time it came), it decodes it with the shared protocol decoders and says what to publish
// (readable JSON on a parallel topic tree, Home Assistant discovery configs) and which history row
// to store. fleet/bridge.ts is the edge: the broker session, the batches, the signals.
//
// The JSON tree (docs/fleet.md), beside the device's CBOR tree:
//   <json>/<id>/state          retained  the latest sample, motion kept current by motion events
//   <json>/<id>/events/motion            each motion event
//   <json>/<id>/info           retained  the info record
//   <json>/<id>/health         retained  the latest health record
import { decodeHealth, decodeInfo, type DeviceHealth, type DeviceInfo } from '../protocol/info.ts';
import { decodeMotionEvent, decodeSample, type Sample } from '../protocol/telemetry.ts';
import { Topics } from '../protocol/topics.ts';
import { utf8Decode } from '../protocol/utf8.ts';
import { DISCOVERY_PREFIX, discoveryConfigs, healthJson } from './ha-discovery.ts';
import { historyRow, type HistoryRow } from './history.ts';

export const JSON_PREFIX = 'canopy-json';

export interface BridgeCoreOptions {
  topicPrefix?: string;
  jsonPrefix?: string;
  /** Home Assistant's discovery prefix; discovery is off when null. */
  discoveryPrefix?: string | null;
  /** canopy's version, for the discovery origin block. */
  bridgeVersion: string;
}

export interface Publication {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
}

export interface BridgeInput {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
}

export interface BridgeOutput {
  publish: Publication[];
  /** A live sample to store. */
  row?: HistoryRow;
  /** Why the message could not be decoded. */
  error?: string;
}

interface DeviceState {
  state?: Record<string, unknown>;
  info?: DeviceInfo;
  health?: DeviceHealth;
  /** What the discovery configs were last published from: republished when it changes (an OTA). */
  discovered?: string;
}

const iso = (ts: number, fallback: number) => new Date(ts > 0 ? ts * 1000 : fallback).toISOString();

/** A sample as the JSON state carries it. */
export function sampleJson(s: Sample, receivedAt: number): Record<string, unknown> {
  return { seq: s.seq, time: iso(s.ts, receivedAt), temperature: s.temperature, humidity: s.humidity, lux: s.lux, motion: s.motion, dhtErrors: s.dhtErrors };
}

export class BridgeCore {
  readonly topics: Topics;
  readonly jsonPrefix: string;
  readonly discoveryPrefix: string | null;
  private readonly devices = new Map<string, DeviceState>();
  readonly counts = { messages: 0, samples: 0, decodeErrors: 0, discoveryConfigs: 0 };

  constructor(private readonly options: BridgeCoreOptions) {
    this.topics = new Topics(options.topicPrefix ?? 'canopy');
    this.jsonPrefix = options.jsonPrefix ?? JSON_PREFIX;
    new Topics(this.jsonPrefix); // the same level rules
    this.discoveryPrefix = options.discoveryPrefix === undefined ? DISCOVERY_PREFIX : options.discoveryPrefix;
    if (this.discoveryPrefix !== null) new Topics(this.discoveryPrefix);
  }

  /** What the bridge subscribes to: the fleet's telemetry, events, status, info and health. */
  filters(): string[] {
    const p = this.topics.prefix;
    return [`${p}/+/telemetry`, `${p}/+/events/+`, `${p}/+/status`, `${p}/+/info`, `${p}/+/health`];
  }

  jsonTopic(id: string, ...levels: string[]): string {
    return [this.jsonPrefix, id, ...levels].join('/');
  }

  get deviceCount(): number {
    return this.devices.size;
  }

  handle(m: BridgeInput, receivedAt: number): BridgeOutput {
    const t = this.topics.parse(m.topic);
    const out: BridgeOutput = { publish: [] };
    if (!t) return out;
    this.counts.messages++;
    const id = t.deviceId;
    let d = this.devices.get(id);
    if (!d) this.devices.set(id, (d = {}));
    const json = (topic: string, value: unknown, retain: boolean) => out.publish.push({ topic, payload: JSON.stringify(value), retain, qos: 0 });
    try {
      switch (t.kind) {
        case 'telemetry': {
          const s = decodeSample(m.payload);
          d.state = sampleJson(s, receivedAt);
          json(this.jsonTopic(id, 'state'), d.state, true);
          // A retained sample is old news the store may hold already, under another receive time.
          if (!m.retain) {
            out.row = historyRow(id, s, receivedAt);
            this.counts.samples++;
          }
          break;
        }
        case 'event': {
          if (t.sub !== 'motion') return out;
          const e = decodeMotionEvent(m.payload);
          json(this.jsonTopic(id, 'events', 'motion'), { seq: e.seq, time: iso(e.ts, receivedAt), active: e.active }, false);
          if (d.state) {
            d.state = { ...d.state, motion: e.active };
            json(this.jsonTopic(id, 'state'), d.state, true);
          }
          break;
        }
        case 'info': {
          d.info = decodeInfo(m.payload);
          d.health = d.info;
          json(this.jsonTopic(id, 'info'), { ...d.info, time: d.info.ts > 0 ? new Date(d.info.ts * 1000).toISOString() : null }, true);
          json(this.jsonTopic(id, 'health'), healthJson(d.info), true);
          break;
        }
        case 'health': {
          d.health = decodeHealth(m.payload);
          json(this.jsonTopic(id, 'health'), healthJson(d.health), true);
          break;
        }
        case 'status':
          utf8Decode(m.payload);
          break;
        default:
          return out;
      }
    } catch (err) {
      this.counts.decodeErrors++;
      out.error = `${m.topic}: ${(err as Error).message}`;
      return out;
    }
    this.discover(id, d, out);
    return out;
  }

  /** The discovery configs, when the device is new or what they say changed. */
  private discover(id: string, d: DeviceState, out: BridgeOutput): void {
    if (this.discoveryPrefix === null) return;
    const dev = {
      id,
      statusTopic: this.topics.status(id),
      stateTopic: this.jsonTopic(id, 'state'),
      healthTopic: this.jsonTopic(id, 'health'),
      firmwareVersion: d.info?.firmwareVersion,
      schema: d.info?.schema,
      intervalMs: d.health?.intervalMs,
      hasRssi: d.health?.rssi !== undefined,
    };
    const key = JSON.stringify(dev);
    if (d.discovered === key) return;
    d.discovered = key;
    for (const c of discoveryConfigs(dev, this.options.bridgeVersion, this.discoveryPrefix)) {
      out.publish.push({ topic: c.topic, payload: JSON.stringify(c.config), retain: true, qos: 1 });
      this.counts.discoveryConfigs++;
    }
  }
}
