import NodeCache from 'node-cache';
import { Codes, RpcError, StoreError, UpstreamError } from '../../../system/errors';
import type { Logger } from '../../../system/log';
import type { Metrics } from '../../../system/metrics';
import type { Store, TokenIdentity, TokenRow } from '../../../db/store';

/** What a platform hands back for one refresh. */
export interface Fetched {
  value: string;
  /** lifetime in seconds, as the platform said */
  expiresIn: number;
  /** new auxiliary state to keep (e.g. a rotated refresh token, already sealed); undefined keeps it */
  aux?: string | null;
}

/** A token as a platform supplies it: who it is, and how to fetch a fresh one. */
export interface TokenSpec extends TokenIdentity {
  fetch(opts: { force: boolean; aux: string | null }): Promise<Fetched>;
}

export interface CurrentToken {
  value: string;
  /** epoch ms */
  expiresAt: number;
  /**
   * the stored row's version (one more per refresh): a compare-and-refresh that gives back the
   * same version refreshed nothing (e.g. refused by the 30 s budget); NaN when not known
   */
  version: number;
}

/** what a served token is, from a stored row or a cached copy of one */
const served = (r: { value: string | null; expiresAt: number | null; version: number }): CurrentToken => ({
  value: r.value!,
  expiresAt: r.expiresAt!,
  version: r.version,
});

export interface GetOptions {
  force?: boolean;
  /** compare-and-refresh: refresh only when the current token is this one */
  invalidToken?: string;
}

export interface EngineOptions {
  nodeId: string;
  metrics?: Metrics;
  /** how long a refresh lease lasts (a dead node delays others at most this long) */
  leaseMs?: number;
  /** forces refresh at most once per window */
  forceWindowMs?: number;
  /** per-node cache lifetime: another node's refresh is seen within this */
  cacheMs?: number;
  /** how often a waiter looks at the store while another node refreshes */
  pollMs?: number;
  /** upstream attempts per refresh (retries on -1, 45000–45008, timeouts, bad replies) */
  attempts?: number;
  backoffMs?: number;
  /** how long the platform may take per call (bounds retries inside a lease) */
  upstreamTimeoutMs?: number;
  /**
   * refresher: scan period, upstream calls in flight at once, quiet time after an error. Up to
   * JOBS_PER_SLOT × concurrency refreshes run at once; each takes an upstream slot before its lease
   * and gives it back once its platform call is answered, so the write and read-back after the
   * call run outside the slots (and no lease runs out while its refresh waits for a slot).
   */
  scanMs?: number;
  concurrency?: number;
  errorQuietMs?: number;
  /** how long past the holder's lease and attempts a waiter keeps looking for its token */
  waitSlackMs?: number;
  /** tokens remembered for serving while the store is down (starts over when full) */
  lastKnownMax?: number;
}

/**
 * refresher refreshes per upstream slot: a refresh spends about as long in the store (lease, double
 * check, write, read-back: two commits on MariaDB) as on the platform; with the write and read-back
 * outside the slot, the next refresh takes the slot as soon as a call is answered (the fleet bench:
 * 234 refreshes/s at 8 slots when a slot was held through the whole refresh)
 */
export const JOBS_PER_SLOT = 4;

/** a refresher refresh's hold on an upstream slot: taken (waiting for one) unless held; given back once */
interface Slot {
  take(): Promise<void>;
  release(): void;
}

/** a token this close to expiry is not served */
const MIN_VALID_MS = 2000;
const TEN_MINUTES = 600_000;

type Need = 'none' | 'cold' | 'force' | 'invalidate' | 'ahead';
type Resolver = (row: TokenRow) => Promise<TokenSpec | null>;

