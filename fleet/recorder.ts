// Writes every live sample a FleetWatcher hears into a history store, in batches: one
// transaction per batch is what makes SQLite keep up with a fleet (bench/history.bench.ts). The
// part of issue 15.3's bridge that stores history; the bridge should reuse it.
import type { Sample } from '../protocol/telemetry.ts';
import type { FleetWatcher } from './devices.ts';
import { historyRow, type HistoryRow, type HistoryStore } from './history.ts';

export interface RecorderOptions {
  /** Write when this many samples wait. Default 500. */
  batch?: number;
  /** And at least this often (ms) while any wait. Default 1000. */
  everyMs?: number;
}

export class HistoryRecorder {
  private pending: HistoryRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly onSample = (id: string, sample: Sample, at: number) => this.add(historyRow(id, sample, at));
  /** Samples written so far. */
  written = 0;

  constructor(
    private readonly watcher: FleetWatcher,
    private readonly store: HistoryStore,
    private readonly options: RecorderOptions = {},
  ) {
    watcher.on('sample', this.onSample);
  }

  /** Writes what waits now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.store.insert(rows);
    this.written += rows.length;
  }

  /** Stops listening and writes the rest. */
  stop(): void {
    this.watcher.off('sample', this.onSample);
    this.flush();
  }

  private add(row: HistoryRow): void {
    this.pending.push(row);
    if (this.pending.length >= (this.options.batch ?? 500)) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.everyMs ?? 1000);
  }
}
