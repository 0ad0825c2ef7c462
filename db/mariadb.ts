import crypto from 'node:crypto';
import * as mariadb from 'mariadb';
import { hostUrls } from './hosts';
import { Members } from './members';
import { DatabaseOpenError, oneLine } from './open-error';
import type { Statement } from './migrations';
import { SqlStore } from './sql-store';

type Param = string | number | null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a deadlock, or a write that lost a Galera certification conflict */
export const ER_LOCK_DEADLOCK = 1213;
/** how often a single statement that lost one is run again (see run()) */
export const DEADLOCK_RETRIES = 5;
/** the migration lock's row on Galera (meta), how long it holds without being extended, and how long to wait for it */
export const LOCK_ROW = 'migration_lock';
const LOCK_ROW_TTL_MS = 120_000;
const MIGRATION_LOCK_WAIT_MS = 60_000;

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

/** the cause of a failed connection, in words (see CAUSES) */
function connectCause(err: unknown, c: mariadb.PoolConfig): string {
  const e = err as { code?: string; sqlMessage?: string; message?: string };
  return (e.code && CAUSES[e.code]?.(c)) ?? `${oneLine(e.sqlMessage ?? e.message ?? 'error')} (${e.code ?? 'unknown'})`;
}

async function probeOne(c: mariadb.PoolConfig): Promise<void> {
  const conn = await mariadb.createConnection({
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    database: c.database,
    connectTimeout: c.connectTimeout,
  });
  await conn.end();
}

/**
 * Connects once, directly rather than through a pool (a pool only reports that it timed out
 * waiting for a connection), and closes again: a database that cannot be used is a
 * DatabaseOpenError naming host, port and the cause, within the 2 s connect timeout. A URL naming
 * several hosts is usable when one of them is: otherwise the error names each host and its cause.
 */
export async function probeMariaDb(url: string): Promise<void> {
  const configs = hostUrls(url).map((one) => poolConfig(one));
  const causes: string[] = [];
  for (const c of configs) {
    try {
      await probeOne(c);
      return;
    } catch (err) {
      causes.push(`${c.host}:${c.port}: ${connectCause(err, c)}`);
    }
  }
  throw new DatabaseOpenError(
    configs.length === 1
      ? `cannot connect to MariaDB at ${causes[0]}`
      : `cannot connect to any MariaDB host (${causes.join('; ')})`,
  );
}

/**
 * With several hosts, how long a member's pool may take to hand out a connection before the
 * next host is tried (a killed member refuses at once, but its pool retries until this deadline),
 * and how long a member that failed is passed over before it is tried first again (db/members.ts).
 */
export const MEMBER_ACQUIRE_TIMEOUT_MS = 1000;
export const MEMBER_RESTORE_MS = 5000;

/** The shared store: any number of nodes on one MariaDB / MySQL database. */
export class MariaDbStore extends SqlStore {
  readonly dialect = 'mariadb' as const;
  protected readonly insertIgnore = 'INSERT IGNORE';
  // the assignments run left to right, each seeing the ones before: create_time last
  protected readonly ticketUpsert =
    'INSERT INTO tickets (platform, app_id, value, create_time, updated_at) VALUES (?, ?, ?, ?, ?) ' +
    'ON DUPLICATE KEY UPDATE value = IF(create_time < VALUES(create_time), VALUES(value), value), ' +
    'updated_at = IF(create_time < VALUES(create_time), VALUES(updated_at), updated_at), ' +
    'create_time = GREATEST(create_time, VALUES(create_time))';
  /** one pool per host of the URL, in failover order */
  readonly members: Members;
  /** statements run again after losing a deadlock / certification conflict (1213) */
  deadlockRetries = 0;
  /** how many hosts the URL names (1: one pool, as always; more: members in failover order) */
  readonly hosts: number;

  constructor(url: string, opts: MariaDbOptions = {}) {
    super();
    const urls = hostUrls(url);
    this.hosts = urls.length;
    const several = urls.length > 1;
    this.members = new Members(
      urls.map((one) =>
        mariadb.createPool(
          poolConfig(
            one,
            several ? { ...opts, acquireTimeout: opts.acquireTimeout ?? MEMBER_ACQUIRE_TIMEOUT_MS } : opts,
          ),
        ),
      ),
      MEMBER_RESTORE_MS,
    );
  }

  /**
   * A query with a client-side deadline: a database that hangs (rather than refusing) must not
   * hang requests. The stuck connection is left to the pool; the caller gets an error.
   */
  private query(sql: string | { sql: string; rowsAsArray: boolean }, params: Param[]): Promise<unknown> {
    return this.members.query(sql, params, QUERY_TIMEOUT_MS);
  }

  protected async all(sql: string, params: Param[] = []): Promise<Record<string, unknown>[]> {
    const rows = (await this.query({ sql, rowsAsArray: false }, params)) as Record<string, unknown>[];
    return Array.from(rows);
  }

