// Watches a fleet from the broker's side, as an operator would: subscribes to the fleet's topics
// and decodes everything with the shared protocol module. Feeds the live view, the --json
// stream and the scenario assertions. Used by `canopy sim` and `canopy monitor`.
import { EventEmitter } from 'node:events';
import { Session, type SessionEvent } from '../protocol/session/session.ts';
import { decodeMotionEvent, decodeSample, SENSOR_NODE_TELEMETRY, type MotionEvent, type Sample } from '../protocol/telemetry.ts';
import { schemaIdOfPayload, TelemetryDecoder, type Telemetry, type TelemetryRecord } from '../protocol/telemetry-schema.ts';
import { decodeHealth, decodeInfo } from '../protocol/info.ts';
import { Topics, type ParsedTopic } from '../protocol/topics.ts';

/** Topics remembered as parsed: room for a 20,000-device fleet's five topics each. */
const MAX_PARSED = 100_000;
import { utf8Decode } from '../protocol/utf8.ts';
import { SessionDriver, type TlsFiles } from '../host/transport.ts';
import type { NetActivity } from '../host/device-socket.ts';
import type { QoS } from '../protocol/mqtt/packets.ts';

export type Observation =
  | { kind: 'telemetry'; device: string; at: number; sample: Sample; dup: boolean }
  /** A sample of an app's own declared telemetry (any schema but the sensor-node's). */
  | { kind: 'record'; device: string; at: number; schema: number; app: string; record: TelemetryRecord; dup: boolean }
  | { kind: 'motion'; device: string; at: number; event: MotionEvent }
  | { kind: 'status'; device: string; at: number; status: string; retained: boolean }
  | { kind: 'decode-error'; device: string; at: number; topic: string; message: string };

export interface DeviceRow {
  device: string;
  /** From the retained status topic: "online", or "offline" (said by the device or its will). */
  status: string | undefined;
  temperature: number | null | undefined;
  humidity: number | null | undefined;
  lux: number | null | undefined;
  motion: boolean | undefined;
  messages: number;
  /** Decode errors seen here plus the DHT read failures the device reports. */
  errors: number;
  dhtErrors: number;
  lastSeq: number | undefined;
  /** Observer clock of the latest live message from the device (the live view's LAST SEEN). */
  lastSeen?: number;
  /** Observer clock of the latest sample: stale is judged from it. */
  lastSampleAt?: number;
  /** From the device's info record. */
  firmwareVersion?: string;
  /** The telemetry interval (ms) from its info or health record: how late is late. */
  intervalMs?: number;
}

export interface ObserverOptions {
  broker: string;
  topicPrefix?: string;
  clientId?: string;
  /** The clock observations are stamped with (the simulator's device time). */
  now?: () => number;
  /** TLS files for an mqtts:// broker (the simulator's --ca). */
  tls?: TlsFiles;
  /** Where session events count as network activity (the simulator run's). */
  activity?: NetActivity;
  /**
   * QoS of the fleet subscription (default 2: `canopy monitor` sees each message once). The
   * simulator asks for the highest QoS its devices publish at, at least 1: at QoS 2 every sample
   * cost the observer two more packets (PUBREC out, PUBREL in, PUBCOMP out) that a QoS 1 fleet
   * gains nothing from.
   */
  qos?: QoS;
  /** Telemetry declarations of the apps in the fleet, besides the sensor-node's (decoded by their schema id). */
  telemetry?: readonly Telemetry[];
}

export class FleetObserver extends EventEmitter {
  readonly topics: Topics;
  /** One row per device: the observer's whole memory, so it stays flat however long it runs. */
  readonly rows = new Map<string, DeviceRow>();
  readonly driver: SessionDriver;
  private readonly now: () => number;
  private readonly activity: NetActivity | undefined;
  private readonly qos: QoS;
  private readonly parsed = new Map<string, ParsedTopic | null>();
  private readonly decoder: TelemetryDecoder;

  constructor(options: ObserverOptions) {
    super();
    this.topics = new Topics(options.topicPrefix ?? 'canopy');
    this.now = options.now ?? (() => performance.now());
    this.activity = options.activity;
    this.qos = options.qos ?? 2;
    this.decoder = new TelemetryDecoder([SENSOR_NODE_TELEMETRY, ...(options.telemetry ?? [])]);
    const session = new Session({
      clientId: options.clientId ?? `canopy-monitor-${Math.floor(Math.random() * 1e9).toString(36)}`,
      // Persistent, so a broker restart in the middle of a run loses nothing we were sent.
      cleanSession: false,
      keepalive: 30,
      backoff: { baseMs: 100, capMs: 2000 },
    });
    this.driver = new SessionDriver(session, options.broker, { tls: options.tls });
    this.driver.on('event', (e: SessionEvent) => this.onSessionEvent(e));
  }

