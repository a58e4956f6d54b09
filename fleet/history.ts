// The telemetry history: what every sample said, per device and time, behind one small interface
// so the SQLite file (fleet/sqlite-history.ts) and PostgreSQL (fleet/pg-history.ts) answer the
// same queries; fleet/open-history.ts picks one from `--db`. The writer is `canopy bridge`
// (through fleet/recorder.ts's batches); `canopy history` and `canopy export` read it. Every
// method is async because a server database is; SQLite answers at once.
import type { Sample } from '../protocol/telemetry.ts';

/** The sample fields a history query can ask for, as `--field` names them. */
export const HISTORY_FIELDS = ['temperature', 'humidity', 'lux', 'motion', 'dhtErrors'] as const;
export type HistoryField = (typeof HISTORY_FIELDS)[number];

export interface HistoryRow {
  device: string;
  /** Unix ms the sample was taken (its own ts) or, while the device's clock was unset, received. */
  at: number;
  sample: Sample;
}

export interface HistoryPoint {
  at: number;
  seq: number;
  /** null when the sensor gave no value; motion reads 0/1. */
  value: number | null;
}

export interface HistoryQuery {
  device: string;
  field: HistoryField;
  /** Unix ms, inclusive. */
  since: number;
  /** Unix ms, exclusive; now when absent. */
  until?: number;
  /** At most this many points, the newest kept; all when absent. */
  limit?: number;
}

export interface ScanQuery {
  /** Only these devices; every device in the store (the fleet) when absent or empty. */
  devices?: string[];
  /** Unix ms, inclusive; from the first sample when absent. */
  since?: number;
  /** Unix ms, exclusive; to the last when absent. */
  until?: number;
}

export interface HistoryStore {
  /** 'sqlite' or 'postgres', for messages and benchmark names. */
  readonly kind: string;
  /** Where it is, printable (no password). */
  readonly display: string;
  /** Stores a batch in one transaction; a sample already stored (same device and seq and time) is kept once. */
  insert(rows: HistoryRow[]): Promise<void>;
  /** Points in time order. */
  query(q: HistoryQuery): Promise<HistoryPoint[]>;
  /** Whole rows in (time, device, seq) order, read a page at a time so an export of years stays small in memory. */
  scan(q: ScanQuery): AsyncIterable<HistoryRow>;
  /** Deletes samples taken before `before` (Unix ms); returns how many. The retention setting. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
  /** A server store: resolves with the error when the connection drops, even with nothing to write. */
  readonly whenLost?: Promise<HistoryError>;
}

/** Rows per page of a scan. */
export const SCAN_PAGE = 1000;

export class HistoryError extends Error {
  override name = 'HistoryError';
}

/** The row for a sample heard at `receivedAt`: the device's own time when its clock is set. */
export function historyRow(device: string, sample: Sample, receivedAt: number): HistoryRow {
  return { device, at: sample.ts > 0 ? sample.ts * 1000 : receivedAt, sample };
}

/** "90s", "15m", "1h", "7d" → ms; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/**
 * A point in time as `--since`/`--until` take it: a duration back from `now` ("1h") or an ISO
 * 8601 date or time ("2026-05-01", "2026-05-01T12:00:00Z"). undefined when it is neither.
 */
export function parseTime(text: string, now: number): number | undefined {
  const span = parseDuration(text);
  if (span !== undefined) return now - span;
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/** The columns of an export, in order: CSV's header and the keys of each JSON line. */
export const EXPORT_COLUMNS = ['time', 'device', 'seq', 'temperature', 'humidity', 'lux', 'motion', 'dhtErrors'] as const;

export function exportJson(r: HistoryRow): string {
  const s = r.sample;
  return JSON.stringify({ time: new Date(r.at).toISOString(), device: r.device, seq: s.seq, temperature: s.temperature, humidity: s.humidity, lux: s.lux, motion: s.motion, dhtErrors: s.dhtErrors });
}

export function exportCsv(r: HistoryRow): string {
  const s = r.sample;
  const v = (x: number | null) => (x === null ? '' : String(x));
  return [new Date(r.at).toISOString(), csvText(r.device), s.seq, v(s.temperature), v(s.humidity), v(s.lux), s.motion ? 1 : 0, s.dhtErrors].join(',');
}

/** RFC 4180 quoting, for a device id with a comma or quote in it (ids are topic levels: anything but / + #). */
function csvText(t: string): string {
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}
