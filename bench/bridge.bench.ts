// The bridge (issue 15.5) on each history store: SQLite, and PostgreSQL when this machine can start
// one (host/postgres.ts; without it the PostgreSQL rows are left out and the run says why).
//
//   decode-and-store  CBOR telemetry of a 2,000-device fleet through the bridge's core (decode,
//                     JSON state, history row) and its batcher into the store, as fast as it goes:
//                     the rate the bridge can sustain. A fleet of 2,000 devices at 1 msg/s needs
//                     2,000 msg/s. Reference: raw inserts of the same rows into a bare table (no
//                     key, no index) of the same database, same batch size, same run.
//   publish-to-row    a publisher sends the fleet's samples at 2,000 msg/s through mosquitto to a
//                     running Bridge (fleet/bridge.ts, default batching: 500 samples or 1 s;
//                     discovery off, its one-off burst is not the steady state); the
//                     time from each publish to its row being stored, p50 and p99. Reference: the
//                     same messages' publish-to-delivery time at a plain subscriber on the same
//                     broker (the broker's own share of the latency).
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BridgeCore } from '../fleet/bridge-core.ts';
import { Bridge } from '../fleet/bridge.ts';
import type { HistoryRow, HistoryStore } from '../fleet/history.ts';
import { openHistory } from '../fleet/open-history.ts';
import { HistoryBatcher } from '../fleet/recorder.ts';
import { Mosquitto } from '../host/mosquitto.ts';
import { Postgres } from '../host/postgres.ts';
import { SessionDriver } from '../host/transport.ts';
import { Session } from '../protocol/session/session.ts';
import type { SessionEvent } from '../protocol/session/events.ts';
import { decodeSample, encodeSample } from '../protocol/telemetry.ts';
import { median, row, type BenchRow } from './harness.ts';

const DEVICES = 2000;
const SECONDS = 10;
const BATCH = 500;
const ROUNDS = 3;

const topic = (i: number) => `canopy/dev-${i}/telemetry`;

/** `SECONDS` seconds of the fleet: one CBOR sample per device per second, the device clock set. */
function fleetPayloads(t0: number): { topic: string; payload: Uint8Array }[] {
  const out = [];
  for (let s = 0; s < SECONDS; s++)
    for (let i = 0; i < DEVICES; i++) out.push({ topic: topic(i), payload: encodeSample({ seq: s + 1, ts: t0 + s, temperature: 20 + (i % 50) / 10, humidity: 40 + (s % 10), lux: (i * 7 + s) % 65535, motion: (i + s) % 13 === 0, dhtErrors: 0 }) });
  return out;
}

type Raw = { insert(rows: HistoryRow[]): Promise<void>; close(): Promise<void> };

async function rawSqlite(path: string): Promise<Raw> {
  type Db = { prepare(sql: string): { run(...a: unknown[]): unknown }; exec(sql: string): void; pragma(s: string): unknown; transaction(fn: (rows: HistoryRow[]) => void): (rows: HistoryRow[]) => void; close(): void };
  const db = new (createRequire(import.meta.url)('better-sqlite3') as new (path: string) => Db)(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE raw (device TEXT, at INTEGER, seq INTEGER, temperature REAL, humidity REAL, lux INTEGER, motion INTEGER, dht_errors INTEGER)');
  const st = db.prepare('INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const tx = db.transaction((rows: HistoryRow[]) => {
    for (const { device, at, sample: s } of rows) st.run(device, at, s.seq, s.temperature, s.humidity, s.lux, s.motion ? 1 : 0, s.dhtErrors);
  });
  return { insert: async (rows) => tx(rows), close: async () => db.close() };
}

async function rawPostgres(url: string): Promise<Raw> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('CREATE TABLE raw (device text, at bigint, seq bigint, temperature float8, humidity float8, lux int4, motion bool, dht_errors int4)');
  return {
    insert: async (rows) => {
      const cols: unknown[][] = [[], [], [], [], [], [], [], []];
      for (const { device, at, sample: s } of rows) [device, at, s.seq, s.temperature, s.humidity, s.lux, s.motion, s.dhtErrors].forEach((v, k) => cols[k].push(v));
      await c.query('INSERT INTO raw SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::float8[], $5::float8[], $6::int4[], $7::bool[], $8::int4[])', cols);
    },
    close: () => c.end(),
  };
}

