import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DatabaseOpenError, oneLine } from './open-error';
import type { Statement } from './migrations';
import { SqlStore } from './sql-store';

type Param = string | number | null;

/**
 * Creates the missing directories above a SQLite file one level at a time (mkdir's recursive mode
 * spins forever under /proc on Node 20): a directory that cannot be made is one clear error.
 */
function makeDirectory(file: string): void {
  const missing: string[] = [];
  let dir = path.dirname(file);
  while (!fs.existsSync(dir)) {
    missing.unshift(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const fail = (why: string) => new DatabaseOpenError(`cannot open the SQLite file ${file}: ${why}`);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw fail(`${dir} is not a directory`);
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
      if (code !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw fail(`cannot create its directory ${d} (${code})`);
    }
  }
}

/** The embedded store: one file, one node. better-sqlite3 is synchronous and fast. */
export class SqliteStore extends SqlStore {
  readonly dialect = 'sqlite' as const;
  protected readonly insertIgnore = 'INSERT OR IGNORE';
  protected readonly ticketUpsert =
    'INSERT INTO tickets (platform, app_id, value, create_time, updated_at) VALUES (?, ?, ?, ?, ?) ' +
    'ON CONFLICT (platform, app_id) DO UPDATE SET value = excluded.value, create_time = excluded.create_time, ' +
    'updated_at = excluded.updated_at WHERE excluded.create_time > tickets.create_time';
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(file: string) {
    super();
    const where = file === ':memory:' ? file : path.resolve(file);
    if (file !== ':memory:') makeDirectory(where);
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      // overwritten and deleted values (old secrets after a key rotation) are zeroed, not left in free pages
      db.pragma('secure_delete = ON');
      this.db = db;
    } catch (err) {
      if (db?.open) db.close();
      const e = err as { code?: string; message?: string };
      throw new DatabaseOpenError(
        `cannot open the SQLite file ${where}: ${oneLine(e.message ?? 'error')} (${e.code ?? 'unknown'}); the ` +
          `file and its directory must be writable`,
      );
    }
  }

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  protected async all(sql: string, params: Param[] = []): Promise<Record<string, unknown>[]> {
    return this.prepare(sql).all(...params) as Record<string, unknown>[];
  }

  protected async run(sql: string, params: Param[] = []): Promise<number> {
    return this.prepare(sql).run(...params).changes;
  }

  protected async withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  protected async applyMigration(statements: Statement[], version: number): Promise<void> {
    const [metaSql, metaParams] = this.metaVersionStatement(version);
    // IMMEDIATE takes the write lock first; another connection may have applied it meanwhile
    this.db
      .transaction(() => {
        const row = this.db.prepare("SELECT v FROM meta WHERE k = 'schema_version'").get() as { v: string } | undefined;
        if (row && Number(row.v) >= version) return;
        for (const s of statements) {
          if (typeof s === 'string') this.db.exec(s);
          else if (!this.db.prepare(s.unless).get()) this.db.exec(s.sql);
        }
        this.db.prepare(metaSql).run(...metaParams);
      })
      .immediate();
  }

  protected async transaction<T>(
    fn: (q: { all: SqliteStore['all']; run: SqliteStore['run'] }) => Promise<T>,
  ): Promise<T> {
    // better-sqlite3 runs statements synchronously: nothing else can interleave on this connection
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const r = await fn({ all: (sql, p) => this.all(sql, p), run: (sql, p) => this.run(sql, p) });
      this.db.exec('COMMIT');
      return r;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async ping(): Promise<void> {
    this.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
