// Writes samples into a history store in batches: one transaction (SQLite) or one statement
// (PostgreSQL) per batch is what makes a store keep up with a fleet (bench/history.bench.ts).
// One insert is in flight at a time; what arrives meanwhile waits for the next batch. The bridge
// (fleet/bridge.ts) feeds a HistoryBatcher; HistoryRecorder binds one to a FleetWatcher.
import { EventEmitter } from 'node:events';
import type { Sample } from '../protocol/telemetry.ts';
import type { FleetWatcher } from './devices.ts';
import { HistoryError, historyRow, type HistoryRow, type HistoryStore } from './history.ts';

export interface RecorderOptions {
  /** Write when this many samples wait. Default 500. */
  batch?: number;
  /** And at least this often (ms) while any wait. Default 1000. */
  everyMs?: number;
}

/**
 * Emits 'written' (rows) after each batch is stored, and 'failed' (HistoryError) once when an
 * insert fails; after that it stores nothing more (the caller decides: the bridge exits).
 */
export class HistoryBatcher extends EventEmitter {
  private pending: HistoryRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  /** Samples written so far. */
  written = 0;
  /** Set once an insert failed. */
  failure: HistoryError | undefined;

  constructor(
    readonly store: HistoryStore,
    private readonly options: RecorderOptions = {},
  ) {
    super();
  }

  get waiting(): number {
    return this.pending.length;
  }

  add(row: HistoryRow): void {
    if (this.failure) return;
    this.pending.push(row);
    if (this.pending.length >= (this.options.batch ?? 500)) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.everyMs ?? 1000);
  }

  /** Writes what waits now (after the insert in flight, if any); resolves when it is stored or failed. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.writing) await this.writing;
    if (this.pending.length === 0 || this.failure) return;
    const rows = this.pending;
    this.pending = [];
    this.writing = this.store.insert(rows).then(
      () => {
        this.written += rows.length;
        this.emit('written', rows);
      },
      (err: unknown) => {
        this.failure = err instanceof HistoryError ? err : new HistoryError(`storing ${rows.length} samples in ${this.store.display} failed: ${(err as Error).message}`);
        this.emit('failed', this.failure);
      },
    );
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
    }
    // A full batch may have gathered while this one was written.
    if (this.pending.length >= (this.options.batch ?? 500)) await this.flush();
    else if (this.pending.length > 0) this.timer ??= setTimeout(() => void this.flush(), this.options.everyMs ?? 1000);
  }

  /** Writes the rest, then stops the timer. */
  async stop(): Promise<void> {
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Every live sample a FleetWatcher hears, into a store. */
export class HistoryRecorder extends HistoryBatcher {
  private readonly onSample = (id: string, sample: Sample, at: number) => this.add(historyRow(id, sample, at));

  constructor(
    private readonly watcher: FleetWatcher,
    store: HistoryStore,
    options: RecorderOptions = {},
  ) {
    super(store, options);
    watcher.on('sample', this.onSample);
  }

  /** Stops listening and writes the rest. */
  override async stop(): Promise<void> {
    this.watcher.off('sample', this.onSample);
    await super.stop();
  }
}
