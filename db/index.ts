import type * as MariaDbModule from './mariadb';
import type { MariaDbOptions } from './mariadb';
import type * as SqliteModule from './sqlite';
import type { Store } from './store';

export type { Store } from './store';

/*
 * Each dialect's module (and its driver: better-sqlite3, mariadb) is loaded when a store of that
 * dialect is opened, not when gatehouse starts: a node on SQLite never loads the MariaDB driver
 * (~50-80 ms of start-up), nor one on MariaDB the native SQLite binding.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const mariadbModule = () => require('./mariadb') as typeof MariaDbModule;
const sqliteModule = () => require('./sqlite') as typeof SqliteModule;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Opens the store named by a GATEHOUSE_DATABASE_URL (`sqlite:<path>` or `mariadb://…`). */
export function openStore(url: string, opts: MariaDbOptions = {}): Store {
  if (url.startsWith('sqlite:')) return new (sqliteModule().SqliteStore)(url.slice('sqlite:'.length));
  return new (mariadbModule().MariaDbStore)(url.replace(/^mysql:/, 'mariadb:'), opts);
}

/** Connects once to a MariaDB URL, explaining a refusal (see db/mariadb.ts) */
export function probeMariaDb(url: string): Promise<void> {
  return mariadbModule().probeMariaDb(url);
}
