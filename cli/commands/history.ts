// `canopy history DEVICE --field F --since 1h`: one field of one device's stored samples, from the
// history store (fleet/history.ts; the SQLite file by default).
import type { Command } from '../command.ts';
import { verb } from '../flags.ts';
import { intFlag, parseFlags, UsageError } from '../../host/flags.ts';
import { HISTORY_FIELDS, HistoryError, parseDuration, type HistoryField } from '../../fleet/history.ts';

const usage = `Usage: canopy history DEVICE --field F --since DURATION [--db PATH] [--limit N] [--csv | --json]

Prints one field of DEVICE's stored samples over the last DURATION (90s, 15m, 1h, 7d), oldest
first: a table by default, CSV (time,device,field,value) or a JSON array.

  --field F     ${HISTORY_FIELDS.join(', ')}
  --db PATH     the SQLite history file (default canopy-history.sqlite)
  --limit N     at most the newest N points`;

const command: Command = {
  // The verb's usage text as written before cli/flags.ts; its flags move into the spec next.
  spec: verb({ name: 'history', summary: "One field of a device's stored telemetry over a time range (table, CSV, JSON).", description: usage, flags: {}, examples: [] }),
  async run(args) {
    const { values: f, positionals } = parseFlags(
      args,
      { field: { type: 'string' }, since: { type: 'string' }, db: { type: 'string' }, limit: { type: 'string' }, csv: { type: 'boolean' }, json: { type: 'boolean' } },
      true,
    );
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

    const { SqliteHistory } = await import('../../fleet/sqlite-history.ts');
    const path = f.db ?? 'canopy-history.sqlite';
    let store;
    try {
      store = new SqliteHistory(path, { readonly: true });
    } catch (err) {
      if (err instanceof HistoryError) {
        console.error(`canopy history: ${err.message}`);
        return 1;
      }
      throw err;
    }
    const now = Date.now();
    const points = store.query({ device, field, since: now - span, until: now + 1, limit });
    store.close();
    const iso = (t: number) => new Date(t).toISOString();
    if (f.json) console.log(JSON.stringify(points.map((p) => ({ time: iso(p.at), seq: p.seq, value: p.value }))));
    else if (f.csv) console.log(['time,device,field,value', ...points.map((p) => `${iso(p.at)},${device},${field},${p.value ?? ''}`)].join('\n'));
    else if (points.length === 0) console.log(`no ${field} samples from ${device} in the last ${f.since}`);
    else console.log([`TIME                      SEQ  ${field.toUpperCase()}`, ...points.map((p) => `${iso(p.at)}  ${String(p.seq).padStart(3)}  ${p.value ?? 'n/a'}`)].join('\n'));
    return 0;
  },
};

export default command;
