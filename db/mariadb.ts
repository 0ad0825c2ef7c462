import * as mariadb from 'mariadb';
import { SqlStore } from './sql-store';

type Param = string | number | null;

/** no gatehouse query takes long: past this the database is taken as hung */
const QUERY_TIMEOUT_MS = 3000;

export interface MariaDbOptions {
  connectionLimit?: number;
  acquireTimeout?: number;
}

/** Parses `mariadb://user:pass@host:port/db?connectionLimit=N` into pool options. */
export function poolConfig(url: string, opts: MariaDbOptions = {}): mariadb.PoolConfig {
  const u = new URL(url);
  const limit = Number(u.searchParams.get('connectionLimit') ?? opts.connectionLimit ?? 10);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    connectionLimit: limit,
    acquireTimeout: opts.acquireTimeout ?? 2000,
    connectTimeout: 2000,
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    decimalAsNumber: true,
    logParam: false,
    charset: 'utf8mb4',
  };
}

/** The shared store: any number of nodes on one MariaDB / MySQL database. */
export class MariaDbStore extends SqlStore {
  readonly dialect = 'mariadb' as const;
  protected readonly insertIgnore = 'INSERT IGNORE';
  private readonly pool: mariadb.Pool;

  constructor(url: string, opts: MariaDbOptions = {}) {
    super();
    this.pool = mariadb.createPool(poolConfig(url, opts));
  }

  /**
   * A query with a client-side deadline: a database that hangs (rather than refusing) must not
   * hang requests. The stuck connection is left to the pool; the caller gets an error.
   */
  private query(sql: string | { sql: string; rowsAsArray: boolean }, params: Param[]): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('query timed out'), { code: 'GATEHOUSE_QUERY_TIMEOUT' })), QUERY_TIMEOUT_MS);
    });
    return Promise.race([this.pool.query(sql, params), deadline]).finally(() => clearTimeout(timer));
  }

  protected async all(sql: string, params: Param[] = []): Promise<Record<string, unknown>[]> {
    const rows = (await this.query({ sql, rowsAsArray: false }, params)) as Record<string, unknown>[];
    return Array.from(rows);
  }

  protected async run(sql: string, params: Param[] = []): Promise<number> {
    const res = (await this.query(sql, params)) as { affectedRows?: number };
    return Number(res.affectedRows ?? 0);
  }

  protected async withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    try {
      const [r] = (await conn.query("SELECT GET_LOCK('gatehouse_migrate', 60) AS got")) as { got: number }[];
      if (Number(r.got) !== 1) throw new Error('could not take the migration lock within 60 s');
      try {
        return await fn();
      } finally {
        await conn.query("SELECT RELEASE_LOCK('gatehouse_migrate')");
      }
    } finally {
      await conn.release();
    }
  }

  protected async applyMigration(statements: string[], version: number): Promise<void> {
    // DDL commits implicitly in MariaDB; statements are written to be applied once, in order.
    for (const s of statements) await this.pool.query(s);
    const [sql, params] = this.metaVersionStatement(version);
    await this.pool.query(sql, params);
  }

  protected async transaction<T>(fn: (q: { all: MariaDbStore['all']; run: MariaDbStore['run'] }) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      const r = await fn({
        all: async (sql, p = []) => Array.from((await conn.query(sql, p)) as Record<string, unknown>[]),
        run: async (sql, p = []) => Number(((await conn.query(sql, p)) as { affectedRows?: number }).affectedRows ?? 0),
      });
      await conn.commit();
      return r;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      await conn.release();
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1', []);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