interface Cached extends CurrentToken {
  refreshAt: number;
  version: number;
  refreshedAt: number | null;
  platform: string;
  kind: string;
  codeName: string;
  subject: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** the part of a token's life refreshed ahead: its last 10 minutes, or last 20 % when shorter-lived */
export function refreshAhead(lifetimeMs: number): number {
  return Math.min(TEN_MINUTES, Math.floor(lifetimeMs * 0.2));
}

/**
 * Which token a log line is about, by fields the log does not redact (`token` is redacted by name):
 * platform, codeName, subject (appid / corpid / suite id …) and kind — never the value.
 */
function which(t: { platform: string; codeName: string; subject: string; kind: string }) {
  return { platform: t.platform, codeName: t.codeName, subject: t.subject, kind: t.kind };
}

function describe(err: unknown): string {
  if (err instanceof RpcError) {
    const d = err.data as { platform?: string; errcode?: unknown; errmsg?: unknown } | '';
    if (err.code === Codes.UPSTREAM_ERROR && d)
      return `${d.platform} errcode ${String(d.errcode)}: ${String(d.errmsg).slice(0, 200)}`;
    return err.detail ?? err.message;
  }
  return 'internal error';
}

/**
 * Whether another attempt may succeed: the platform unreachable or answering nonsense, or an error
 * code its platform's rules call transient (WeChat: busy -1, 45000–45008). Credentials, IP
 * whitelists, quotas and every other errcode are answered at once.
 */
function retryable(err: unknown): boolean {
  if (err instanceof UpstreamError) return err.transient;
  return err instanceof RpcError && (err.code === Codes.UPSTREAM_UNREACHABLE || err.code === Codes.UPSTREAM_BAD_REPLY);
}

/**
 * when a token living `lifetimeMs` is renewed ahead, in ms before it expires: never so late that it is too close to
 * expiry to be served, nor earlier than half its life
 */
function aheadOf(lifetimeMs: number): number {
  return Math.min(Math.max(refreshAhead(lifetimeMs), 2 * MIN_VALID_MS), lifetimeMs / 2);
}

/**
 * The token engine (PROTOCOL.md §5), the same for every platform:
 * - one refresh cluster-wide: in-process single-flight per key + a lease row in the shared store,
 *   re-read after winning it (double check), written back only by the lease holder;
 * - refresh ahead: a background refresher renews tokens in their last 10 min / 20 % of life;
 * - force at most once per 30 s; compare-and-refresh with invalidToken;
 * - serve through outages: a still-valid stored token is served when a refresh fails;
 * - a dead node's lease expires after 15 s; errors are never cached, the last one is stored.
 */
export class TokenEngine {
  private readonly o: Required<Omit<EngineOptions, 'metrics'>>;
  private readonly metrics?: Metrics;
  private readonly flights = new Map<string, { promise: Promise<CurrentToken>; need: Need }>();
  private readonly reads = new Map<string, Promise<TokenRow>>();
  /** the last value seen per token, beyond the cache's life: served while the store is down */
  private readonly lastKnown = new Map<string, Cached>();
  /** due rows found by the last scan, waiting for a free refresher slot */
  private queue: TokenRow[] = [];
  private readonly cache: NodeCache;
  private readonly resolvers = new Map<string, Resolver>();
  private timer?: NodeJS.Timeout;
  private running = 0;
  /** the refresher's upstream slots (concurrency): free ones, and the refreshes waiting for one */
  private slotsFree: number;
  private readonly slotWaiters: (() => void)[] = [];
  private scanning = false;
  /** upstream refreshes by why they happened ('ahead' ones never make a request wait) */
  readonly stats = { cold: 0, force: 0, invalidate: 0, ahead: 0, failed: 0 };

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    opts: EngineOptions,
  ) {
    this.metrics = opts.metrics;
    const { metrics: _m, ...rest } = opts;
    void _m;
    this.o = {
      leaseMs: 15_000,
      forceWindowMs: 30_000,
      cacheMs: 3_000,
      pollMs: 50,
      attempts: 3,
      backoffMs: 200,
      upstreamTimeoutMs: 3_000,
      scanMs: 1_000,
      concurrency: 8,
      errorQuietMs: 30_000,
      waitSlackMs: 5_000,
      lastKnownMax: 100_000,
      ...rest,
    };
    this.slotsFree = this.o.concurrency;
    // Stryker disable next-line BooleanLiteral: equivalent — a cloned copy serves the same values
    this.cache = new NodeCache({ stdTTL: this.o.cacheMs / 1000, checkperiod: 0, useClones: false });
    this.metrics?.watchTokens(() => [...this.lastKnown.values()]);
  }

  /** how the refresher rebuilds a spec from a stored row, per `platform:kind` */
  resolver(platform: string, kind: string, resolve: Resolver): void {
    this.resolvers.set(`${platform}:${kind}`, resolve);
  }

