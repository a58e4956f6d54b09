// `canopy export`: the stored samples of the fleet, or some devices, over a time range, as CSV or
// JSON lines on stdout, streamed a page at a time from the history store (SQLite or PostgreSQL),
// so years of a fleet do not sit in memory. A reader that goes away (`| head`) ends it quietly.
import type { Command } from '../command.ts';
import { parse, UsageError, verb } from '../flags.ts';
import { EXPORT_COLUMNS, exportCsv, exportJson, HistoryError, parseTime, type HistoryStore } from '../../fleet/history.ts';
import { DEFAULT_DB, openHistory } from '../../fleet/open-history.ts';

const spec = verb({
  name: 'export',
  summary: 'Stored samples of the fleet or some devices over a time range, as CSV or JSON lines.',
  forms: ['[--device ID]... [--since WHEN] [--until WHEN] [--db PATH|postgres://…] [--json]'],
  description: [
    'Writes every stored sample in the range, oldest first (ties by device, then seq), to stdout:',
    `CSV with a header (${EXPORT_COLUMNS.join(',')}) by default, or one JSON object a line with --json.`,
    'Without --device, the whole fleet the store holds. WHEN is a duration back from now (90s, 15m,',
    '1h, 7d) or an ISO date or time (2026-05-01, 2026-05-01T12:00:00Z).',
  ].join('\n'),
  flags: {
    device: { type: 'string', multiple: true, value: 'ID', help: 'only this device' },
    since: { type: 'string', value: 'WHEN', help: 'from (inclusive); the first sample when absent' },
    until: { type: 'string', value: 'WHEN', help: 'to (exclusive); the last sample when absent' },
    db: { type: 'string', value: 'PATH|URL', help: `the history store: a SQLite file (default ${DEFAULT_DB}) or a postgres:// URL` },
    json: { type: 'boolean', help: 'JSON lines instead of CSV' },
  },
  examples: [
    'export --since 7d > fleet-week.csv',
    'export --device greenhouse-7 --device greenhouse-8 --since 2026-05-01 --until 2026-05-02 --json',
    'export --db postgres://canopy@db.local/canopy --since 1h --json | jq .temperature',
  ],
});

const command: Command = {
  spec,
  async run(args) {
    const { values: f } = parse(spec, args);
    const now = Date.now();
    const when = (name: 'since' | 'until') => {
      const text = f[name];
      if (text === undefined) return undefined;
      const t = parseTime(text, now);
      if (t === undefined) throw new UsageError(`--${name} must be a duration like 15m, 1h or 7d, or an ISO date like 2026-05-01, got "${text}"`);
      return t;
    };
    const since = when('since');
    const until = when('until');
    if (since !== undefined && until !== undefined && until <= since) throw new UsageError(`--until (${new Date(until).toISOString()}) must be after --since (${new Date(since).toISOString()})`);
    const out = process.stdout;
    // A closed pipe: stop reading the store and end with 0 (bin/canopy.js also exits 0 on EPIPE).
    let closed = false;
    const onError = () => (closed = true);
    out.on('error', onError);
    let store: HistoryStore | undefined;
    try {
      store = await openHistory(f.db ?? DEFAULT_DB, { readonly: true });
      if (!f.json) out.write(`${EXPORT_COLUMNS.join(',')}\n`);
      const line = f.json ? exportJson : exportCsv;
      let chunk = '';
      for await (const row of store.scan({ devices: f.device, since, until })) {
        if (closed) break;
        chunk += `${line(row)}\n`;
        if (chunk.length < 64 * 1024) continue;
        const more = out.write(chunk);
        chunk = '';
        if (!more && !closed) await writable(out);
      }
      if (chunk && !closed) out.write(chunk);
    } catch (err) {
      if (err instanceof HistoryError) {
        console.error(`canopy export: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      await store?.close();
      out.off('error', onError);
    }
    return 0;
  },
};

export default command;

/** Resolves when the stream takes more, or is gone (closed, errored): never rejects. */
function writable(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
    out.on('error', done);
  });
}
