// `canopy devices` without the command line: a watcher that feeds a DeviceRegistry from a broker,
// and the table and JSON renderings of its rows. The watcher knows when the broker has handed
// over every retained record, without a quiet-period guess: after the fleet's SUBACK it publishes
// to a private topic it is also subscribed to, and the broker delivers that message after the
// retained ones it queued for the subscription (MQTT keeps one client's messages in order).
import { EventEmitter } from 'node:events';
import { Session } from '../protocol/session/session.ts';
import type { SessionEvent } from '../protocol/session/events.ts';
import { SessionDriver, type BrokerAddress, type TlsFiles } from '../host/transport.ts';
import { DeviceRegistry, type DeviceRow } from './registry.ts';

export interface WatcherOptions {
  /** A URL, or the address (with its login) from cli/broker-flags.ts. */
  broker: string | BrokerAddress;
  /** TLS files for an mqtts:// broker (CA, client certificate and key). */
  tls?: TlsFiles;
  topicPrefix?: string;
  /** Unix ms; Date.now by default. */
  now?: () => number;
  /** Give up reaching the broker after this long (ms). Default 10,000. */
  connectTimeoutMs?: number;
}

export class BrokerUnreachable extends Error {
  override name = 'BrokerUnreachable';
}

/** Emits 'device' (id) after each message folded in, and 'sample' (id, sample, receivedAt) for each live sample. */
export class FleetWatcher extends EventEmitter {
  readonly registry: DeviceRegistry;
  private readonly driver: SessionDriver;
  private readonly now: () => number;
  private readonly syncTopic: string;

  constructor(private readonly options: WatcherOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.registry = new DeviceRegistry(this.now(), options.topicPrefix);
    const clientId = `canopy-devices-${Math.random().toString(36).slice(2, 10)}`;
    this.syncTopic = `canopy-devices/${clientId}/sync`;
    this.driver = new SessionDriver(new Session({ clientId, cleanSession: true, keepalive: 30, backoff: { baseMs: 200, capMs: 5000 } }), options.broker, { tls: options.tls });
  }