  /** the current token, refreshing it when cold, forced (once per window) or invalidated */
  async get(spec: TokenSpec, opts: GetOptions = {}): Promise<CurrentToken> {
    const force = opts.force === true;
    const now = Date.now();
    if (!force && opts.invalidToken === undefined) {
      const c = this.cache.get<Cached>(spec.key);
      if (c && c.expiresAt > now + MIN_VALID_MS) {
        this.metrics?.cache.inc({ result: 'hit' });
        if (c.refreshAt <= now) this.refreshInBackground(spec, c.version);
        return served(c);
      }
    }
    // a cold refresh of this key is already under way on this node: its result is ours, whatever
    // was asked (there was no token to force or invalidate); a refresh ahead is not waited for
    const flight = this.flights.get(spec.key);
    if (flight?.need === 'cold') return flight.promise;
    this.metrics?.cache.inc({ result: 'miss' });
    let row: TokenRow;
    try {
      row = await this.read(spec);
    } catch (err) {
      // the store is down: a token this node saw, still valid, keeps being served (§5.5)
      const known = this.lastKnown.get(spec.key);
      if (
        err instanceof StoreError &&
        known &&
        known.expiresAt > Date.now() + MIN_VALID_MS &&
        opts.invalidToken !== known.value
      ) {
        this.cache.set<Cached>(spec.key, known); // the next requests need not wait on the dead store
        return served(known);
      }
      throw err;
    }
    const need = this.need(row, force, opts.invalidToken, now);
    // Stryker disable next-line ConditionalExpression: equivalent — a 'none' sent on to refresh() is satisfied by the row it re-reads
    if (need === 'none' || need === 'ahead') {
      this.remember(row);
      if (need === 'ahead') this.refreshInBackground(spec, row.version);
      return served(row);
    }
    return this.refresh(spec, need, row.version, opts.invalidToken);
  }

  /** reads (creating if need be) a token row; concurrent readers of one key share one read */
  private read(spec: TokenSpec): Promise<TokenRow> {
    let r = this.reads.get(spec.key);
    if (!r) {
      r = (async () => (await this.store.getToken(spec.key)) ?? (await this.store.ensureToken(spec)))();
      this.reads.set(spec.key, r);
      const forget = () => {
        // Stryker disable next-line ConditionalExpression: equivalent — no second read of a key starts before the first settles
        if (this.reads.get(spec.key) === r) this.reads.delete(spec.key);
      };
      r.then(forget, forget);
    }
    return r;
  }

  /**
   * Stores a token the platform handed over outside a refresh (e.g. with an authorization code
   * exchange), so the first request does not fetch another. Skipped when another node holds the lease.
   */
  async seed(spec: TokenIdentity, value: string, expiresIn: number): Promise<boolean> {
    await this.store.ensureToken(spec);
    const now = Date.now();
    // Stryker disable next-line ArithmeticOperator: equivalent on one node — the lease is freed by the write that follows at once
    if (!(await this.store.tryLease(spec.key, this.o.nodeId, now, now + this.o.leaseMs))) return false;
    const lifetime = Math.max(1, expiresIn) * 1000;
    const expiresAt = now + lifetime;
    const ok = await this.store.saveToken(spec.key, this.o.nodeId, {
      value,
      expiresAt,
      refreshedAt: now,
      refreshAt: expiresAt - aheadOf(lifetime),
    });
    this.cache.del(spec.key);
    return ok;
  }

  /** forgets a token everywhere: its stored value is cleared (e.g. the account was unauthorized) */
  async clear(key: string): Promise<void> {
    await this.store.clearToken(key);
    this.cache.del(key);
    this.lastKnown.delete(key);
  }

  /** drops this node's cached copy (e.g. after an unauthorization) */
  forget(key: string): void {
    this.cache.del(key);
  }

  private valid(row: Pick<TokenRow, 'value' | 'expiresAt'>, now = Date.now()): boolean {
    return row.value !== null && (row.expiresAt ?? 0) > now + MIN_VALID_MS;
  }

  private need(row: TokenRow, force: boolean, invalidToken: string | undefined, now: number): Need {
    const valid = this.valid(row, now);
    if (!valid) return 'cold';
    // accepted forces and invalidations share one budget: one refresh per token per window (§5.3)
    if (invalidToken !== undefined)
      return row.value === invalidToken && !this.recentlyForced(row, now) ? 'invalidate' : 'none';
    if (force) return this.recentlyForced(row, now) ? 'none' : 'force';
    return row.refreshAt !== null && row.refreshAt <= now ? 'ahead' : 'none';
  }

