// The fleet as `canopy devices` sees it: a pure fold of MQTT messages (retained and live) into
// one row per device. No broker, no timers: every call takes the time it happens at (Unix ms), so
// stale detection is tested with a fake clock (test/fleet-registry.test.ts).
//
// Liveness, per device:
//   offline  the retained status says "offline" (the device said so, or its will fired)
//   stale    status "online", but no sample for more than STALE_FACTOR intervals: a partition or a
//            hung app that the broker has not noticed yet (the will fires only after 1.5 keepalives)
//   online   status "online" and samples on time (or no interval known to judge by)
//   unknown  no status seen
import { decodeHealth, decodeInfo, type DeviceHealth, type DeviceInfo, type ResetReason } from '../protocol/info.ts';
import { decodeStatus, type TransferState } from '../protocol/ota/transfer.ts';
import { reasonFromCode } from '../protocol/ota/reasons.ts';
import { decodeSample, type Sample } from '../protocol/telemetry.ts';
import { Topics } from '../protocol/topics.ts';
import { utf8Decode } from '../protocol/utf8.ts';

/**
 * Samples are late after this many intervals. 1.5 leaves half an interval for latency and jitter
 * and still calls a device stale within two intervals of its last sample (issue 15's promise).
 */
export const STALE_FACTOR = 1.5;

export type Liveness = 'online' | 'stale' | 'offline' | 'unknown';

export interface OtaSummary {
  state: TransferState;
  /** protocol/ota/reasons.ts name, or the bare code when this build does not know it. */
  reason: string;
  seq: number;
  detail?: string;
}

export interface DeviceRow {
  id: string;
  liveness: Liveness;
  /** Last status text ("online", "offline"). */
  status?: string;
  /** Unix ms of the latest sign of life: a live message from the device, or the time in its latest info or health record. */
  lastSeen?: number;
  /** Unix ms the registry saw it go offline; undefined when it was already offline when we started. */
  offlineSince?: number;
  /** Unix ms since which samples are overdue (stale only). */
  staleSince?: number;
  firmwareVersion?: string;
  otaSeq?: number;
  schema?: number;
  resetReason?: ResetReason;
  health?: DeviceHealth;
  ota?: OtaSummary;
  lastSample?: Sample;
  /** Unix ms the last sample arrived (live) or was taken (its own ts). */
  lastSampleAt?: number;
  errors: {
    /** DHT read failures the device reports in its samples. */
    dht: number;
    /** Messages from the device this build could not decode. */
    decode: number;
    /** Messages the device's outbox dropped, from its health. */
    dropped: number;
  };
  /** The last decode error, for the --json output. */
  lastError?: string;
}

export interface IncomingMessage {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
}

interface State {
  row: Omit<DeviceRow, 'liveness' | 'staleSince'>;
  intervalMs?: number;
  /** When a live "online" came: a device that has just connected is not late yet. */
  onlineAt?: number;
}

export class DeviceRegistry {
  readonly topics: Topics;
  private readonly devices = new Map<string, State>();

  /** `startedAt`: when watching began; a device with no sample since then is judged from it. */
  constructor(
    readonly startedAt: number,
    topicPrefix = 'canopy',
  ) {
    this.topics = new Topics(topicPrefix);
  }

  get size(): number {
    return this.devices.size;
  }

  /** Folds one message in; ignores topics that are not a device's. Returns the device id, if any. */
  apply(m: IncomingMessage, now: number): string | undefined {
    const t = this.topics.parse(m.topic);
    if (!t) return undefined;
    if (t.kind === 'cmd' || (t.kind === 'ota' && t.sub !== 'status')) return undefined;
    const s = this.state(t.deviceId);
    const row = s.row;
    // A retained message is old news: only the time inside a record says when it was true.
    const live = !m.retain;
    try {
      switch (t.kind) {
        case 'status': {
          const text = utf8Decode(m.payload);
          if (text === 'offline' && row.status !== 'offline') row.offlineSince = live ? now : undefined;
          if (text === 'online') {
            row.offlineSince = undefined;
            if (live) {
              s.onlineAt = now;
              this.seen(row, now);
            }
          }
          row.status = text;
          return t.deviceId;
        }
        case 'telemetry': {
          const sample = decodeSample(m.payload);
          row.lastSample = sample;
          row.lastSampleAt = live ? now : sample.ts > 0 ? sample.ts * 1000 : undefined;
          row.errors.dht = sample.dhtErrors;
          if (live) this.seen(row, now);
          return t.deviceId;
        }
        case 'info': {
          const info: DeviceInfo = decodeInfo(m.payload);
          row.firmwareVersion = info.firmwareVersion;
          row.otaSeq = info.otaSeq;
          row.schema = info.schema;
          row.resetReason = info.resetReason;
          this.health(s, info, live, now);
          return t.deviceId;
        }
        case 'health':
          this.health(s, decodeHealth(m.payload), live, now);
          return t.deviceId;
        case 'ota': {
          const st = decodeStatus(m.payload);
          row.ota = { state: st.state, reason: reasonFromCode(st.reason) ?? String(st.reason), seq: st.seq, ...(st.detail === undefined ? {} : { detail: st.detail }) };
          if (live) this.seen(row, now);
          return t.deviceId;
        }
        case 'event':
          if (live) this.seen(row, now);
          return t.deviceId;
      }
    } catch (err) {
      row.errors.decode++;
      row.lastError = `${m.topic}: ${(err as Error).message}`;
    }
    return t.deviceId;
  }

  /** Every device's row as of `now`, sorted by id (numerically: dev-2 before dev-10). */
  rows(now: number): DeviceRow[] {
    return [...this.devices.values()].map((s) => this.judge(s, now)).sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  }

  row(id: string, now: number): DeviceRow | undefined {
    const s = this.devices.get(id);
    return s && this.judge(s, now);
  }

  private judge(s: State, now: number): DeviceRow {
    const row = s.row;
    let liveness: Liveness = row.status === 'offline' ? 'offline' : row.status === 'online' ? 'online' : 'unknown';
    let staleSince: number | undefined;
    if (liveness === 'online' && s.intervalMs !== undefined) {
      // Judged from the last sample, or from when we started listening (or the device came
      // online) if none has come since.
      const from = Math.max(row.lastSampleAt ?? 0, s.onlineAt ?? 0, this.startedAt);
      const due = from + STALE_FACTOR * s.intervalMs;
      if (now > due) {
        liveness = 'stale';
        staleSince = due;
      }
    }
    return { ...row, errors: { ...row.errors }, liveness, ...(staleSince === undefined ? {} : { staleSince }) };
  }

  private health(s: State, h: DeviceHealth, live: boolean, now: number): void {
    const { firmwareVersion: _v, otaSeq: _o, schema: _s, resetReason: _r, ...health } = h as DeviceInfo;
    s.row.health = health;
    s.intervalMs = h.intervalMs;
    s.row.errors.dropped = h.dropped;
    if (live) this.seen(s.row, now);
    else if (h.ts > 0) this.seen(s.row, h.ts * 1000);
  }

  private seen(row: State['row'], at: number): void {
    if (row.lastSeen === undefined || at > row.lastSeen) row.lastSeen = at;
  }

  private state(id: string): State {
    let s = this.devices.get(id);
    if (!s) {
      s = { row: { id, errors: { dht: 0, decode: 0, dropped: 0 } } };
      this.devices.set(id, s);
    }
    return s;
  }
}
