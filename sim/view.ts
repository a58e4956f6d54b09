// The live terminal view of a fleet, shared by `canopy sim` and `canopy monitor`: one row per
// device with its status (from the retained status topic and the will, or stale when its samples
// stop), when it was last heard, its firmware version, its last reading, its message count and
// errors. Redrawn in place on a terminal, printed as plain blocks otherwise; a frame never outgrows
// the terminal, so the header stays on screen however small it is.
import type { DeviceRow } from './observer.ts';

export interface ViewHeader {
  title: string;
  /** Extra facts for the header line: broker, engine, device time. */
  facts: string[];
}

const COLUMNS = ['DEVICE', 'STATUS', 'LAST SEEN', 'VERSION', 'TEMP °C', 'RH %', 'LUX', 'MOTION', 'MSGS', 'SEQ', 'ERRORS'];

/**
 * Samples are late after this many intervals: half an interval for latency and jitter, and a
 * partitioned device still shows stale within two intervals of its last sample, long before the
 * broker's keepalive fires its will. The same rule as `canopy devices` (fleet/registry.ts).
 */
export const STALE_INTERVALS = 1.5;

/** "online", "stale" (online, but samples overdue), or the status as the device or its will said it. */
export function liveStatus(r: DeviceRow, now: number): string {
  if (r.status !== 'online' || r.intervalMs === undefined) return r.status ?? '?';
  const from = r.lastSampleAt ?? r.lastSeen;
  return from !== undefined && now - from > STALE_INTERVALS * r.intervalMs ? 'stale' : 'online';
}

export interface TableOptions {
  /** At most this many device rows; default 40. */
  maxRows?: number;
  /** The observer's clock now (its `now` option), for ages and staleness; performance.now() by default. */
  now?: number;
}

export function renderTable(header: ViewHeader, rows: Iterable<DeviceRow>, options: number | TableOptions = {}): string {
  const { maxRows = 40, now = performance.now() } = typeof options === 'number' ? { maxRows: options } : options;
  const sorted = [...rows].sort((a, b) => a.device.localeCompare(b.device, 'en', { numeric: true }));
  const cells = sorted.slice(0, Math.max(0, maxRows)).map((r) => [
    r.device,
    liveStatus(r, now),
    r.lastSeen === undefined ? '' : ago(now - r.lastSeen),
    r.firmwareVersion ?? '',
    fmt(r.temperature, 1),
    fmt(r.humidity, 1),
    fmt(r.lux, 0),
    r.motion === undefined ? '' : r.motion ? 'yes' : '-',
    String(r.messages),
    r.lastSeq === undefined ? '' : String(r.lastSeq),
    String(r.errors + r.dhtErrors),
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const states = sorted.map((r) => liveStatus(r, now));
  const online = states.filter((s) => s === 'online').length;
  const stale = states.filter((s) => s === 'stale').length;
  const counts = `${online}/${sorted.length} online${stale ? `, ${stale} stale` : ''}`;
  const out = [`${header.title} — ${[...header.facts, counts].join(' — ')}`, '', line(COLUMNS), ...cells.map(line)];
  if (sorted.length > cells.length) out.push(`… and ${sorted.length - cells.length} more devices`);
  return out.join('\n');
}

/** Header, blank line, column names: what renderTable prints before the first device. */
export const TABLE_HEAD_LINES = 3;

/** Device rows that fit a terminal of `height` lines with `reserved` lines under the table (the "more" line counts). */
export function rowsThatFit(height: number | undefined, reserved = 0): number {
  if (!height) return 40;
  return Math.max(0, height - TABLE_HEAD_LINES - 1 - reserved - 1);
}

/** "12s ago", "5m ago", "3h ago". */
function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

/**
 * The frame cut to the terminal: lines no wider than it (a wrapped line would scroll the header
 * away) and no more of them than it has rows, the first lines (the header) kept.
 */
export function fitFrame(text: string, rows: number | undefined, columns: number | undefined): string {
  let lines = text.split('\n');
  // One row stays free for the cursor after the frame.
  if (rows && lines.length > rows - 1) {
    const keep = Math.max(1, rows - 2);
    lines = [...lines.slice(0, keep), `… ${lines.length - keep} more lines (a taller terminal shows them)`];
  }
  if (columns) lines = lines.map((l) => ([...l].length > columns ? `${[...l].slice(0, Math.max(0, columns - 1)).join('')}…` : l));
  return lines.join('\n');
}

function fmt(v: number | null | undefined, digits: number): string {
  if (v === undefined) return '';
  if (v === null) return 'n/a';
  return v.toFixed(digits);
}

/** The terminal's size, for a draw that fits its rows to it; undefined when not a terminal. */
export interface ViewSize {
  rows?: number;
  columns?: number;
}

/** Redraws the table every `everyMs` until stopped. */
export class LiveView {
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;

  constructor(
    private readonly draw: (size: ViewSize) => string,
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly everyMs = 500,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  start(): void {
    this.render();
    this.timer = setInterval(() => this.render(), this.tty ? this.everyMs : Math.max(this.everyMs, 5000));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.render();
  }

  private render(): void {
    const size: ViewSize = this.tty ? { rows: this.out.rows, columns: this.out.columns } : {};
    const text = this.tty ? fitFrame(this.draw(size), size.rows, size.columns) : this.draw(size);
    // Home, draw, clear what is left of an earlier, longer frame.
    if (this.tty) this.out.write(`\x1b[H\x1b[2J${text}\n`);
    else this.out.write(`${text}\n\n`);
  }
}