  /** a force or invalidation was accepted for this token within the window */
  private recentlyForced(row: TokenRow, now: number): boolean {
    // Stryker disable next-line EqualityOperator: the window's last millisecond
    return row.forcedAt !== null && now - row.forcedAt < this.o.forceWindowMs;
  }

  /** whether a row read after taking the lease (or while waiting) already answers the need */
  private satisfied(row: TokenRow, need: Need, seenVersion: number, invalidToken?: string): boolean {
    const now = Date.now();
    if (!this.valid(row, now)) return false;
    switch (need) {
      case 'cold':
        return true;
      case 'invalidate':
        return row.value !== invalidToken || this.recentlyForced(row, now);
      case 'force':
        return row.version > seenVersion || this.recentlyForced(row, now);
      case 'ahead':
        return row.version > seenVersion || row.refreshAt === null || row.refreshAt > now;
      // Stryker disable next-line all: unreachable — 'none' is never refreshed
      default:
        return true;
    }
  }

  private remember(row: TokenRow): void {
    if (row.value === null || row.expiresAt === null) return;
    const c: Cached = {
      value: row.value,
      expiresAt: row.expiresAt,
      refreshAt: row.refreshAt ?? Infinity,
      version: row.version,
      refreshedAt: row.refreshedAt,
      platform: row.platform,
      kind: row.kind,
      codeName: row.codeName,
      subject: row.subject,
    };
    this.cache.set<Cached>(row.key, c);
    if (this.lastKnown.size >= this.o.lastKnownMax && !this.lastKnown.has(row.key)) this.lastKnown.clear();
    this.lastKnown.set(row.key, c);
  }

  private refreshInBackground(spec: TokenSpec, seenVersion: number): void {
    // Stryker disable next-line ConditionalExpression: equivalent — refresh() would join the flight (only the warning's listener differs)
    if (this.flights.has(spec.key)) return;
    this.refresh(spec, 'ahead', seenVersion).catch((err: unknown) => {
      this.log.warn({ ...which(spec), error: describe(err) }, 'refresh ahead failed');
    });
  }

  /**
   * single-flight per key on this node; a force does not settle for a flight that was not one. A
   * refresh the refresher started (`slotted`) takes one of its upstream slots first (takeSlot).
   */
  private refresh(
    spec: TokenSpec,
    need: Need,
    seenVersion: number,
    invalidToken?: string,
    slotted = false,
  ): Promise<CurrentToken> {
    const flight = this.flights.get(spec.key);
    if (flight && !(need === 'force' && flight.need !== 'force')) {
      if (need !== 'invalidate') return flight.promise;
      // a flight that ends serving the very token the caller reported invalid has failed for it
      return flight.promise.then((t) => {
        if (t.value === invalidToken) throw new RpcError('UPSTREAM_UNREACHABLE', '', `${spec.key}: refresh failed`);
        return t;
      });
    }
    const run = async (): Promise<CurrentToken> => {
      if (flight) await flight.promise.catch(() => undefined);
      return this.refreshOnce(spec, need, seenVersion, invalidToken, slotted);
    };
    const promise = run().finally(() => {
      // Stryker disable next-line ConditionalExpression: equivalent — a newer flight of the key is only set once this one is done
      if (this.flights.get(spec.key)?.promise === promise) this.flights.delete(spec.key);
    });
    this.flights.set(spec.key, { promise, need });
    return promise;
  }

  private async refreshOnce(
    spec: TokenSpec,
    need: Need,
    seenVersion: number,
    invalidToken: string | undefined,
    slotted: boolean,
  ): Promise<CurrentToken> {
    const { leaseMs, upstreamTimeoutMs, attempts, waitSlackMs } = this.o;
    // the holder's lease, its attempts, and some slack: past that it is dead and its lease expired
    const waitMs = leaseMs + attempts * upstreamTimeoutMs + waitSlackMs;
    // the slot before the lease: a lease is never spent waiting for a slot. Given up while another
    // node holds the lease, it is taken again before the next try (that node may die and its
    // lease end: our own call is then made in a slot too)
    let held: (() => void) | undefined;
    const slot: Slot = {
      take: async () => {
        if (slotted && !held) held = await this.takeSlot();
      },
      release: () => {
        held?.();
        held = undefined;
      },
    };
    try {
      return await this.leaseOrWait(spec, need, seenVersion, invalidToken, waitMs, slot);
    } finally {
      slot.release();
    }
  }

