import crypto from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as mariadb from 'mariadb';
import { inCi, skipBecause } from './skip';

export type Dialect = 'sqlite' | 'mariadb';
/**
 * Both stores, unless TEST_DIALECTS names fewer: `npm run mutate` runs on SQLite only, since none of
 * the modules it mutates touches SQL (the store's own contract tests cover both dialects).
 */
export const DIALECTS: Dialect[] = (['sqlite', 'mariadb'] as const).filter((d) =>
  (process.env.TEST_DIALECTS ?? 'sqlite,mariadb').split(',').includes(d),
);

const MARIADB = {
  host: process.env.TEST_MARIADB_HOST ?? '127.0.0.1',
  port: Number(process.env.TEST_MARIADB_PORT ?? 3306),
  user: 'root',
  password: '',
};

let available: Promise<boolean> | undefined;

/** Whether the test MariaDB answers. Under CI (any truthy CI) a missing MariaDB is a failure, not a skip. */
export function mariadbAvailable(): Promise<boolean> {
  available ??= (async () => {
    try {
      const c = await mariadb.createConnection({ ...MARIADB, connectTimeout: 2000 });
      await c.end();
      return true;
    } catch (err) {
      if (inCi())
        throw new Error(`MariaDB is not reachable at ${MARIADB.host}:${MARIADB.port} (${(err as Error).message})`);
      return false;
    }
  })();
  return available;
}

export interface TestDatabase {
  dialect: Dialect;
  url: string;
  /** runs SQL directly against the database (to look at what was stored) */
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** runs a writing statement directly against the database (to set up a state); returns the rows changed */
  exec(sql: string, params?: unknown[]): Promise<number>;
  drop(): Promise<void>;
}

/** A new, empty database of the dialect: a temp file for SQLite, a fresh schema on MariaDB. */
export async function freshDatabase(dialect: Dialect): Promise<TestDatabase> {
  const tag = `gh_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-test-'));
    const file = path.join(dir, 'gatehouse.db');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Database = require('better-sqlite3') as typeof BetterSqlite3;
    return {
      dialect,
      url: `sqlite:${file}`,
      async query(sql, params = []) {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare(sql).all(...(params as never[])) as Record<string, unknown>[];
        } finally {
          db.close();
        }
      },
      async exec(sql, params = []) {
        const db = new Database(file);
        try {
          db.pragma('busy_timeout = 5000');
          return db.prepare(sql).run(...(params as never[])).changes;
        } finally {
          db.close();
        }
      },
      async drop() {
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const admin = await mariadb.createConnection(MARIADB);
  await admin.query(`CREATE DATABASE ${tag} CHARACTER SET utf8mb4`);
  await admin.end();
  const pool = mariadb.createPool({ ...MARIADB, database: tag, connectionLimit: 2, bigIntAsNumber: true });
  return {
    dialect,
    url: `mariadb://root@${MARIADB.host}:${MARIADB.port}/${tag}`,
    async query(sql, params = []) {
      return Array.from((await pool.query(sql, params)) as Record<string, unknown>[]);
    },
    async exec(sql, params = []) {
      return Number(((await pool.query(sql, params)) as { affectedRows: number }).affectedRows);
    },
    async drop() {
      await pool.end();
      const c = await mariadb.createConnection(MARIADB);
      await c.query(`DROP DATABASE IF EXISTS ${tag}`);
      await c.end();
    },
  };
}

/** skips the running test or suite, saying why, when the test MariaDB does not answer (under CI: fails) */
export async function requireMariadb(ctx: Mocha.Context): Promise<void> {
  if (!(await mariadbAvailable()))
    skipBecause(ctx, `MariaDB is not reachable at ${MARIADB.host}:${MARIADB.port}`, { fixable: 'mariadb-server' });
}

/** describe() once per store dialect; the MariaDB one skips (or fails under CI) without a server. */
export function forEachDialect(title: string, fn: (dialect: Dialect) => void): void {
  for (const dialect of DIALECTS) {
    describe(`${title} [${dialect}]`, function () {
      before(async function () {
        if (dialect === 'mariadb') await requireMariadb(this);
      });
      fn(dialect);
    });
  }
}
