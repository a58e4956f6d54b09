// `canopy export` (issue 15.4) against both history stores (a SQLite file and a real PostgreSQL on
// loopback, host/postgres.ts): CSV and JSON lines of the fleet or some devices over a range, a
// closed pipe ending it quietly, and every failure path with its exit code and message. The verb
// writes to process.stdout as a stream, so the happy paths run the real CLI as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyRow, type HistoryRow } from '../fleet/history.ts';
import { openHistory } from '../fleet/open-history.ts';
import { Postgres } from '../host/postgres.ts';
import type { Sample } from '../protocol/telemetry.ts';
import { canopy } from './support/run-canopy.ts';
import { root } from './support/device-bundle.ts';

const dir = mkdtempSync(join(tmpdir(), 'canopy-export-'));
const postgres = new Postgres();
beforeAll(() => postgres.start(), 60_000);
afterAll(async () => {
  await postgres.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const sample = (seq: number, over: Partial<Sample> = {}): Sample => ({ seq, ts: 0, temperature: 20.5, humidity: 41.25, lux: 300, motion: seq % 2 === 0, dhtErrors: 0, ...over });
const iso = (t: number) => new Date(t).toISOString();

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function exportCli(args: string[], stopAfter?: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'canopy.js'), 'export', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      // The reader goes away, as `| head` does.
      if (stopAfter !== undefined && out.length >= stopAfter) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const KINDS: [string, (name: string) => Promise<string>][] = [
  ['SQLite', async (name) => join(dir, `${name}.sqlite`)],
  ['PostgreSQL', (name) => postgres.database(name)],
];

describe.each(KINDS)('canopy export on %s', (kind, fresh) => {
  const now = Date.now();
  let db = '';
  let big = '';
  beforeAll(async () => {
    db = await fresh(`e_${kind.toLowerCase()}`);
    const store = await openHistory(db);
    await store.insert([
      historyRow('dev-1', sample(1), now - 3 * 3_600_000),
      historyRow('dev-2', sample(1, { temperature: null }), now - 1_800_000),
      historyRow('dev-1', sample(2), now - 1_800_000),
      historyRow('dev-3', sample(7), now - 60_000),
    ]);
    await store.close();
    // Enough rows for many pages and more than a pipe's buffer.
    big = await fresh(`b_${kind.toLowerCase()}`);
    const b = await openHistory(big);
    const rows: HistoryRow[] = [];
    for (let i = 0; i < 20_000; i++) rows.push(historyRow(`d-${i % 100}`, sample(i), now - 3_600_000 + i * 10));
    await b.insert(rows);
    await b.close();
  }, 60_000);

  it('CSV of the whole fleet, oldest first, ties by device', async () => {
    const r = await exportCli(['--db', db]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n')).toEqual([
      'time,device,seq,temperature,humidity,lux,motion,dhtErrors',
      `${iso(now - 3 * 3_600_000)},dev-1,1,20.5,41.25,300,0,0`,
      `${iso(now - 1_800_000)},dev-1,2,20.5,41.25,300,1,0`,
      `${iso(now - 1_800_000)},dev-2,1,,41.25,300,0,0`,
      `${iso(now - 60_000)},dev-3,7,20.5,41.25,300,0,0`,
    ]);
  });

  it('--json: JSON lines of some devices over a range', async () => {
    const r = await exportCli(['--db', db, '--json', '--device', 'dev-1', '--device', 'dev-2', '--since', '2h', '--until', iso(now - 60_000)]);
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([
      { time: iso(now - 1_800_000), device: 'dev-1', seq: 2, temperature: 20.5, humidity: 41.25, lux: 300, motion: true, dhtErrors: 0 },
      { time: iso(now - 1_800_000), device: 'dev-2', seq: 1, temperature: null, humidity: 41.25, lux: 300, motion: false, dhtErrors: 0 },
    ]);
  });

  it('20,000 rows come out whole, in order, across pages', async () => {
    const r = await exportCli(['--db', big, '--json']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines.length).toBe(20_000);
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
  }, 30_000);

  it('a reader that goes away after the first lines: exit 0, nothing on stderr', async () => {
    const r = await exportCli(['--db', big], 100);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  }, 30_000);
});

describe('canopy export: failure paths', () => {
  it('a missing SQLite file: exit 1, naming it', async () => {
    const missing = join(dir, 'nope.sqlite');
    const r = await canopy('export', '--db', missing);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy export: no history database at ${missing}`);
  });

  it('a PostgreSQL database that does not exist: exit 1', async () => {
    const url = `postgres://canopy@127.0.0.1:${postgres.port}/nothere`;
    const r = await canopy('export', '--db', url);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`canopy export: cannot reach the history database ${url}: database "nothere" does not exist`);
  });

  it.each([
    [['export', '--since', 'yesterday'], /^canopy export: --since must be a duration like 15m, 1h or 7d, or an ISO date like 2026-05-01, got "yesterday"$/],
    [['export', '--until', '2026-13-45'], /^canopy export: --until must be a duration like 15m, 1h or 7d, or an ISO date like 2026-05-01, got "2026-13-45"$/],
    [['export', '--since', '2026-05-02', '--until', '2026-05-01'], /^canopy export: --until \(2026-05-01T00:00:00.000Z\) must be after --since \(2026-05-02T00:00:00.000Z\)$/],
    [['export', 'dev-1'], /^canopy export: Unexpected argument 'dev-1'/],
    [['export', '--csv'], /^canopy export: Unknown option '--csv'/],
  ])('%j: exit 2 with the reason on one line and a hint to --help', async (argv, message) => {
    const r = await canopy(...argv);
    expect(r.code).toBe(2);
    const [line, hint, ...more] = r.err.split('\n');
    expect(line).toMatch(message);
    expect(hint).toBe('Run `npx canopy export --help` for its flags and examples.');
    expect(more).toEqual([]);
    expect(r.out).toBe('');
  });
});