  private async leaseOrWait(
    spec: TokenSpec,
    need: Need,
    seenVersion: number,
    invalidToken: string | undefined,
    waitMs: number,
    slot: Slot,
  ): Promise<CurrentToken> {
    const { leaseMs, pollMs } = this.o;
    const deadline = Date.now() + waitMs;
    let lastSeen: TokenRow | null = null;
    let waited = false;
    while (Date.now() < deadline) {
      await slot.take();
      const now = Date.now();
      if (await this.store.tryLease(spec.key, this.o.nodeId, now, now + leaseMs)) {
        return this.refreshHoldingLease(spec, need, seenVersion, invalidToken, now + leaseMs, slot.release);
      }
      // another node holds the lease: its result is ours (one wait, however many polls it takes);
      // no platform call of ours, so the slot goes to the next refresh
      slot.release();
      if (!waited) this.metrics?.leaseWaits.inc();
      waited = true;
      const row = await this.store.getToken(spec.key);
      if (row && this.satisfied(row, need, seenVersion, invalidToken)) {
        this.remember(row);
        return served(row);
      }
      lastSeen = row;
      if (need === 'ahead') {
        if (row && this.valid(row)) return served(row);
      }
      await sleep(pollMs);
    }
    if (lastSeen && this.valid(lastSeen)) return served(lastSeen);
    throw new RpcError('UPSTREAM_UNREACHABLE', '', `${spec.key}: no refresh within ${waitMs} ms`);
  }

  private async refreshHoldingLease(
    spec: TokenSpec,
    need: Need,
    seenVersion: number,
    invalidToken: string | undefined,
    leaseUntil: number,
    release: () => void,
  ): Promise<CurrentToken> {
    const owner = this.o.nodeId;
    // Stryker disable next-line ConditionalExpression: equivalent — ensureToken gives back the row that is there
    const row = (await this.store.getToken(spec.key)) ?? (await this.store.ensureToken(spec));
    if (this.satisfied(row, need, seenVersion, invalidToken)) {
      // double check: somebody refreshed between our look and our lease
      await this.store.releaseLease(spec.key, owner, null, Date.now());
      this.remember(row);
      return served(row);
    }
    const force = need === 'force' || need === 'invalidate';
    if (need !== 'none') this.stats[need]++;
    try {
      // the slot (a refresher's) is given back once the platform answered: the write runs outside it
      const fetched = await this.fetchWithRetry(spec, force, row.aux, leaseUntil).finally(release);
      const refreshedAt = Date.now();
      const lifetime = Math.max(1, fetched.expiresIn) * 1000;
      const expiresAt = refreshedAt + lifetime;
      const saved = await this.store.saveToken(spec.key, owner, {
        value: fetched.value,
        expiresAt,
        refreshedAt,
        refreshAt: expiresAt - aheadOf(lifetime),
        forced: force,
        aux: fetched.aux,
      });
      this.metrics?.refreshes.inc({ platform: spec.platform, kind: spec.kind, reason: need, result: 'ok' });
      const after = await this.store.getToken(spec.key);
      if (!saved) this.log.warn(which(spec), 'lease lost before the refreshed token was written');
      if (after && this.valid(after)) {
        this.remember(after);
        return served(after);
      }
      return { value: fetched.value, expiresAt, version: Number.NaN };
    } catch (err) {
      const error = describe(err);
      this.stats.failed++;
      this.metrics?.refreshes.inc({ platform: spec.platform, kind: spec.kind, reason: need, result: 'failed' });
      await this.store.releaseLease(spec.key, owner, error, Date.now()).catch(() => undefined);
      this.log.warn({ ...which(spec), need, error }, 'token refresh failed');
      // Stryker disable next-line ArrowFunction: equivalent — undefined and null are both no token
      const current = await this.store.getToken(spec.key).catch(() => null);
      if (current && this.valid(current) && need !== 'invalidate') {
        // serve through outages: the stored token is still good
        this.remember(current);
        return served(current);
      }
      throw err;
    }
  }

