// The history stores, SQLite (fleet/sqlite-history.ts, better-sqlite3 12 on Node 20) and
// PostgreSQL (fleet/pg-history.ts, a real server this file starts on loopback: host/postgres.ts),
// through one suite run against each: ranges, fields, duplicates, retention, scans, and
// `canopy history` reading them, with every failure path's exit code and message. Nothing is mocked.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyRow, parseDuration, type HistoryRow } from '../fleet/history.ts';
import { openHistory } from '../fleet/open-history.ts';
import { Postgres } from '../host/postgres.ts';
import { freePort } from '../host/loopback.ts';
import type { Sample } from '../protocol/telemetry.ts';
import { canopy } from './support/run-canopy.ts';

const dir = mkdtempSync(join(tmpdir(), 'canopy-history-'));
// No PostgreSQL binaries: this throws while the file loads, and the whole file fails naming the package.
const postgres = new Postgres();
beforeAll(() => postgres.start(), 60_000);
afterAll(async () => {
  await postgres.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const sample = (seq: number, over: Partial<Sample> = {}): Sample => ({ seq, ts: 0, temperature: 20 + seq / 10, humidity: 40, lux: 100 + seq, motion: seq % 2 === 1, dhtErrors: 0, ...over });
const T0 = 1_700_000_000_000;

let n = 0;
/** A new, empty store of each kind, and the --db text that names it. */
const KINDS: [string, () => Promise<{ db: string }>][] = [
  ['SQLite', async () => ({ db: join(dir, `s${++n}.sqlite`) })],
  ['PostgreSQL', async () => ({ db: await postgres.database(`t${++n}`) })],
];

const all = async (it: AsyncIterable<HistoryRow>) => {
  const out: HistoryRow[] = [];
  for await (const r of it) out.push(r);
  return out;
};

describe.each(KINDS)('%s history store', (_kind, fresh) => {
  const open = async () => openHistory((await fresh()).db);

  it('stores a batch and answers one field of one device over a range, oldest first', async () => {
    const store = await open();
    const rows: HistoryRow[] = [];
    for (let seq = 1; seq <= 10; seq++) rows.push(historyRow('d-1', sample(seq), T0 + seq * 1000), historyRow('d-2', sample(seq, { temperature: -5 }), T0 + seq * 1000));
    await store.insert(rows);
    expect(await store.query({ device: 'd-1', field: 'temperature', since: T0 + 3000, until: T0 + 6000 })).toEqual([
      { at: T0 + 3000, seq: 3, value: 20.3 },
      { at: T0 + 4000, seq: 4, value: 20.4 },
      { at: T0 + 5000, seq: 5, value: 20.5 },
    ]);
    expect((await store.query({ device: 'd-2', field: 'temperature', since: 0 })).every((p) => p.value === -5)).toBe(true);
    expect((await store.query({ device: 'd-1', field: 'motion', since: T0 + 1000, until: T0 + 3000 })).map((p) => p.value)).toEqual([1, 0]);
    expect((await store.query({ device: 'd-1', field: 'lux', since: 0, limit: 2 })).map((p) => p.value)).toEqual([109, 110]);
    await store.close();
  });

  it('a sample resent after a reconnect is stored once, even twice in one batch; a failed reading stays null', async () => {
    const store = await open();
    const row = historyRow('d', sample(1, { temperature: null }), T0);
    await store.insert([row]);
    await store.insert([row, row, historyRow('d', sample(2), T0 + 1000)]);
    expect(await store.query({ device: 'd', field: 'temperature', since: 0 })).toEqual([{ at: T0, seq: 1, value: null }, { at: T0 + 1000, seq: 2, value: 20.2 }]);
    await store.close();
  });

  it("uses the device's own time when its clock is set, else the time it was heard", () => {
    expect(historyRow('d', sample(1, { ts: 1_700_000_123 }), T0).at).toBe(1_700_000_123_000);
    expect(historyRow('d', sample(1, { ts: 0 }), T0).at).toBe(T0);
  });

  it('retention: prune deletes what is older than the cut and says how many', async () => {
    const store = await open();
    await store.insert([1, 2, 3, 4].map((seq) => historyRow('d', sample(seq), T0 + seq * 1000)));
    expect(await store.prune(T0 + 3000)).toBe(2);
    expect((await store.query({ device: 'd', field: 'lux', since: 0 })).map((p) => p.seq)).toEqual([3, 4]);
    await store.close();
  });

  it('scan: whole rows of the fleet or some devices over a range, in time order, across pages', async () => {
    const store = await open();
    // 2,500 rows: three pages of 1,000, with ties on the time broken by device and seq.
    const rows: HistoryRow[] = [];
    for (let i = 0; i < 2500; i++) rows.push(historyRow(`d-${i % 5}`, sample(i, { temperature: i % 7 === 0 ? null : 20 + (i % 10) / 10 }), T0 + Math.floor(i / 5) * 1000));
    await store.insert(rows);
    const everything = await all(store.scan({}));
    expect(everything.length).toBe(2500);
    expect(everything.map((r) => r.sample.seq)).toEqual(rows.map((r) => r.sample.seq));
    expect(everything[7]).toEqual({ device: 'd-2', at: T0 + 1000, sample: { ...sample(7, { temperature: null }), ts: (T0 + 1000) / 1000 } });
    const some = await all(store.scan({ devices: ['d-1', 'd-3'], since: T0 + 10_000, until: T0 + 12_000 }));
    expect(some.map((r) => [r.device, r.at])).toEqual([['d-1', T0 + 10_000], ['d-3', T0 + 10_000], ['d-1', T0 + 11_000], ['d-3', T0 + 11_000]]);
    expect(await all(store.scan({ devices: ['nobody'] }))).toEqual([]);
    await store.close();
  });

  it('durations', () => {
    expect([parseDuration('90s'), parseDuration('15m'), parseDuration('1h'), parseDuration('7d'), parseDuration('1.5h'), parseDuration('h')]).toEqual([90_000, 900_000, 3_600_000, 604_800_000, undefined, undefined]);
  });
});

describe.each(KINDS)('canopy history on %s', (_kind, fresh) => {
  let db = '';
  const now = Date.now();
  beforeAll(async () => {
    db = (await fresh()).db;
    const store = await openHistory(db);
    // Two hours ago, and the last half hour.
    await store.insert([historyRow('dev-1', sample(1), now - 2 * 3_600_000), historyRow('dev-1', sample(2), now - 1_800_000), historyRow('dev-1', sample(3, { temperature: null }), now - 60_000), historyRow('dev-2', sample(9), now - 60_000)]);
    await store.close();
  });
  const iso = (t: number) => new Date(t).toISOString();

  it('--since 1h: the samples of the last hour, as a table', async () => {
    const r = await canopy('history', 'dev-1', '--field', 'temperature', '--since', '1h', '--db', db);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual(['TIME                      SEQ  TEMPERATURE', `${iso(now - 1_800_000)}    2  20.2`, `${iso(now - 60_000)}    3  n/a`]);
  });

  it('--csv and --json', async () => {
    const csv = await canopy('history', 'dev-1', '--field', 'lux', '--since', '3h', '--db', db, '--csv');
    expect(csv.code).toBe(0);
    expect(csv.out.split('\n')).toEqual(['time,device,field,value', `${iso(now - 7_200_000)},dev-1,lux,101`, `${iso(now - 1_800_000)},dev-1,lux,102`, `${iso(now - 60_000)},dev-1,lux,103`]);
    const json = await canopy('history', 'dev-2', '--field', 'temperature', '--since', '5m', '--db', db, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual([{ time: iso(now - 60_000), seq: 9, value: 20.9 }]);
  });

  it('nothing in the range says so, exit 0', async () => {
    const r = await canopy('history', 'dev-9', '--field', 'humidity', '--since', '1h', '--db', db);
    expect(r.code).toBe(0);
    expect(r.out).toBe('no humidity samples from dev-9 in the last 1h');
  });

  it.each([
    [['history', '--field', 'lux', '--since', '1h'], /^canopy history: DEVICE is required$/],
    [['history', 'a', 'b', '--field', 'lux', '--since', '1h'], /^canopy history: one DEVICE only, got a b/],
    [['history', 'a', '--since', '1h'], /^canopy history: --field is required: one of temperature, humidity, lux, motion, dhtErrors/],
    [['history', 'a', '--field', 'pressure', '--since', '1h'], /^canopy history: --field "pressure" is not one of temperature, humidity/],
    [['history', 'a', '--field', 'lux'], /^canopy history: --since is required, e\.g\. --since 1h/],
    [['history', 'a', '--field', 'lux', '--since', 'yesterday'], /^canopy history: --since must be a duration like 90s, 15m, 1h or 7d, got "yesterday"/],
    [['history', 'a', '--field', 'lux', '--since', '1h', '--limit', '0'], /^canopy history: --limit must be between 1 and 10000000, got 0/],
    [['history', 'a', '--field', 'lux', '--since', '1h', '--format', 'x'], /^canopy history: Unknown option '--format'/],
  ])('%j: exit 2 with the reason on one line and a hint to --help', async (argv, message) => {
    const r = await canopy(...argv);
    expect(r.code).toBe(2);
    const [line, hint, ...more] = r.err.split('\n');
    expect(line).toMatch(message);
    expect(hint).toBe('Run `npx canopy history --help` for its flags and examples.');
    expect(more).toEqual([]);
    expect(r.out).toBe('');
  });

  it('--csv with --json: exit 2, and the error is the JSON error line on stdout (the --json shape of every verb)', async () => {
    const r = await canopy('history', 'a', '--field', 'lux', '--since', '1h', '--csv', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual({
      ok: false,
      command: 'history',
      error: { reason: 'usage', code: 2, message: '--csv and --json are alternatives; give one', hint: 'npx canopy history --help' },
    });
    expect(r.err).toBe('');
  });
});

describe('canopy history: stores that are not there', () => {
  it('a missing or foreign database file: exit 1, naming it', async () => {
    const missing = join(dir, 'nope.sqlite');
    const r = await canopy('history', 'dev-1', '--field', 'lux', '--since', '1h', '--db', missing);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy history: no history database at ${missing}`);
    const foreign = join(dir, 'foreign.sqlite');
    writeFileSync(foreign, 'not sqlite at all, just text that is long enough to look like a header of something');
    const f = await canopy('history', 'dev-1', '--field', 'lux', '--since', '1h', '--db', foreign);
    expect(f.code).toBe(1);
    expect(f.err).toBe(`canopy history: ${foreign} is not a Canopy history database: file is not a database`);
  });

  it('PostgreSQL that nothing answers: exit 1, naming the URL (no password) and the reason', async () => {
    const port = await freePort();
    const r = await canopy('history', 'dev-1', '--field', 'lux', '--since', '1h', '--db', `postgres://canopy:s3cret@127.0.0.1:${port}/canopy`);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy history: cannot reach the history database postgres://canopy@127.0.0.1:${port}/canopy: nothing is listening on 127.0.0.1:${port} (connection refused)`);
    expect(r.err).not.toContain('s3cret');
  });

  it('a PostgreSQL database without the history table, or that does not exist: exit 1', async () => {
    const url = await postgres.database('empty');
    const r = await canopy('history', 'dev-1', '--field', 'lux', '--since', '1h', '--db', url);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy history: ${url} is not a Canopy history database: relation "samples" does not exist`);
    const gone = url.replace(/empty$/, 'nosuchdb');
    const g = await canopy('history', 'dev-1', '--field', 'lux', '--since', '1h', '--db', gone);
    expect(g.code).toBe(1);
    expect(g.err).toBe(`canopy history: cannot reach the history database ${gone}: database "nosuchdb" does not exist`);
  });
});