  /**
   * Connects and subscribes to the whole fleet; resolves on the SUBACK. An unreachable or refusing
   * broker does not reject: the session keeps retrying, and each failure is a 'session' event
   * (connection-lost, with the reason) for the caller to show.
   */
  start(): Promise<void> {
    const subscribed = new Promise<void>((resolve, reject) => {
      const on = (e: SessionEvent) => {
        if (e.type === 'subscribed') {
          this.driver.off('event', on);
          resolve();
        } else if (e.type === 'subscribe-failed') {
          this.driver.off('event', on);
          reject(new Error(`broker refused the subscription to ${e.filter}`));
        }
      };
      this.driver.on('event', on);
    });
    this.driver.subscribe([{ topic: this.topics.allFilter(), qos: this.qos }]);
    this.driver.start();
    return subscribed;
  }

  stop(): Promise<void> {
    return this.driver.stop();
  }

  row(device: string): DeviceRow {
    let r = this.rows.get(device);
    if (!r) {
      r = { device, status: undefined, temperature: undefined, humidity: undefined, lux: undefined, motion: undefined, messages: 0, errors: 0, dhtErrors: 0, lastSeq: undefined };
      this.rows.set(device, r);
    }
    return r;
  }

  /**
   * A fleet uses a few topics per device over and over: each is split and checked once. Bounded,
   * since a broker can send any topic under the filter: when full it starts again.
   */
  private parse(topic: string): ParsedTopic | null {
    let p = this.parsed.get(topic);
    if (p === undefined) {
      if (this.parsed.size >= MAX_PARSED) this.parsed.clear();
      p = this.topics.parse(topic);
      this.parsed.set(topic, p);
    }
    return p;
  }

  private onSessionEvent(e: SessionEvent): void {
    this.activity?.note();
    if (e.type !== 'message') {
      this.emit('session', e);
      return;
    }
    const parsed = this.parse(e.topic);
    if (!parsed) return;
    const device = parsed.deviceId;
    const at = this.now();
    const row = this.row(device);
    if (!e.retain) row.lastSeen = at;
    let o: Observation | undefined;
    try {
      // Identity and health feed the row only: no observation, so --json and the scenario
      // assertions see what they always saw.
      if (parsed.kind === 'info' || parsed.kind === 'health') {
        if (parsed.kind === 'info') {
          const info = decodeInfo(e.payload);
          row.firmwareVersion = info.firmwareVersion;
          row.intervalMs = info.intervalMs;
        } else row.intervalMs = decodeHealth(e.payload).intervalMs;
        return;
      }
      if (parsed.kind === 'telemetry' && schemaIdOfPayload(e.payload) !== undefined) {
        const { schema, record } = this.decoder.decode(e.payload);
        row.lastSeq = record.seq;
        row.lastSampleAt = at;
        o = { kind: 'record', device, at, schema: schema.id, app: schema.declaration.name, record, dup: e.dup };
      } else if (parsed.kind === 'telemetry') {
        const sample = decodeSample(e.payload);
        row.temperature = sample.temperature;
        row.humidity = sample.humidity;
        row.lux = sample.lux;
        row.motion = sample.motion;
        row.dhtErrors = sample.dhtErrors;
        row.lastSeq = sample.seq;
        row.lastSampleAt = at;
        o = { kind: 'telemetry', device, at, sample, dup: e.dup };
      } else if (parsed.kind === 'event' && parsed.sub === 'motion') {
        const event = decodeMotionEvent(e.payload);
        row.motion = event.active;
        o = { kind: 'motion', device, at, event };
      } else if (parsed.kind === 'status') {
        const status = utf8Decode(e.payload);
        row.status = status;
        o = { kind: 'status', device, at, status, retained: e.retain };
      } else return;
      row.messages++;
    } catch (err) {
      row.errors++;
      o = { kind: 'decode-error', device, at, topic: e.topic, message: (err as Error).message };
    }
    this.emit('observation', o);
  }
}

/** One JSON line per observation, with a `device` field, for --json. */
export function observationJson(o: Observation): string {
  return JSON.stringify(o);
}
