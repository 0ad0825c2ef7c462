import * as mariadb from 'mariadb';
import { DatabaseOpenError, oneLine } from './open-error';
import type { Statement } from './migrations';
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
  const raw = u.searchParams.get('connectionLimit');
  if (raw !== null && !/^\d+$/.test(raw))
    throw new DatabaseOpenError(`connectionLimit must be a whole number, got "${raw}"`);
  const limit = Number(raw ?? opts.connectionLimit ?? 10);
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

/** what went wrong connecting, per driver error code: the cause and what to check */
const CAUSES: Record<string, (c: mariadb.PoolConfig) => string> = {
  ECONNREFUSED: () => 'connection refused (ECONNREFUSED); is the server running and listening on that port?',
  ENOTFOUND: (c) => `host "${c.host}" not found (ENOTFOUND); check the host name in the URL`,
  EAI_AGAIN: (c) => `host "${c.host}" could not be looked up (EAI_AGAIN); check DNS and the host name in the URL`,
  ER_CONNECTION_TIMEOUT: () =>
    'no answer within 2 s (ER_CONNECTION_TIMEOUT); check the host, the port and any firewall',
  ETIMEDOUT: () => 'no answer (ETIMEDOUT); check the host, the port and any firewall',
  EHOSTUNREACH: () => 'host unreachable (EHOSTUNREACH); check the host and the network',
  ENETUNREACH: () => 'network unreachable (ENETUNREACH); check the host and the network',
  ER_ACCESS_DENIED_ERROR: (c) =>
    `access denied for user "${c.user}" (ER_ACCESS_DENIED_ERROR); check the user and password in the URL`,
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: (c) =>
    `access denied for user "${c.user}" (ER_ACCESS_DENIED_NO_PASSWORD_ERROR); check the user and password in the URL`,
  ER_DBACCESS_DENIED_ERROR: (c) =>
    `user "${c.user}" may not use database "${c.database}" (ER_DBACCESS_DENIED_ERROR); grant it: GRANT ALL ON ` +
    `\`${c.database}\`.* TO …`,
  ER_BAD_DB_ERROR: (c) =>
    `unknown database "${c.database}" (ER_BAD_DB_ERROR); create it: CREATE DATABASE \`${c.database}\` ` +
    `CHARACTER SET utf8mb4`,
};

/**
 * Connects once, directly rather than through a pool (a pool only reports that it timed out
 * waiting for a connection), and closes again: a database that cannot be used is a
 * DatabaseOpenError naming host, port and the cause, within the 2 s connect timeout.
 */
export async function probeMariaDb(url: string): Promise<void> {
  const c = poolConfig(url);
  try {
    const conn = await mariadb.createConnection({
      host: c.host,
      port: c.port,
      user: c.user,
      password: c.password,
      database: c.database,
      connectTimeout: c.connectTimeout,
    });
    await conn.end();
  } catch (err) {
    const e = err as { code?: string; sqlMessage?: string; message?: string };
    const cause =
      (e.code && CAUSES[e.code]?.(c)) ?? `${oneLine(e.sqlMessage ?? e.message ?? 'error')} (${e.code ?? 'unknown'})`;
    throw new DatabaseOpenError(`cannot connect to MariaDB at ${c.host}:${c.port}: ${cause}`);
  }
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
      timer = setTimeout(
        () => reject(Object.assign(new Error('query timed out'), { code: 'GATEHOUSE_QUERY_TIMEOUT' })),
        QUERY_TIMEOUT_MS,
      );
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

  protected async applyMigration(statements: Statement[], version: number): Promise<void> {
    // DDL commits implicitly in MariaDB; statements are written to be applied once, in order (a
    // guarded one when its `unless` query finds nothing).
    for (const s of statements) {
      if (typeof s === 'string') await this.pool.query(s);
      else if (((await this.pool.query(s.unless)) as unknown[]).length === 0) await this.pool.query(s.sql);
    }
    const [sql, params] = this.metaVersionStatement(version);
    await this.pool.query(sql, params);
  }

  protected async transaction<T>(
    fn: (q: { all: MariaDbStore['all']; run: MariaDbStore['run'] }) => Promise<T>,
  ): Promise<T> {
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
