// The SQLite history store's batch insert rate (SqliteHistory.insert, 1,000 samples a
// transaction into a WAL file, keyed and indexed) against raw better-sqlite3 inserts of the same
// rows into a bare table in another file, same run. The fleet it stands for: 2,000 devices at
// 1 msg/s, so the store must keep up with 2,000 samples/s.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { historyRow, type HistoryRow } from '../fleet/history.ts';
import { SqliteHistory } from '../fleet/sqlite-history.ts';
import type { Sample } from '../protocol/telemetry.ts';
import { compare, row, type BenchRow } from './harness.ts';

const BATCH = 1000;
const DEVICES = 2000;

export default async function (): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'canopy-history-bench-'));
  try {
    const store = new SqliteHistory(join(dir, 'store.sqlite'));
    type Db = { prepare(sql: string): { run(...a: unknown[]): unknown; all(...a: unknown[]): unknown[] }; exec(sql: string): void; pragma(s: string): unknown; transaction(fn: (rows: HistoryRow[]) => void): (rows: HistoryRow[]) => void; close(): void };
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => Db;
    const raw = new Sqlite(join(dir, 'raw.sqlite'));
    raw.pragma('journal_mode = WAL');
    raw.exec('CREATE TABLE t (device TEXT, at INTEGER, seq INTEGER, temperature REAL, humidity REAL, lux INTEGER, motion INTEGER, dht_errors INTEGER)');
    const st = raw.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const rawInsert = raw.transaction((rows: HistoryRow[]) => {
      for (const { device, at, sample: s } of rows) st.run(device, at, s.seq, s.temperature, s.humidity, s.lux, s.motion ? 1 : 0, s.dhtErrors);
    });
    // A fleet of 2,000 devices at 1 msg/s: each batch is half a second of the whole fleet.
    let seq = 0;
    const t0 = Date.now() - 3_600_000;
    const batch = (): HistoryRow[] => {
      const rows: HistoryRow[] = [];
      for (let i = 0; i < BATCH; i++, seq++) {
        const sample: Sample = { seq, ts: 0, temperature: 20 + (seq % 50) / 10, humidity: 40, lux: seq % 1000, motion: false, dhtErrors: 0 };
        rows.push(historyRow(`dev-${seq % DEVICES}`, sample, t0 + Math.floor(seq / DEVICES) * 1000));
      }
      return rows;
    };
    const ins = compare(() => store.insertNow(batch()), () => rawInsert(batch()), BATCH, 5, 300);
    store.close();
    raw.close();
    return [
      row('history: SQLite batch insert (1,000 samples a transaction)', Math.round(ins.ours), 'samples/s', 'raw better-sqlite3 inserts, no key, same run', ins.reference),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
