// Which history store `--db` names: fleet/open-history.ts decides (a postgres:// URL is PostgreSQL,
// anything else a SQLite file). The console adds one rule of its own: its default path, not named
// by the user, may be absent, and then the console runs without plots rather than failing.
import { existsSync } from 'node:fs';
import type { HistoryStore } from '../fleet/history.ts';
import { isPostgresUrl, openHistory as openStore } from '../fleet/open-history.ts';

export interface OpenOptions {
  /** Open for writing (creating the file): `--record`. */
  write: boolean;
  /** The default path, not named by the user: a missing file means no store rather than an error. */
  optional: boolean;
}

export async function openHistory(db: string, o: OpenOptions): Promise<HistoryStore | undefined> {
  if (!isPostgresUrl(db) && !o.write && o.optional && !existsSync(db)) return undefined;
  return openStore(db, { readonly: !o.write });
}
