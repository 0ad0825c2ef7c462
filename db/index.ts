import { MariaDbStore, type MariaDbOptions } from './mariadb';
import { SqliteStore } from './sqlite';
import type { Store } from './store';

export type { Store } from './store';

/** Opens the store named by a GATEHOUSE_DATABASE_URL (`sqlite:<path>` or `mariadb://…`). */
export function openStore(url: string, opts: MariaDbOptions = {}): Store {
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length));
  return new MariaDbStore(url.replace(/^mysql:/, 'mariadb:'), opts);
}