  /**
   * A statement that loses a deadlock or, on Galera, a certification conflict (ER_LOCK_DEADLOCK,
   * 1213: the cluster's other members committed a write to the same row first) was rolled back
   * whole: nothing of it committed, so running it again is the same as running it once. Every
   * write of the store is one statement whose WHERE decides against the rows as they are (leases,
   * version-guarded saves, INSERT IGNORE, compare-and-set), so it is retried up to DEADLOCK_RETRIES
   * times; a retried lease still goes to one node only. Transactions (atomically, rewriteSecrets)
   * are not retried: their statements run on `q` and the 1213 reaches the caller.
   */
  protected async run(sql: string, params: Param[] = []): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = (await this.query(sql, params)) as { affectedRows?: number };
        return Number(res.affectedRows ?? 0);
      } catch (err) {
        if ((err as { errno?: number }).errno !== ER_LOCK_DEADLOCK || attempt >= DEADLOCK_RETRIES) throw err;
        this.deadlockRetries++;
        // apart, so that the statements that conflicted do not meet again
        await sleep(5 + Math.random() * 20 * (attempt + 1));
      }
    }
  }

  protected async withMigrationLock<T>(fn: () => Promise<T>): Promise<T> {
    if (await this.onGalera()) return this.withLockRow(fn);
    const { conn } = await this.members.getConnection();
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

  /** whether the server is a Galera member (wsrep_on): GET_LOCK is then local to the member */
  async onGalera(): Promise<boolean> {
    const rows = await this.all("SHOW GLOBAL VARIABLES LIKE 'wsrep_on'");
    return rows.length > 0 && String(rows[0].Value).toUpperCase() === 'ON';
  }

  /**
   * The migration lock as a row (meta migration_lock = "<holder> <until ms>"), for Galera, which
   * does not replicate GET_LOCK: the one INSERT IGNORE that commits takes it (on two members at
   * once, certification lets one of them commit; the other inserts nothing). The holder extends
   * it while it migrates; a row past its time (its holder died) is taken over by compare-and-set;
   * it is deleted when the migration ends.
   */
  private async withLockRow<T>(fn: () => Promise<T>): Promise<T> {
    const holder = crypto.randomBytes(8).toString('hex');
    const value = () => `${holder} ${Date.now() + LOCK_ROW_TTL_MS}`;
    let mine = value();
    const deadline = Date.now() + MIGRATION_LOCK_WAIT_MS;
    for (;;) {
      if ((await this.run('INSERT IGNORE INTO meta (k, v) VALUES (?, ?)', [LOCK_ROW, mine])) > 0) break;
      const [held] = await this.all('SELECT v FROM meta WHERE k = ?', [LOCK_ROW]);
      if (
        held &&
        Number(String(held.v).split(' ')[1] ?? 0) < Date.now() &&
        (await this.run('UPDATE meta SET v = ? WHERE k = ? AND v = ?', [mine, LOCK_ROW, String(held.v)])) > 0
      )
        break;
      if (Date.now() > deadline)
        throw new Error(
          `could not take the migration lock (meta ${LOCK_ROW}) within ${MIGRATION_LOCK_WAIT_MS / 1000} s`,
        );
      await sleep(200);
      mine = value();
    }
    const extend = setInterval(() => {
      const next = value();
      this.run('UPDATE meta SET v = ? WHERE k = ? AND v = ?', [next, LOCK_ROW, mine]).then(
        (n) => {
          if (n > 0) mine = next;
        },
        () => undefined,
      );
    }, LOCK_ROW_TTL_MS / 4);
    try {
      return await fn();
    } finally {
      clearInterval(extend);
      await this.run('DELETE FROM meta WHERE k = ? AND v = ?', [LOCK_ROW, mine]);
    }
  }

  protected async applyMigration(statements: Statement[], version: number): Promise<void> {
    // DDL commits implicitly in MariaDB; statements are written to be applied once, in order (a
    // guarded one when its `unless` query finds nothing).
    for (const s of statements) {
      if (typeof s === 'string') await this.members.query(s);
      else if (((await this.members.query(s.unless)) as unknown[]).length === 0) await this.members.query(s.sql);
    }
    const [sql, params] = this.metaVersionStatement(version);
    await this.members.query(sql, params);
  }

  /**
   * A transaction on one member. When that member refuses its first write (read-only, not synced:
   * nothing of the transaction can have committed) and another member is left, the whole
   * transaction runs again there; any other error reaches the caller.
   */
  protected async transaction<T>(
    fn: (q: { all: MariaDbStore['all']; run: MariaDbStore['run'] }) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { conn, member } = await this.members.getConnection();
      try {
        await conn.beginTransaction();
        const r = await fn({
          all: async (sql, p = []) => Array.from((await conn.query(sql, p)) as Record<string, unknown>[]),
          run: async (sql, p = []) =>
            Number(((await conn.query(sql, p)) as { affectedRows?: number }).affectedRows ?? 0),
        });
        await conn.commit();
        return r;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        if (this.members.note(member, err) !== 'refused' || attempt >= this.members.size) throw err;
      } finally {
        await conn.release();
      }
    }
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1', []);
  }

  async close(): Promise<void> {
    await this.members.end();
  }
}
