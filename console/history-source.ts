// Which history store `--db` names. Today the SQLite file (fleet/sqlite-history.ts); a server
// database's store goes behind the same HistoryStore interface, and its URL would be routed here.
import { existsSync } from 'node:fs';
import { HistoryError, type HistoryStore } from '../fleet/history.ts';

export interface OpenOptions {
  /** Open for writing (creating the file): `--record`. */
  write: boolean;
  /** The default path, not named by the user: a missing file means no store rather than an error. */
  optional: boolean;
}

export async function openHistory(db: string, o: OpenOptions): Promise<HistoryStore | undefined> {
  if (/^postgres(ql)?:\/\//.test(db)) throw new HistoryError(`${db.replace(/\/\/[^@/]*@/, '//***@')}: this build has no PostgreSQL history store; give a SQLite file`);
  if (!o.write && o.optional && !existsSync(db)) return undefined;
  const { SqliteHistory } = await import('../fleet/sqlite-history.ts');
  return new SqliteHistory(db, { readonly: !o.write });
}
