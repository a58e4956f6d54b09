// The live terminal view of a fleet, shared by `canopy sim` and `canopy monitor`: one row per
// device with its status (from the retained status topic and the will), its last reading, its
// message count and errors. Redrawn in place on a terminal, printed as plain blocks otherwise.
import type { DeviceRow } from './observer.ts';

export interface ViewHeader {
  title: string;
  /** Extra facts for the header line: broker, engine, device time. */
  facts: string[];
}

const COLUMNS = ['DEVICE', 'STATUS', 'TEMP °C', 'RH %', 'LUX', 'MOTION', 'MSGS', 'SEQ', 'ERRORS'];

export function renderTable(header: ViewHeader, rows: Iterable<DeviceRow>, maxRows = 40): string {
  const sorted = [...rows].sort((a, b) => a.device.localeCompare(b.device, 'en', { numeric: true }));
  const cells = sorted.slice(0, maxRows).map((r) => [
    r.device,
    r.status ?? '?',
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
  const online = sorted.filter((r) => r.status === 'online').length;
  const out = [`${header.title} — ${[...header.facts, `${online}/${sorted.length} online`].join(' — ')}`, '', line(COLUMNS), ...cells.map(line)];
  if (sorted.length > maxRows) out.push(`… and ${sorted.length - maxRows} more devices`);
  return out.join('\n');
}

function fmt(v: number | null | undefined, digits: number): string {
  if (v === undefined) return '';
  if (v === null) return 'n/a';
  return v.toFixed(digits);
}

/** Redraws the table every `everyMs` until stopped. */
export class LiveView {
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;

  constructor(
    private readonly draw: () => string,
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
    const text = this.draw();
    // Home, draw, clear what is left of an earlier, longer frame.
    if (this.tty) this.out.write(`\x1b[H\x1b[2J${text}\n`);
    else this.out.write(`${text}\n\n`);
  }
}
