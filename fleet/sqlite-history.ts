// The embedded history store: one SQLite file through better-sqlite3 (pinned to 12.x: 13 needs
// Node 22 and crashes Node 20 with a segmentation fault). One row per sample, the fields as
// columns, the primary key (device, at, seq) so a resent sample lands once and a range query for
// one device walks the key in time order.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { HISTORY_FIELDS, HistoryError, SCAN_PAGE, type HistoryPoint, type HistoryQuery, type HistoryRow, type HistoryStore, type ScanQuery } from './history.ts';

/** The part of better-sqlite3's API used here (its types are a separate package). */
interface Statement {
  run(...params: unknown[]): { changes: number };
  all(...params: unknown[]): unknown[];
}
interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(sql: string): unknown;
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  close(): void;
}
type DatabaseConstructor = new (path: string, options?: { readonly?: boolean; fileMustExist?: boolean }) => Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS samples (
  device      TEXT    NOT NULL,
  at          INTEGER NOT NULL,  -- Unix ms
  seq         INTEGER NOT NULL,
  temperature REAL,
  humidity    REAL,
  lux         INTEGER,
  motion      INTEGER NOT NULL,
  dht_errors  INTEGER NOT NULL,
  PRIMARY KEY (device, at, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS samples_at ON samples (at);
`;

const COLUMN: Record<(typeof HISTORY_FIELDS)[number], string> = {
  temperature: 'temperature',
  humidity: 'humidity',
  lux: 'lux',
  motion: 'motion',
  dhtErrors: 'dht_errors',
};

export interface SqliteOptions {
  /** Open an existing file for queries only; refuses a file that is not there. */
  readonly?: boolean;
}

interface StoredRow {
  device: string;
  at: number;
  seq: number;
  temperature: number | null;
  humidity: number | null;
  lux: number | null;
  motion: number;
  dht_errors: number;
}

export class SqliteHistory implements HistoryStore {
  readonly kind = 'sqlite';
  private readonly db: Database;
  private readonly insertBatch: (rows: HistoryRow[]) => void;

  constructor(
    readonly path: string,
    options: SqliteOptions = {},
  ) {
    if (options.readonly && path !== ':memory:' && !existsSync(path)) throw new HistoryError(`no history database at ${path}`);
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as DatabaseConstructor;
    try {
      this.db = new Sqlite(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
      if (!options.readonly) {
        // WAL: a reader (canopy history) never blocks the writer that records samples.
        this.db.pragma('journal_mode = WAL');
        this.db.exec(SCHEMA);
      }
      this.db.prepare('SELECT 1 FROM samples LIMIT 1').all();
    } catch (err) {
      throw new HistoryError(`${path} is not a Canopy history database: ${(err as Error).message}`);
    }
    const insert = this.readonlyGuard(options.readonly, () =>
      this.db.prepare('INSERT OR IGNORE INTO samples (device, at, seq, temperature, humidity, lux, motion, dht_errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    );
    this.insertBatch = this.db.transaction((rows: HistoryRow[]) => {
      const st = insert();
      for (const { device, at, sample: s } of rows) st.run(device, at, s.seq, s.temperature, s.humidity, s.lux, s.motion ? 1 : 0, s.dhtErrors);
    });
  }

  get display(): string {
    return this.path;
  }

  /** The batch in one transaction, synchronously: what the benchmark's raw reference is measured against. */
  insertNow(rows: HistoryRow[]): void {
    this.insertBatch(rows);
  }

  async insert(rows: HistoryRow[]): Promise<void> {
    this.insertBatch(rows);
  }

  async query(q: HistoryQuery): Promise<HistoryPoint[]> {
    const column = COLUMN[q.field];
    if (!column) throw new HistoryError(`unknown field "${q.field}"; one of ${HISTORY_FIELDS.join(', ')}`);
    const until = q.until ?? Number.MAX_SAFE_INTEGER;
    // The newest `limit` points, returned oldest first.
    const rows = this.db
      .prepare(`SELECT at, seq, ${column} AS value FROM samples WHERE device = ? AND at >= ? AND at < ? ORDER BY at DESC, seq DESC LIMIT ?`)
      .all(q.device, q.since, until, q.limit ?? -1) as HistoryPoint[];
    return rows.reverse();
  }

  async *scan(q: ScanQuery): AsyncIterable<HistoryRow> {
    const devices = q.devices ?? [];
    const where = ['at >= ?', 'at < ?', '(at, device, seq) > (?, ?, ?)'];
    if (devices.length) where.push(`device IN (${devices.map(() => '?').join(', ')})`);
    const page = this.db.prepare(`SELECT device, at, seq, temperature, humidity, lux, motion, dht_errors FROM samples WHERE ${where.join(' AND ')} ORDER BY at, device, seq LIMIT ${SCAN_PAGE}`);
    // Keyset pages: each one starts after the last row of the one before, so nothing holds the
    // connection between pages while the consumer writes.
    let after: [number, string, number] = [-Infinity, '', -Infinity];
    for (;;) {
      const rows = page.all(q.since ?? Number.MIN_SAFE_INTEGER, q.until ?? Number.MAX_SAFE_INTEGER, ...after, ...devices) as StoredRow[];
      for (const r of rows) yield storedRow(r);
      if (rows.length < SCAN_PAGE) return;
      const last = rows[rows.length - 1];
      after = [last.at, last.device, last.seq];
    }
  }

  async prune(before: number): Promise<number> {
    return this.db.prepare('DELETE FROM samples WHERE at < ?').run(before).changes;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private readonlyGuard(readonly: boolean | undefined, make: () => Statement): () => Statement {
    if (!readonly) {
      const st = make();
      return () => st;
    }
    return () => {
      throw new HistoryError(`${this.path} is open for reading only`);
    };
  }
}

function storedRow(r: StoredRow): HistoryRow {
  return {
    device: r.device,
    at: r.at,
    // The row's own time stands for ts: whether the device's clock or the receiver's set it is not stored.
    sample: { seq: r.seq, ts: Math.floor(r.at / 1000), temperature: r.temperature, humidity: r.humidity, lux: r.lux, motion: r.motion === 1, dhtErrors: r.dht_errors },
  };
}
