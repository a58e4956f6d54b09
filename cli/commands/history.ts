// `canopy history DEVICE --field F --since 1h`: one field of one device's stored samples, from the
// history store (fleet/history.ts): the SQLite file by default, PostgreSQL with --db postgres://….
import type { Command } from '../command.ts';
import { intFlag, parse, UsageError, verb } from '../flags.ts';
import { HISTORY_FIELDS, HistoryError, parseDuration, type HistoryField, type HistoryStore } from '../../fleet/history.ts';
import { DEFAULT_DB, openHistory } from '../../fleet/open-history.ts';

const spec = verb({
  name: 'history',
  summary: "One field of a device's stored telemetry over a time range (table, CSV, JSON).",
  forms: ['DEVICE --field F --since DURATION [--db PATH|postgres://…] [--limit N] [--csv | --json]'],
  description: [
    "Prints one field of DEVICE's stored samples over the last DURATION (90s, 15m, 1h, 7d), oldest",
    'first: a table by default, CSV (time,device,field,value) or a JSON array.',
  ].join('\n'),
  args: { DEVICE: 'the device id whose samples to print' },
  flags: {
    field: { type: 'string', value: 'F', help: HISTORY_FIELDS.join(', ') },
    since: { type: 'string', value: 'DURATION', help: 'how far back: 90s, 15m, 1h, 7d' },
    db: { type: 'string', value: 'PATH|URL', help: `the history store: a SQLite file (default ${DEFAULT_DB}) or a postgres:// URL` },
    limit: { type: 'string', value: 'N', help: 'at most the newest N points' },
    csv: { type: 'boolean', help: 'CSV: time,device,field,value' },
    json: { type: 'boolean', help: 'one JSON array of {time, seq, value}' },
  },
  examples: [
    'history greenhouse-7 --field temperature --since 1h',
    'history greenhouse-7 --field lux --since 7d --csv > lux.csv',
    'history greenhouse-7 --field humidity --since 15m --db /var/lib/canopy/history.sqlite --json',
    'history greenhouse-7 --field temperature --since 1d --db postgres://canopy@db.local/canopy',
  ],
});

const command: Command = {
  spec,
  async run(args) {
    const { values: f, positionals } = parse(spec, args);
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'DEVICE is required' : `one DEVICE only, got ${positionals.join(' ')}`);
    const device = positionals[0];
    if (!f.field) throw new UsageError(`--field is required: one of ${HISTORY_FIELDS.join(', ')}`);
    if (!(HISTORY_FIELDS as readonly string[]).includes(f.field)) throw new UsageError(`--field "${f.field}" is not one of ${HISTORY_FIELDS.join(', ')}`);
    if (!f.since) throw new UsageError('--since is required, e.g. --since 1h');
    const span = parseDuration(f.since);
    if (span === undefined) throw new UsageError(`--since must be a duration like 90s, 15m, 1h or 7d, got "${f.since}"`);
    if (f.csv && f.json) throw new UsageError('--csv and --json are alternatives; give one');
    const limit = f.limit === undefined ? undefined : intFlag('limit', f.limit, 0, 1, 10_000_000);
    const field = f.field as HistoryField;

    let store: HistoryStore | undefined;
    let points;
    const now = Date.now();
    try {
      store = await openHistory(f.db ?? DEFAULT_DB, { readonly: true });
      // No upper bound: a device whose clock runs a little ahead still shows its latest samples.
      points = await store.query({ device, field, since: now - span, limit });
    } catch (err) {
      if (err instanceof HistoryError) {
        console.error(`canopy history: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      await store?.close();
    }
    const iso = (t: number) => new Date(t).toISOString();
    if (f.json) console.log(JSON.stringify(points.map((p) => ({ time: iso(p.at), seq: p.seq, value: p.value }))));
    else if (f.csv) console.log(['time,device,field,value', ...points.map((p) => `${iso(p.at)},${device},${field},${p.value ?? ''}`)].join('\n'));
    else if (points.length === 0) console.log(`no ${field} samples from ${device} in the last ${f.since}`);
    else console.log([`TIME                      SEQ  ${field.toUpperCase()}`, ...points.map((p) => `${iso(p.at)}  ${String(p.seq).padStart(3)}  ${p.value ?? 'n/a'}`)].join('\n'));
    return 0;
  },
};

export default command;
