// `--db` to a history store: a postgres:// or postgresql:// URL is PostgreSQL (fleet/pg-history.ts),
// anything else a SQLite file path (fleet/sqlite-history.ts). Each driver is imported only when
// chosen, so a SQLite user never loads pg and the other way round.
import type { HistoryStore } from './history.ts';

export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//i.test(text);
}

export const DEFAULT_DB = 'canopy-history.sqlite';

export interface OpenOptions {
  /** For the readers (history, export): the store must exist already and is not changed. */
  readonly?: boolean;
}

/** Opens the store `--db` names; a HistoryError says why it cannot (missing, foreign, unreachable). */
export async function openHistory(db: string = DEFAULT_DB, options: OpenOptions = {}): Promise<HistoryStore> {
  if (isPostgresUrl(db)) {
    const { PgHistory } = await import('./pg-history.ts');
    return PgHistory.open(db, options);
  }
  const { SqliteHistory } = await import('./sqlite-history.ts');
  return new SqliteHistory(db, options);
}
