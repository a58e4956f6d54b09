// The server history store: PostgreSQL through node-postgres (pg), for a fleet that outgrows one
// file or a site that already runs PostgreSQL. The same schema as the SQLite file (one row per
// sample, the fields as columns, the primary key (device, at, seq), an index on at for retention),
// except that `at` is a timestamptz so other tools (Grafana, psql) read real times. A batch is one
// INSERT … SELECT FROM unnest(arrays): one statement and one round trip whatever its size.
import pg from 'pg';
import { HISTORY_FIELDS, HistoryError, SCAN_PAGE, type HistoryField, type HistoryPoint, type HistoryQuery, type HistoryRow, type HistoryStore, type ScanQuery } from './history.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS samples (
  device      text             NOT NULL,
  at          timestamptz      NOT NULL,
  seq         bigint           NOT NULL,
  temperature double precision,
  humidity    double precision,
  lux         integer,
  motion      boolean          NOT NULL,
  dht_errors  integer          NOT NULL,
  PRIMARY KEY (device, at, seq)
);
CREATE INDEX IF NOT EXISTS samples_at ON samples (at);
`;

/** Unix ms out of a timestamptz, as a JS number (a bare bigint would come back as text). */
const MS = 'round(extract(epoch from at) * 1000)::float8';
const FROM_MS = (param: string) => `to_timestamp(${param}::float8 / 1000)`;

const COLUMN: Record<HistoryField, string> = {
  temperature: 'temperature',
  humidity: 'humidity',
  lux: 'lux',
  motion: 'motion::int4',
  dhtErrors: 'dht_errors',
};

const INSERT = `
INSERT INTO samples (device, at, seq, temperature, humidity, lux, motion, dht_errors)
SELECT d, ${FROM_MS('a')}, s, t, h, l, m, e
FROM unnest($1::text[], $2::float8[], $3::int8[], $4::float8[], $5::float8[], $6::int4[], $7::bool[], $8::int4[]) AS u(d, a, s, t, h, l, m, e)
ON CONFLICT DO NOTHING`;

export interface PgOptions {
  /** Queries only: the schema must be there already. */
  readonly?: boolean;
  /** Give up connecting after this long (ms). Default 10,000. */
  connectTimeoutMs?: number;
}

/** The URL as it may be printed: no password. */
export function displayPgUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString().replace(/:@/, '@');
  } catch {
    return 'the PostgreSQL URL given';
  }
}

interface StoredRow {
  device: string;
  at: number;
  seq: string;
  temperature: number | null;
  humidity: number | null;
  lux: number | null;
  motion: boolean;
  dht_errors: number;
}

export class PgHistory implements HistoryStore {
  readonly kind = 'postgres';
  readonly display: string;
  /** Resolves with the error when the connection drops (the server stopped, the network went). */
  readonly whenLost: Promise<HistoryError>;
  private lost: HistoryError | undefined;
  private closing = false;

  private constructor(
    private readonly client: pg.Client,
    url: string,
  ) {
    this.display = displayPgUrl(url);
    this.whenLost = new Promise((resolve) => {
      client.on('error', (err: Error) => {
        if (this.closing) return;
        this.lost ??= new HistoryError(`lost the history database ${this.display}: ${err.message}`);
        resolve(this.lost);
      });
    });
  }

  static async open(url: string, options: PgOptions = {}): Promise<PgHistory> {
    const display = displayPgUrl(url);
    let client: pg.Client;
    try {
      client = new pg.Client({ connectionString: url, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000 });
    } catch (err) {
      throw new HistoryError(`${display} is not a PostgreSQL URL: ${(err as Error).message}`);
    }
    // Until the store owns it, a connection error is the connect() rejection below, not a crash.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      throw new HistoryError(`cannot reach the history database ${display}: ${pgReason(err)}`);
    }
    const store = new PgHistory(client, url);
    try {
      if (!options.readonly) await client.query(SCHEMA);
      await client.query('SELECT 1 FROM samples LIMIT 1');
    } catch (err) {
      await store.close();
      throw new HistoryError(`${display} is not a Canopy history database: ${pgReason(err)}`);
    }
    return store;
  }

  async insert(rows: HistoryRow[]): Promise<void> {
    if (rows.length === 0) return;
    const cols: unknown[][] = [[], [], [], [], [], [], [], []];
    for (const { device, at, sample: s } of rows) {
      cols[0].push(device);
      cols[1].push(at);
      cols[2].push(s.seq);
      cols[3].push(s.temperature);
      cols[4].push(s.humidity);
      cols[5].push(s.lux);
      cols[6].push(s.motion);
      cols[7].push(s.dhtErrors);
    }
    await this.run(INSERT, cols);
  }

  async query(q: HistoryQuery): Promise<HistoryPoint[]> {
    const column = COLUMN[q.field];
    if (!column) throw new HistoryError(`unknown field "${q.field}"; one of ${HISTORY_FIELDS.join(', ')}`);
    const params: unknown[] = [q.device, q.since];
    const where = ['device = $1', `at >= ${FROM_MS('$2')}`];
    if (q.until !== undefined) where.push(`at < ${FROM_MS(`$${params.push(q.until)}`)}`);
    const limit = q.limit === undefined ? '' : ` LIMIT $${params.push(q.limit)}`;
    const r = await this.run(`SELECT ${MS} AS at, seq::float8 AS seq, ${column} AS value FROM samples WHERE ${where.join(' AND ')} ORDER BY samples.at DESC, samples.seq DESC${limit}`, params);
    return (r.rows as HistoryPoint[]).reverse();
  }

  async *scan(q: ScanQuery): AsyncIterable<HistoryRow> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (q.since !== undefined) where.push(`at >= ${FROM_MS(`$${params.push(q.since)}`)}`);
    if (q.until !== undefined) where.push(`at < ${FROM_MS(`$${params.push(q.until)}`)}`);
    if (q.devices?.length) where.push(`device = ANY($${params.push(q.devices)}::text[])`);
    const base = params.length;
    let after: [number, string, number] | undefined;
    for (;;) {
      const page = [...where];
      if (after) page.push(`(at, device, seq) > (${FROM_MS(`$${base + 1}`)}, $${base + 2}, $${base + 3})`);
      const sql = `SELECT device, ${MS} AS at, seq, temperature, humidity, lux, motion, dht_errors FROM samples${page.length ? ` WHERE ${page.join(' AND ')}` : ''} ORDER BY samples.at, device, seq LIMIT ${SCAN_PAGE}`;
      const r = await this.run(sql, after ? [...params, ...after] : params);
      const rows = r.rows as StoredRow[];
      for (const row of rows) yield storedRow(row);
      if (rows.length < SCAN_PAGE) return;
      const last = rows[rows.length - 1];
      after = [last.at, last.device, Number(last.seq)];
    }
  }

  async prune(before: number): Promise<number> {
    const r = await this.run(`DELETE FROM samples WHERE at < ${FROM_MS('$1')}`, [before]);
    return r.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.client.end().catch(() => {});
  }

  private async run(sql: string, params: unknown[]): Promise<pg.QueryResult> {
    if (this.lost) throw this.lost;
    try {
      return await this.client.query(sql, params);
    } catch (err) {
      if (this.lost) throw this.lost;
      // A query error on a healthy connection is a bug or a schema that is not ours: say which.
      throw new HistoryError(`the history database ${this.display} failed: ${pgReason(err)}`);
    }
  }
}

function storedRow(r: StoredRow): HistoryRow {
  return {
    device: r.device,
    at: r.at,
    // The row's own time stands for ts: whether the device's clock or the receiver's set it is not stored.
    sample: { seq: Number(r.seq), ts: Math.floor(r.at / 1000), temperature: r.temperature, humidity: r.humidity, lux: r.lux, motion: r.motion, dhtErrors: r.dht_errors },
  };
}

/** A connection or query failure in a user's words: refused, unknown host, auth, missing database. */
function pgReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code === 'ECONNREFUSED') return `nothing is listening on ${e.address ?? '?'}:${e.port ?? '?'} (connection refused)`;
  if (e.code === 'ENOTFOUND') return `unknown host (${e.message})`;
  return e.message;
}