  /** Subscribes the fleet's records; resolves once every retained one is in the registry. */
  start(): Promise<void> {
    const p = this.registry.topics.prefix;
    const filters = [`${p}/+/status`, `${p}/+/info`, `${p}/+/health`, `${p}/+/ota/status`, `${p}/+/telemetry`, `${p}/+/events/+`];
    const { host, port } = this.driver.address;
    return new Promise<void>((resolve, reject) => {
      let connected = false;
      let synced = false;
      const fail = (why: string) => {
        clearTimeout(timer);
        this.driver.kill();
        reject(new BrokerUnreachable(`cannot reach the broker at ${host}:${port}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${this.options.connectTimeoutMs ?? 10_000} ms`), this.options.connectTimeoutMs ?? 10_000);
      this.driver.on('event', (e: SessionEvent) => {
        if (e.type === 'connected') connected = true;
        else if (e.type === 'connect-refused') fail(`it refused the connection (${e.reason})`);
        // A CLI that lists devices should not sit retrying a broker it never reached.
        else if (e.type === 'connection-lost' && !connected) fail(e.reason);
        else if (e.type === 'subscribe-failed') fail(`it refused the subscription to ${e.filter}`);
        else if (e.type === 'subscribed' && e.filter === this.syncTopic) this.driver.publish(this.syncTopic, new Uint8Array([1]), { qos: 1 });
        else if (e.type === 'message') {
          if (e.topic === this.syncTopic) {
            if (!synced) {
              synced = true;
              clearTimeout(timer);
              resolve();
            }
            return;
          }
          const at = this.now();
          const id = this.registry.apply({ topic: e.topic, payload: e.payload, retain: e.retain }, at);
          if (id === undefined) return;
          this.emit('device', id);
          if (e.retain || this.registry.topics.parse(e.topic)?.kind !== 'telemetry') return;
          // Only a sample that decoded: an undecodable one leaves the previous sample in the row.
          const row = this.registry.row(id, at);
          if (row?.lastSample && row.lastSampleAt === at) this.emit('sample', id, row.lastSample, at);
        }
      });
      this.driver.subscribe([...filters, this.syncTopic].map((topic) => ({ topic, qos: 1 as const })));
      this.driver.start();
    });
  }

  rows(): DeviceRow[] {
    return this.registry.rows(this.now());
  }

  stop(): Promise<void> {
    return this.driver.stop();
  }
}

/** Connects, reads the retained records, disconnects: the rows as the broker holds them now. */
export async function readDevices(options: WatcherOptions): Promise<DeviceRow[]> {
  const w = new FleetWatcher(options);
  await w.start();
  const rows = w.rows();
  await w.stop();
  return rows;
}

export function onlineCount(rows: DeviceRow[]): number {
  return rows.filter((r) => r.liveness === 'online').length;
}

const COLUMNS = ['DEVICE', 'STATE', 'LAST SEEN', 'OFFLINE SINCE', 'VERSION', 'OTA SEQ', 'LAST OTA', 'LAST SAMPLE', 'AGE', 'ERRORS'];

/** The table: one row per device, times as ages relative to `now` (Unix ms). */
export function renderDevices(rows: DeviceRow[], now: number, title = 'canopy devices'): string {
  const cells = rows.map((r) => [
    r.id,
    r.liveness,
    ago(r.lastSeen, now),
    r.liveness !== 'offline' ? '' : r.offlineSince === undefined ? 'before we looked' : ago(r.offlineSince, now),
    r.firmwareVersion ?? '?',
    r.otaSeq === undefined ? '' : String(r.otaSeq),
    r.ota ? `${r.ota.state}${r.ota.reason === 'ok' ? '' : ` (${r.ota.reason})`} seq ${r.ota.seq}` : '',
    r.lastSample ? sampleText(r.lastSample) : '',
    ago(r.lastSampleAt, now),
    errorsText(r),
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const head = `${title} — ${onlineCount(rows)}/${rows.length} online${rows.some((r) => r.liveness === 'stale') ? `, ${rows.filter((r) => r.liveness === 'stale').length} stale` : ''}`;
  if (rows.length === 0) return `${head}\n\nno devices: nothing retained under this prefix`;
  return [head, '', line(COLUMNS), ...cells.map(line)].join('\n');
}

/** One JSON object per device, times as ISO strings and ages in seconds. */
export function deviceJson(r: DeviceRow, now: number): Record<string, unknown> {
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  const age = (t: number | undefined) => (t === undefined ? null : Math.max(0, Math.round((now - t) / 1000)));
  return {
    id: r.id,
    liveness: r.liveness,
    status: r.status ?? null,
    lastSeen: iso(r.lastSeen),
    offlineSince: iso(r.offlineSince),
    staleSince: iso(r.staleSince),
    firmwareVersion: r.firmwareVersion ?? null,
    otaSeq: r.otaSeq ?? null,
    schema: r.schema ?? null,
    resetReason: r.resetReason ?? null,
    health: r.health ?? null,
    ota: r.ota ?? null,
    lastSample: r.lastSample ?? null,
    lastSampleAt: iso(r.lastSampleAt),
    lastSampleAgeS: age(r.lastSampleAt),
    errors: r.errors,
    ...(r.lastError === undefined ? {} : { lastError: r.lastError }),
  };
}

function sampleText(s: NonNullable<DeviceRow['lastSample']>): string {
  const parts = [`#${s.seq}`];
  parts.push(s.temperature === null ? 'T n/a' : `${s.temperature.toFixed(1)}°C`);
  if (s.humidity !== null) parts.push(`${s.humidity.toFixed(1)}%`);
  if (s.lux !== null) parts.push(`${s.lux}lx`);
  return parts.join(' ');
}

function errorsText(r: DeviceRow): string {
  const e = r.errors;
  const parts = [];
  if (e.dht) parts.push(`dht ${e.dht}`);
  if (e.dropped) parts.push(`dropped ${e.dropped}`);
  if (e.decode) parts.push(`undecodable ${e.decode}`);
  return parts.join(', ') || '0';
}

/** "12s ago", "5m ago", "3h ago", "2d ago"; empty when unknown. */
export function ago(t: number | undefined, now: number): string {
  if (t === undefined) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}
