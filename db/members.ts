import type * as mariadb from 'mariadb';

/**
 * The MariaDB hosts of GATEHOUSE_DATABASE_URL in failover order (issue 19): one connection pool
 * per host; every statement goes to the first member that is usable.
 *
 * Usable: not passed over, and, with several hosts, checked: before a member takes statements it
 * answers `SELECT @@global.read_only` with 0 (a replica, or a demoted primary that came back, is
 * read-only; a Galera member outside the primary component or still joining refuses with 1047).
 * A member is checked once, and again after each failure. While a member is checked, statements
 * go to a later member already checked, if there is one, rather than wait.
 *
 * A member is passed over for `restoreMs` after it failed:
 *
 * - **refused**: it answered, but would not run the statement (read-only 1290, not synced 1047,
 *   or read-only when checked): the statement goes to the next member at once;
 * - **unreachable**: no connection within the pool's acquire timeout (down, firewalled): the
 *   statement did not run and goes to the next member;
 * - **lost** during the statement (the connection closed, the server shut down or killed it, no
 *   answer within the deadline): the statement may have run, so the error reaches the caller (a
 *   push is then not answered `success`; the platform sends it again); the next statements go on.
 *
 * When every member is passed over, all are tried anyway, unchecked, those that refused first
 * (they answer fast, and a replica still serves reads while its primary is down and not yet
 * replaced). The connector's own pool cluster only moves on when it gets no connection, never
 * when a connected server refuses or is read-only.
 */