  private async fetchWithRetry(
    spec: TokenSpec,
    force: boolean,
    aux: string | null,
    leaseUntil: number,
  ): Promise<Fetched> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.o.attempts; attempt++) {
      if (attempt > 0) {
        // Stryker disable next-line ArithmeticOperator: the jitter makes these bounds overlap; tests assert the backoff's lower bound
        const wait = this.o.backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random());
        // Stryker disable next-line EqualityOperator: the lease's last millisecond
        if (Date.now() + wait + this.o.upstreamTimeoutMs > leaseUntil) break;
        await sleep(wait);
      }
      try {
        const f = await spec.fetch({ force, aux });
        if (typeof f.value !== 'string' || !f.value || !Number.isFinite(f.expiresIn) || f.expiresIn <= 0) {
          throw new RpcError(
            'UPSTREAM_BAD_REPLY',
            '',
            `${spec.platform} ${spec.kind}: no token or lifetime in the reply`,
          );
        }
        return f;
      } catch (err) {
        lastErr = err;
        if (!retryable(err)) break;
      }
    }
    throw lastErr;
  }

  // ---- background refresher

  /** starts the periodic scan for tokens due for refresh-ahead */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.scan(), this.o.scanMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** the spec of a stored token, by its kind's resolver; null when none serves it (its app is gone) */
  async specOf(row: TokenRow): Promise<TokenSpec | null> {
    const resolve = this.resolvers.get(`${row.platform}:${row.kind}`);
    return resolve ? resolve(row) : null;
  }

  /**
   * One pass: queues the tokens due for refresh-ahead and keeps JOBS_PER_SLOT × `concurrency`
   * refreshes running (`concurrency` upstream calls);
   * a finished refresh starts the next queued one at once, without waiting for the next pass.
   */
  async scan(): Promise<number> {
    // Stryker disable next-line all: equivalent — a second pass at once finds the same rows, and the double check refreshes none twice
    if (this.scanning) return 0;
    // Stryker disable next-line BooleanLiteral: as above
    this.scanning = true;
    try {
      // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: a bound on the work queued, not observable but in memory
      if (this.queue.length < this.o.concurrency * JOBS_PER_SLOT * 2) {
        const due = await this.store.dueTokens(Date.now(), this.o.errorQuietMs, this.o.concurrency * 32);
        const queued = new Set(this.queue.map((r) => r.key));
        for (const row of due) if (!queued.has(row.key) && !this.flights.has(row.key)) this.queue.push(row);
      }
    } catch (err) {
      this.log.warn({ error: describe(err) }, 'refresher scan failed');
    } finally {
      this.scanning = false;
    }
    return this.pump();
  }

  /**
   * waits for one of the refresher's upstream slots (first come, first served); answers its release,
   * which gives it back once however often it is called
   */
  private async takeSlot(): Promise<() => void> {
    if (this.slotsFree > 0) this.slotsFree--;
    else await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      // a freed slot goes to the longest waiter as it is (never counted free in between)
      const next = this.slotWaiters.shift();
      if (next) next();
      else this.slotsFree++;
    };
  }

  /** starts queued refreshes while there is room; returns how many it started */
  private pump(): number {
    let started = 0;
    while (this.running < this.o.concurrency * JOBS_PER_SLOT && this.queue.length > 0) {
      const row = this.queue.shift()!;
      if (this.flights.has(row.key)) continue;
      const resolve = this.resolvers.get(`${row.platform}:${row.kind}`);
      if (!resolve) continue;
      this.running++;
      started++;
      resolve(row)
        // Stryker disable next-line ArrowFunction: equivalent — undefined and null are both no spec
        .catch(() => null)
        .then((spec) => (spec ? this.refresh(spec, 'ahead', row.version, undefined, true) : undefined))
        .catch((err: unknown) => this.log.warn({ ...which(row), error: describe(err) }, 'background refresh failed'))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
    return started;
  }

  /**
   * Resolves once no refresh is under way on this node — the refresher's and those requests started
   * ahead of expiry, which outlive their request. A stopping node waits for them: each holds its
   * token's lease until its result is written.
   */
  async settled(): Promise<void> {
    while (this.flights.size > 0 || this.running > 0) {
      if (this.flights.size > 0) await Promise.allSettled([...this.flights.values()].map((f) => f.promise));
      else await new Promise((r) => setTimeout(r, 20)); // a refresher pass still resolving its spec
    }
  }

  /** refreshes in flight started by the refresher (for tests) */
  get inFlight(): number {
    return this.running;
  }
}
