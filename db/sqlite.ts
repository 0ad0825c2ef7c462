import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqlStore } from './sql-store';

type Param = string | number | null;

/** The embedded store: one file, one node. better-sqlite3 is synchronous and fast. */
export class SqliteStore extends SqlStore {
  readonly dialect = 'sqlite' as const;
  protected readonly insertIgnore = 'INSERT OR IGNORE';
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(file: string) {
    super();
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // overwritten and deleted values (old secrets after a key rotation) are zeroed, not left in free pages
    this.db.pragma('secure_delete = ON');
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

  protected async applyMigration(statements: string[], version: number): Promise<void> {
    const [metaSql, metaParams] = this.metaVersionStatement(version);
    // IMMEDIATE takes the write lock first; another connection may have applied it meanwhile
    this.db.transaction(() => {
      const row = this.db.prepare("SELECT v FROM meta WHERE k = 'schema_version'").get() as { v: string } | undefined;
      if (row && Number(row.v) >= version) return;
      for (const s of statements) this.db.exec(s);
      this.db.prepare(metaSql).run(...metaParams);
    }).immediate();
  }

  protected async transaction<T>(fn: (q: { all: SqliteStore['all']; run: SqliteStore['run'] }) => Promise<T>): Promise<T> {
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