/** msgs/s through the bridge core and batcher into the store, until every row is stored. */
async function decodeAndStore(core: BridgeCore, store: HistoryStore, msgs: { topic: string; payload: Uint8Array }[], t: number): Promise<number> {
  const batcher = new HistoryBatcher(store, { batch: BATCH, everyMs: 1000 });
  const start = performance.now();
  for (let k = 0; k < msgs.length; k++) {
    const out = core.handle({ topic: msgs[k].topic, payload: msgs[k].payload, retain: false }, t);
    if (out.row) batcher.add(out.row);
    // Let a server store's I/O run between seconds of the fleet, as the event loop would.
    if (k % DEVICES === DEVICES - 1) await new Promise((r) => setImmediate(r));
  }
  await batcher.stop();
  return msgs.length / ((performance.now() - start) / 1000);
}

/** rows/s of raw inserts, in batches of BATCH, of the rows the bridge would store. */
async function rawRate(raw: Raw, msgs: { topic: string; payload: Uint8Array }[], t: number): Promise<number> {
  const rows: HistoryRow[] = msgs.map((m) => ({ device: m.topic.split('/')[1], at: t, sample: decodeSample(m.payload) }));
  for (const r of rows) r.at = r.sample.ts * 1000;
  const start = performance.now();
  for (let k = 0; k < rows.length; k += BATCH) await raw.insert(rows.slice(k, k + BATCH));
  return rows.length / ((performance.now() - start) / 1000);
}

async function throughput(kind: string, store: HistoryStore, raw: Raw): Promise<BenchRow> {
  const ours: number[] = [];
  const ref: number[] = [];
  // Sustained means after the first sight of each device: its discovery configs are a one-off.
  const core = new BridgeCore({ bridgeVersion: 'bench' });
  for (const m of fleetPayloads(1_700_000_000).slice(0, DEVICES)) core.handle({ ...m, retain: false }, 0);
  for (let r = 0; r < ROUNDS; r++) {
    // Each round a fresh stretch of time, so rows are new to the keyed store.
    const t0 = 1_800_000_000 + r * 3600;
    const msgs = fleetPayloads(t0);
    ours.push(await decodeAndStore(core, store, msgs, t0 * 1000));
    ref.push(await rawRate(raw, msgs, t0 * 1000));
  }
  const value = median(ours);
  console.error(`bridge ${kind}: decode-and-store ${value.toFixed(0)} msg/s (${(value / DEVICES).toFixed(1)}× a 2,000-device fleet at 1 msg/s), raw inserts ${median(ref).toFixed(0)} rows/s`);
  return row(`bridge: decode-and-store, ${kind} (2,000 devices; needs 2,000/s)`, Math.round(value), 'msgs/s', `raw ${kind} inserts, bare table, same run`, median(ref));
}