/** answered, but did not run the statement (errno) */
const REFUSED = new Set([
  1290, // ER_OPTION_PREVENTS_STATEMENT: --read-only
  1792, // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
  1047, // ER_UNKNOWN_COM_ERROR: "WSREP has not yet prepared node for application use"
]);
/** no connection for the statement: it did not run (errno) */
const UNREACHABLE = new Set([
  45028, // ER_GET_CONNECTION_TIMEOUT: the member's pool had no connection for us in time
  45027, // ER_POOL_ALREADY_CLOSED
]);
/** the member went away during the statement (errno or code): it may have run */
const LOST_ERRNO = new Set([
  45009, // ER_SOCKET_UNEXPECTED_CLOSE
  45019, // ER_SOCKET
  45026, // ER_SOCKET_TIMEOUT
  1053, // ER_SERVER_SHUTDOWN
  1927, // ER_CONNECTION_KILLED
  2006, // CR_SERVER_GONE_ERROR
  2013, // CR_SERVER_LOST
]);
const LOST_CODE = new Set(['GATEHOUSE_QUERY_TIMEOUT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

export type MemberFailure = 'refused' | 'unreachable' | 'lost';

/** how a member failed, judged by the error; undefined: the statement's own error (duplicate key, syntax …) */
export function memberFailure(err: unknown): MemberFailure | undefined {
  const e = err as { errno?: number; code?: string };
  if (e.errno !== undefined && REFUSED.has(e.errno)) return 'refused';
  if (e.errno !== undefined && UNREACHABLE.has(e.errno)) return 'unreachable';
  if ((e.errno !== undefined && LOST_ERRNO.has(e.errno)) || (e.code && LOST_CODE.has(e.code))) return 'lost';
  return undefined;
}

const QUERY_TIMEOUT = 'GATEHOUSE_QUERY_TIMEOUT';

/** a promise that rejects with code GATEHOUSE_QUERY_TIMEOUT past `ms` (none when ms is undefined) */
function withDeadline<T>(p: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('query timed out'), { code: QUERY_TIMEOUT })), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** the statement did not run on that member: the next one may run it */
const movesOn = (f: MemberFailure | undefined) => f === 'refused' || f === 'unreachable';

export class Members {
  private readonly passedUntil: number[];
  private readonly lastFailure: MemberFailure[];
  private readonly checked: boolean[];
  private readonly checking: (Promise<true | Error> | undefined)[];
  /** how often each member was passed over */
  readonly passes: number[];

  constructor(
    readonly pools: mariadb.Pool[],
    private readonly restoreMs: number,
    private readonly checkTimeoutMs = 3000,
  ) {
    this.passedUntil = pools.map(() => 0);
    this.lastFailure = pools.map(() => 'refused' as const);
    // one host: nothing to choose, nothing to check (as a plain pool always was)
    this.checked = pools.map(() => pools.length === 1);
    this.checking = pools.map(() => undefined);
    this.passes = pools.map(() => 0);
  }

  get size(): number {
    return this.pools.length;
  }

  /** members to try, in order: those not passed over (URL order), then the others (refused first) */
  order(now = Date.now()): number[] {
    const all = this.pools.map((_, i) => i);
    const ready = all.filter((i) => this.passedUntil[i] <= now);
    const passed = all.filter((i) => this.passedUntil[i] > now);
    const rank = (i: number) => Number(this.lastFailure[i] !== 'refused');
    passed.sort((a, b) => rank(a) - rank(b) || a - b);
    return [...ready, ...passed];
  }

  /** passes member i over after `failure` */
  private passOver(i: number, failure: MemberFailure): void {
    if (this.pools.length === 1) return;
    this.passedUntil[i] = Date.now() + this.restoreMs;
    this.lastFailure[i] = failure;
    this.checked[i] = false;
    this.passes[i]++;
  }

  /** notes how member i failed (if the error says it did); returns the failure */
  note(i: number, err: unknown): MemberFailure | undefined {
    const f = memberFailure(err);
    if (f) this.passOver(i, f);
    return f;
  }

  /** checks member i (once at a time): true when it is writable, else how it failed */
  private check(i: number): Promise<true | Error> {
    this.checking[i] ??= withDeadline(this.pools[i].query('SELECT @@global.read_only AS ro'), this.checkTimeoutMs)
      .then(
        (rows): true | Error => {
          if (Number((rows as { ro: unknown }[])[0]?.ro)) {
            this.passOver(i, 'refused');
            return Object.assign(new Error('the server is read-only (a replica)'), {
              errno: 1290,
              code: 'ER_OPTION_PREVENTS_STATEMENT',
            });
          }
          this.checked[i] = true;
          return true;
        },
        (err: Error) => {
          this.passOver(i, memberFailure(err) ?? 'lost');
          return err;
        },
      )
      .finally(() => {
        this.checking[i] = undefined;
      });
    return this.checking[i];
  }

  /**
   * Whether member i may take a statement now (true), or why not: members passed over are taken
   * as they are (the last resort); an unchecked one is checked first, in the background (false)
   * when a later member is already usable.
   */
  private async usable(i: number, order: number[], now: number): Promise<boolean | Error> {
    if (this.checked[i] || this.passedUntil[i] > now) return true;
    const check = this.check(i);
    const later = order.slice(order.indexOf(i) + 1);
    if (later.some((j) => this.checked[j] && this.passedUntil[j] <= now)) return false;
    return check;
  }

  /**
   * Runs `attempt` on the first member that does not refuse it. Once a member has answered with a
   * refusal (read-only, not synced), members passed over as gone are not waited on: the refusal is
   * the answer (an error of the statement, not of the connection: the node's breaker for a
   * database that is down does not trip while a replica answers).
   */
  private async first<T>(attempt: (i: number) => Promise<T>): Promise<T> {
    let refusal: unknown;
    // the error of no member at all is made only when it is thrown (an Error's stack costs a few µs,
    // and this runs for every statement)
    let other: unknown;
    const now = Date.now();
    const order = this.order(now);
    for (const i of order) {
      if (refusal !== undefined && this.passedUntil[i] > now && this.lastFailure[i] !== 'refused') continue;
      const usable = await this.usable(i, order, now);
      if (usable !== true) {
        if (usable) {
          if (memberFailure(usable) === 'refused') refusal = usable;
          else other = usable;
        }
        continue;
      }
      try {
        return await attempt(i);
      } catch (err) {
        const f = this.note(i, err);
        if (!movesOn(f)) throw err;
        if (f === 'refused') refusal = err;
        else other = err;
      }
    }
    throw refusal ?? other ?? new Error('no database member is usable');
  }

  /** one statement on the first member that runs it; `timeoutMs` bounds each attempt */
  query(sql: string | mariadb.QueryOptions, values?: unknown, timeoutMs?: number): Promise<unknown> {
    return this.first((i) => withDeadline(this.pools[i].query(sql, values), timeoutMs));
  }

  /** a connection of the first member that hands one out, and which member it is */
  getConnection(): Promise<{ conn: mariadb.PoolConnection; member: number }> {
    return this.first(async (i) => ({ conn: await this.pools[i].getConnection(), member: i }));
  }

  async end(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.end()));
  }
}
