import * as mariadb from 'mariadb';
import { ConfigError } from '../../system/config';

export type SourceRow = Record<string, unknown>;

/**
 * The database an importer reads (varys's, wxcomponent's, the Wafer fork's): MySQL or MariaDB,
 * `mysql://user:pass@host:port/db`. Read only: every statement is a SELECT, in one READ ONLY
 * transaction, so that what is imported is one consistent picture.
 */
export class Source {
  private constructor(
    private readonly conn: mariadb.Connection,
    private readonly present: Set<string>,
    /** the URL's password (wxcomponent derives its default AES key from it) */
    readonly password: string,
  ) {}

  static async open(url: string, what = '--from'): Promise<Source> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError(`${what}: expected mysql://user:password@host:port/database`);
    }
    if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:')
      throw new ConfigError(`${what}: expected mysql://user:password@host:port/database, got "${u.protocol}"`);
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    if (!u.hostname || !database) throw new ConfigError(`${what}: needs a host and a database name`);
    const password = decodeURIComponent(u.password);
    let conn: mariadb.Connection;
    try {
      conn = await mariadb.createConnection({
        host: u.hostname,
        port: u.port ? Number(u.port) : 3306,
        user: decodeURIComponent(u.username || 'root'),
        password,
        database,
        connectTimeout: 5000,
        bigIntAsNumber: true,
        decimalAsNumber: true,
        dateStrings: false,
        charset: 'utf8mb4',
      });
    } catch (err) {
      const e = err as { code?: string; sqlMessage?: string; message?: string };
      throw new ConfigError(
        `${what}: cannot connect to ${u.hostname}:${u.port || 3306}/${database}: ${e.code ?? ''} ${
          e.sqlMessage ?? e.message ?? ''
        }`.trim(),
      );
    }
    await conn.query('SET SESSION TRANSACTION READ ONLY');
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    const tables = (await conn.query(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?',
      [database],
    )) as { name: string }[];
    return new Source(conn, new Set(Array.from(tables, (t) => String(t.name))), password);
  }

  /** whether the table exists (names compared as MySQL stores them) */
  has(table: string): boolean {
    return this.present.has(table) || [...this.present].some((t) => t.toLowerCase() === table.toLowerCase());
  }

  /** the table's name as stored (MySQL on Linux is case-sensitive about it) */
  private nameOf(table: string): string {
    return this.present.has(table)
      ? table
      : ([...this.present].find((t) => t.toLowerCase() === table.toLowerCase()) ?? table);
  }

  /** every row of a table, [] when the table does not exist; column names as the DDL spells them, lower-cased */
  async rows(table: string, order?: string): Promise<SourceRow[]> {
    if (!this.has(table)) return [];
    const sql = `SELECT * FROM \`${this.nameOf(table).replace(/`/g, '')}\`${order ? ` ORDER BY ${order}` : ''}`;
    const rows = (await this.conn.query(sql)) as SourceRow[];
    return Array.from(rows, (r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v])));
  }

  async close(): Promise<void> {
    await this.conn.query('COMMIT').catch(() => undefined);
    await this.conn.end().catch(() => undefined);
  }
}

/** a column as a trimmed string ('' for null / absent) */
export function str(row: SourceRow, column: string): string {
  const v = row[column];
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return v.toString('utf8').trim();
  return String(v).trim();
}

/** a flag column (tinyint 0 / 1); absent → `dflt` */
export function flag(row: SourceRow, column: string, dflt = true): boolean {
  const v = row[column];
  if (v === null || v === undefined) return dflt;
  return Number(v) !== 0;
}

/** a DATETIME / TIMESTAMP column as epoch ms; null when absent or zero */
export function time(row: SourceRow, column: string): number | null {
  const v = row[column];
  if (v instanceof Date) return Number.isFinite(v.getTime()) && v.getTime() > 0 ? v.getTime() : null;
  if (typeof v === 'number') return v > 0 ? v : null;
  if (typeof v === 'string' && v) {
    const t = Date.parse(v.replace(' ', 'T'));
    return Number.isFinite(t) && t > 0 ? t : null;
  }
  return null;
}