/** Publish → stored row through mosquitto and a running Bridge, and publish → delivery at a plain subscriber. */
async function latency(kind: string, store: HistoryStore, broker: Mosquitto): Promise<BenchRow[]> {
  const bridge = new Bridge({ broker: broker.url, clientId: `bench-bridge-${kind}`, store, bridgeVersion: 'bench', discoveryPrefix: null });
  await bridge.start();
  const delivered = new Map<string, number>();
  const listener = new SessionDriver(new Session({ clientId: `bench-listener-${kind}`, cleanSession: true, keepalive: 30 }), broker.url);
  await new Promise<void>((resolve) => {
    listener.on('event', (e: SessionEvent) => {
      if (e.type === 'subscribed') resolve();
      else if (e.type === 'message') delivered.set(`${e.topic.split('/')[1]}/${decodeSample(e.payload).seq}`, performance.now());
    });
    listener.subscribe([{ topic: 'canopy/+/telemetry', qos: 0 }]);
    listener.start();
  });
  const stored = new Map<string, number>();
  bridge.on('stored', (rows: HistoryRow[]) => {
    const at = performance.now();
    for (const r of rows) stored.set(`${r.device}/${r.sample.seq}`, at);
  });
  const publisher = new SessionDriver(new Session({ clientId: `bench-publisher-${kind}`, cleanSession: true, keepalive: 30 }), broker.url);
  await new Promise<void>((resolve) => {
    publisher.on('event', (e: SessionEvent) => e.type === 'connected' && resolve());
    publisher.start();
  });
  // 2,000 msg/s: 20 every 10 ms, paced on the clock so a slow tick catches up.
  const sent = new Map<string, number>();
  const t0 = 1_900_000_000 + (kind === 'SQLite' ? 0 : 7200);
  const total = DEVICES * 5;
  const start = performance.now();
  let n = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * DEVICES));
      for (; n < due; n++) {
        const i = n % DEVICES;
        const seq = Math.floor(n / DEVICES) + 1;
        sent.set(`dev-${i}/${seq}`, performance.now());
        publisher.publish(topic(i), encodeSample({ seq, ts: t0 + seq, temperature: 21, humidity: 40, lux: i, motion: false, dhtErrors: 0 }), { qos: 0 });
      }
      if (n >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  // Every row the broker delivered is stored within two flush periods.
  const deadline = performance.now() + 5000;
  const nextBatch = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        bridge.off('stored', done);
        resolve();
      };
      const timer = setTimeout(done, 1500);
      bridge.on('stored', done);
    });
  while (stored.size < sent.size && performance.now() < deadline) await nextBatch();
  await bridge.stop();
  await publisher.stop();
  await listener.stop();
  const lat = (got: Map<string, number>) => [...sent].flatMap(([k, t]) => (got.has(k) ? [got.get(k)! - t] : [])).sort((a, b) => a - b);
  const toRow = lat(stored);
  const toSub = lat(delivered);
  const p = (xs: number[], q: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] : NaN);
  console.error(`bridge ${kind}: ${toRow.length}/${sent.size} published samples stored; publish→row p50 ${p(toRow, 0.5).toFixed(1)} ms, p99 ${p(toRow, 0.99).toFixed(1)} ms; publish→subscriber p50 ${p(toSub, 0.5).toFixed(1)} ms, p99 ${p(toSub, 0.99).toFixed(1)} ms`);
  return [
    row(`bridge: publish→row p50, ${kind}, 2,000 msg/s`, p(toRow, 0.5), 'ms', 'publish→plain subscriber p50, same broker and run', p(toSub, 0.5)),
    row(`bridge: publish→row p99, ${kind}, 2,000 msg/s`, p(toRow, 0.99), 'ms', 'publish→plain subscriber p99, same broker and run', p(toSub, 0.99)),
  ];
}

export default async function (): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'canopy-bridge-bench-'));
  const rows: BenchRow[] = [];
  const broker = new Mosquitto({ quiet: true });
  let postgres: Postgres | undefined;
  try {
    await broker.start();
    const sqlite = await openHistory(join(dir, 'store.sqlite'));
    const raw = await rawSqlite(join(dir, 'raw.sqlite'));
    rows.push(await throughput('SQLite', sqlite, raw));
    await raw.close();
    rows.push(...(await latency('SQLite', sqlite, broker)));
    await sqlite.close();
    try {
      postgres = await new Postgres().start();
    } catch (err) {
      console.error(`bridge bench: no PostgreSQL rows: ${(err as Error).message}`);
    }
    if (postgres) {
      const store = await openHistory(await postgres.database('bench_store'));
      const rawPg = await rawPostgres(await postgres.database('bench_raw'));
      rows.push(await throughput('PostgreSQL', store, rawPg));
      await rawPg.close();
      rows.push(...(await latency('PostgreSQL', store, broker)));
      await store.close();
    }
  } finally {
    await postgres?.dispose();
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
