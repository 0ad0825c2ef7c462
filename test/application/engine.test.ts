// The token engine's decision table, unit by unit: a real SQLite store, scripted token specs and
// no platform. Each row says what the engine must do for one need × state: fetch or not, with
// which force flag, what it serves, and what it records (row, stats, metrics).
import { expect } from 'chai';
import pino from 'pino';
import { Writable } from 'node:stream';
import { openStore, type Store } from '../../db';
import { StoreError, RpcError, upstreamError } from '../../system/errors';
import { WECHAT_ERRCODES } from '../../application/platforms/wechat/client';
import { Metrics } from '../../system/metrics';
import {
  TokenEngine,
  refreshAhead,
  type EngineOptions,
  type Fetched,
  type TokenSpec,
} from '../../application/services/tokens/engine';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { until } from '../helpers/wait';

type Step = Fetched | Error | (() => Promise<Fetched>);

interface Scripted extends TokenSpec {
  calls: { force: boolean; aux: string | null }[];
}

let seq = 0;
/** a token spec whose fetches answer the script in order (the last step repeats) */
function scripted(script: Step[], name = `k${++seq}`): Scripted {
  const calls: Scripted['calls'] = [];
  return {
    key: `test:c:${name}:access`,
    platform: 'test',
    codeName: 'c',
    subject: name,
    kind: 'access',
    calls,
    async fetch(opts) {
      calls.push(opts);
      const step = script[Math.min(calls.length - 1, script.length - 1)];
      if (step instanceof Error) throw step;
      return typeof step === 'function' ? step() : step;
    },
  };
}
const tok = (value: string, expiresIn = 7200, aux?: string | null): Fetched => ({ value, expiresIn, aux });
const unreachable = () => new RpcError('UPSTREAM_UNREACHABLE', '', 'down');
const count = async (m: Metrics, name: string, labels: Record<string, string> = {}) => {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((s, v) => s + v.value, 0);
};

describe('token engine decision table', function () {
  let db: TestDatabase;
  let store: Store;
  let metrics: Metrics;
  const engines: TokenEngine[] = [];
  const silent = pino({ level: 'silent' });
  const engine = (opts: Partial<EngineOptions> = {}, s: Store = store, log: pino.Logger = silent) => {
    const e = new TokenEngine(s, log, {
      nodeId: `n${engines.length}`,
      metrics,
      leaseMs: 2000,
      pollMs: 5,
      backoffMs: 1,
      upstreamTimeoutMs: 100,
      ...opts,
    });
    engines.push(e);
    return e;
  };
  /** sets columns of a token row directly (what time or another node would have done) */
  const setRow = (key: string, cols: Record<string, number | string | null>) =>
    db.exec(
      `UPDATE tokens SET ${Object.keys(cols)
        .map((c) => `${c} = ?`)
        .join(', ')} WHERE token_key = ?`,
      [...Object.values(cols), key],
    );

  /** a logger whose lines land in `lines` */
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'debug' },
      new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }),
    );
    return { log, lines, find: (msg: string) => lines.filter((l) => l.msg === msg) };
  };
  /** the store, with some methods replaced */
  const storeWith = (over: Partial<Record<keyof Store, (...args: any[]) => unknown>>): Store =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const o = over[prop as keyof Store];
        if (o) return o;
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  before(async () => {
    db = await freshDatabase('sqlite');
    store = openStore(db.url);
    await store.migrate();
  });
  beforeEach(() => {
    metrics = new Metrics();
  });
  afterEach(() => {
    for (const e of engines.splice(0)) e.stop();
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  describe('need × state → action', () => {
    it('cold (no row): one fetch, not forced; the row holds version 1 and the refresh-ahead time', async () => {
      const e = engine();
      const s = scripted([tok('A', 7200, 'aux-1')]);
      const before = Date.now();
      const t = await e.get(s);
      expect(t.value).to.equal('A');
      expect(t.version).to.equal(1);
      expect(s.calls).to.deep.equal([{ force: false, aux: null }]);
      expect(e.stats).to.include({ cold: 1, force: 0, invalidate: 0, ahead: 0, failed: 0 });
      const row = (await store.getToken(s.key))!;
      expect(row).to.include({ value: 'A', version: 1, aux: 'aux-1', forcedAt: null, leaseOwner: null });
      expect(row.expiresAt).to.be.within(before + 7_200_000, Date.now() + 7_200_000);
      expect(row.refreshAt).to.equal(row.expiresAt! - 600_000);
      expect(t.expiresAt).to.equal(row.expiresAt);
      expect(await count(metrics, 'gatehouse_token_refreshes_total', { reason: 'cold', result: 'ok' })).to.equal(1);
    });

    it('valid and cached: no fetch, a cache hit; a fresh node reads the store (a miss) and does not fetch either', async () => {
      const e = engine();
      const s = scripted([tok('A'), tok('B')]);
      await e.get(s);
      expect((await e.get(s)).value).to.equal('A');
      expect(await count(metrics, 'gatehouse_token_cache_total', { result: 'hit' })).to.equal(1);
      expect(await count(metrics, 'gatehouse_token_cache_total', { result: 'miss' })).to.equal(1);
      expect((await engine().get(s)).value).to.equal('A');
      expect(await count(metrics, 'gatehouse_token_cache_total', { result: 'miss' })).to.equal(2);
      await sleep(30); // nor in the background: the token is not due
      expect(s.calls).to.have.length(1);
      const lease = (await store.getToken(s.key))!;
      expect(lease.leaseOwner).to.equal(null);
    });

    it('the node cache lives cacheMs: then another node’s refresh is seen', async () => {
      const a = engine({ cacheMs: 50 });
      const b = engine();
      const s = scripted([tok('A'), tok('B')]);
      await a.get(s);
      await b.get(s, { force: true });
      expect((await a.get(s)).value).to.equal('A');
      await sleep(1100); // node-cache counts in whole seconds at least
      expect((await a.get(s)).value).to.equal('B');
    });

    it('a cached token within 2 s of expiry is not served from the cache, nor while the store is down', async () => {
      let down = false;
      const flaky = storeWith({
        getToken: (key: string) => (down ? Promise.reject(new StoreError(new Error('gone'))) : store.getToken(key)),
      });
      const e = engine({}, flaky);
      const s = scripted([tok('A', 3), tok('B')]);
      await e.get(s);
      await sleep(1100);
      down = true;
      expect(await e.get(s).catch((x: unknown) => x)).to.be.instanceOf(StoreError);
      down = false;
      expect((await e.get(s)).value).to.equal('B');
    });

    it('concurrent reads of one key share one store read', async () => {
      const s = scripted([tok('A')]);
      await engine().get(s);
      let reads = 0;
      const e = engine({}, storeWith({ getToken: (key: string) => (reads++, store.getToken(key)) }));
      const got = await Promise.all(Array.from({ length: 20 }, () => e.get(s)));
      expect(got.map((t) => t.value)).to.deep.equal(Array(20).fill('A'));
      expect(reads).to.equal(1);
    });

    it('a row with an expiry but no value is cold', async () => {
      const e = engine();
      const s = scripted([tok('A'), tok('B')]);
      await e.get(s);
      await setRow(s.key, { value: null });
      e.forget(s.key);
      expect((await e.get(s)).value).to.equal('B');
    });

    it('nothing to do is done without the lease: a valid token, or an invalidation of another value, while another node holds it', async () => {
      const s = scripted([tok('A'), tok('B')]);
      await engine().get(s);
      await setRow(s.key, { lease_owner: 'other', lease_until: Date.now() + 60_000 });
      const e = engine();
      expect((await e.get(s)).value).to.equal('A');
      expect((await e.get(s, { invalidToken: 'stale' })).value).to.equal('A');
      await sleep(20);
      expect(await count(metrics, 'gatehouse_token_lease_waits_total')).to.equal(0);
      expect(s.calls).to.have.length(1);
    });

    it('double check: what another node refreshed between our read and our lease is not fetched again', async () => {
      for (const [need, opts] of [
        ['force', { force: true }],
        ['invalidate', { invalidToken: 'A' }],
        ['ahead', {}],
      ] as const) {
        const s = scripted([tok('A'), tok('fetched')], `dc-${need}`);
        await engine().get(s);
        if (need === 'ahead') await setRow(s.key, { refresh_at: Date.now() - 1 });
        // another node's refresh lands just before our lease is taken
        const e = engine(
          {},
          storeWith({
            tryLease: async (key: string, ...rest: unknown[]) => {
              await setRow(key, { value: 'OTHER', version: 9, refresh_at: Date.now() + 600_000 });
              return (store.tryLease as (...a: unknown[]) => Promise<boolean>)(key, ...rest);
            },
          }),
        );
        const t = await e.get(s, opts);
        if (need === 'ahead') {
          expect(t.value).to.equal('A');
          await until(async () => e.stats.ahead === 0 && (await store.getToken(s.key))!.leaseOwner === null);
          await sleep(20);
        } else expect(t.value, need).to.equal('OTHER');
        expect(s.calls, need).to.have.length(1);
        expect(e.stats, need).to.include({ force: 0, invalidate: 0, ahead: 0 });
      }
      // and a cold one: the row another node wrote is served
      const c = scripted([tok('fetched')], 'dc-cold');
      const e = engine(
        {},
        storeWith({
          tryLease: async (key: string, ...rest: unknown[]) => {
            await setRow(key, {
              value: 'OTHER',
              version: 9,
              expires_at: Date.now() + 600_000,
              refresh_at: Date.now() + 300_000,
            });
            return (store.tryLease as (...a: unknown[]) => Promise<boolean>)(key, ...rest);
          },
        }),
      );
      expect((await e.get(c)).value).to.equal('OTHER');
      expect(c.calls).to.have.length(0);
    });

    it('a stored token within 2 s of expiry is not served: cold again', async () => {
      const e = engine();
      const s = scripted([tok('A'), tok('B')]);
      await e.get(s);
      await setRow(s.key, { expires_at: Date.now() + 1500 });
      e.forget(s.key);
      expect((await e.get(s)).value).to.equal('B');
      expect(s.calls.map((c) => c.force)).to.deep.equal([false, false]);
      expect(e.stats.cold).to.equal(2);
    });

    it('the auxiliary state is handed to the next fetch, and kept when a fetch returns none', async () => {
      const e = engine();
      const s = scripted([tok('A', 7200, 'rt-1'), tok('B', 7200, undefined), tok('C', 7200, 'rt-3')]);
      await e.get(s);
      await e.get(s, { force: true });
      await setRow(s.key, { forced_at: null });
      await e.get(s, { force: true });
      expect(s.calls.map((c) => c.aux)).to.deep.equal([null, 'rt-1', 'rt-1']);
      expect((await store.getToken(s.key))!.aux).to.equal('rt-3');
    });

    it('force: one forced fetch, then none for 30 s — later forces get the first force’s token', async () => {
      const e = engine();
      const s = scripted([tok('A'), tok('B'), tok('C')]);
      await e.get(s);
      const before = Date.now();
      expect((await e.get(s, { force: true })).value).to.equal('B');
      expect((await e.get(s, { force: true })).value).to.equal('B');
      expect(s.calls.map((c) => c.force)).to.deep.equal([false, true]);
      expect(e.stats).to.include({ cold: 1, force: 1 });
      const row = (await store.getToken(s.key))!;
      expect(row.forcedAt).to.be.within(before, Date.now());
      expect(row.version).to.equal(2);
      // the window is over: the next force fetches again
      await setRow(s.key, { forced_at: Date.now() - 30_001 });
      expect((await e.get(s, { force: true })).value).to.equal('C');
      expect(s.calls).to.have.length(3);
    });

    it('the force window is the configured one', async () => {
      const e = engine({ forceWindowMs: 50 });
      const s = scripted([tok('A'), tok('B'), tok('C')]);
      await e.get(s, { force: true }); // a force of a token not yet there is a cold fetch
      expect(s.calls.map((c) => c.force)).to.deep.equal([false]);
      expect((await e.get(s, { force: true })).value).to.equal('B');
      expect((await e.get(s, { force: true })).value).to.equal('B');
      await new Promise((r) => setTimeout(r, 60));
      expect((await e.get(s, { force: true })).value).to.equal('C');
    });

    it('invalidToken = the current token: a forced fetch; any other value: none', async () => {
      const e = engine();
      const s = scripted([tok('A'), tok('B'), tok('C')]);
      await e.get(s);
      expect((await e.get(s, { invalidToken: 'old' })).value).to.equal('A');
      expect(s.calls).to.have.length(1);
      expect((await e.get(s, { invalidToken: 'A' })).value).to.equal('B');
      expect(s.calls.map((c) => c.force)).to.deep.equal([false, true]);
      expect(e.stats).to.include({ invalidate: 1, force: 0 });
      expect((await store.getToken(s.key))!.forcedAt).to.be.a('number');
    });

    it('forces and invalidations share one budget per 30 s', async () => {
      const e = engine();
      const s = scripted([tok('A'), tok('B'), tok('C')]);
      await e.get(s);
      await e.get(s, { force: true });
      // the force used the window: an invalidation of the token it gave refreshes nothing
      expect((await e.get(s, { invalidToken: 'B' })).value).to.equal('B');
      expect(s.calls).to.have.length(2);
      const t = scripted([tok('X'), tok('Y'), tok('Z')]);
      await e.get(t, { invalidToken: 'nothing-yet' });
      expect(t.calls).to.have.length(1); // cold, whatever was reported
      await e.get(t, { invalidToken: 'X' });
      expect((await e.get(t, { force: true })).value).to.equal('Y');
      expect(t.calls).to.have.length(2);
    });

    it('ahead: a due token is served at once and renewed in the background, not forced', async () => {
      const e = engine();
      const s = scripted([tok('A'), tok('B')]);
      await e.get(s);
      await setRow(s.key, { refresh_at: Date.now() - 1 });
      e.forget(s.key);
      expect((await e.get(s)).value).to.equal('A');
      await until(() => e.stats.ahead === 1 && s.calls.length === 2);
      await until(async () => (await store.getToken(s.key))!.value === 'B');
      expect(s.calls[1].force).to.equal(false);
      expect((await store.getToken(s.key))!.forcedAt).to.equal(null);
      expect((await e.get(s)).value).to.equal('B');
    });

    it('ahead from the cache: a cached token whose refresh time came is renewed in the background', async () => {
      const e = engine();
      const s = scripted([tok('A', 6), tok('B')]);
      await e.get(s); // lives 6 s: renewed from 3 s before expiry
      const row = (await store.getToken(s.key))!;
      expect(row.expiresAt! - row.refreshAt!).to.equal(3000);
      await new Promise((r) => setTimeout(r, row.refreshAt! - Date.now() + 20));
      expect((await e.get(s)).value).to.equal('A');
      await until(() => s.calls.length === 2);
      await until(async () => (await store.getToken(s.key))!.value === 'B');
    });
  });

  describe('when to renew ahead', () => {
    it('the last 10 minutes, or the last 20 % of a short life; never later than 4 s or half the life before expiry', async () => {
      expect(refreshAhead(7_200_000)).to.equal(600_000);
      expect(refreshAhead(3_000_000)).to.equal(600_000);
      expect(refreshAhead(100_000)).to.equal(20_000);
      expect(refreshAhead(1_001)).to.equal(200);
      const e = engine();
      for (const [life, ahead] of [
        [7200, 600_000],
        [100, 20_000],
        [15, 4_000],
        [6, 3_000],
      ] as const) {
        const s = scripted([tok('A', life)]);
        await e.get(s);
        const row = (await store.getToken(s.key))!;
        expect(row.expiresAt! - row.refreshAt!, `${life} s`).to.equal(ahead);
        // a seeded token is renewed at the same time
        const seeded = scripted([tok('A', life)]);
        await e.seed(seeded, 'S', life);
        const srow = (await store.getToken(seeded.key))!;
        expect(srow.expiresAt! - srow.refreshAt!, `seeded ${life} s`).to.equal(ahead);
      }
    });
  });

  describe('upstream failures', () => {
    it('retries -1, 45000–45008, unreachable and bad replies up to 3 attempts', async () => {
      for (const err of [
        upstreamError('test', -1, 'busy', WECHAT_ERRCODES),
        upstreamError('test', 45000, 'x', WECHAT_ERRCODES),
        upstreamError('test', 45008, 'x', WECHAT_ERRCODES),
        unreachable(),
        new RpcError('UPSTREAM_BAD_REPLY'),
      ]) {
        const e = engine();
        const s = scripted([err, err, tok('A')]);
        expect((await e.get(s)).value, err.message).to.equal('A');
        expect(s.calls, err.message).to.have.length(3);
      }
    });

    it('what is recorded of a failure: the platform’s errcode and message (at most 200 characters), the detail, or "internal error"', async () => {
      for (const [err, want] of [
        [upstreamError('test', 40013, 'x'.repeat(300), WECHAT_ERRCODES), `test errcode 40013: ${'x'.repeat(200)}`],
        [unreachable(), 'down'],
        [new RpcError('NO_APP'), 'NO_APP'],
        [new Error('secret detail'), 'internal error'],
      ] as const) {
        const { log, find } = capture();
        const e = engine({}, store, log);
        const s = scripted([err]);
        await e.get(s).catch(() => undefined);
        expect((await store.getToken(s.key))!.lastError).to.equal(want);
        const [line] = find('token refresh failed');
        expect(line, want).to.include({
          level: 40,
          platform: 'test',
          codeName: 'c',
          subject: s.subject,
          kind: 'access',
          need: 'cold',
          error: want,
        });
      }
    });

    it('three failures are an error; the last one is stored on the row without the token', async () => {
      const e = engine();
      const s = scripted([upstreamError('test', -1, 'system busy', WECHAT_ERRCODES)]);
      const err = await e.get(s).catch((x: unknown) => x);
      expect(err).to.be.instanceOf(RpcError).with.property('code', 40029);
      expect(s.calls).to.have.length(3);
      expect(e.stats).to.include({ cold: 1, failed: 1 });
      const row = (await store.getToken(s.key))!;
      expect(row).to.include({ value: null, lastError: 'test errcode -1: system busy', leaseOwner: null });
      expect(row.lastErrorAt).to.be.a('number');
      expect(await count(metrics, 'gatehouse_token_refreshes_total', { reason: 'cold', result: 'failed' })).to.equal(1);
    });

    it('does not retry what a retry cannot fix: credentials, 45009, 45010, other codes, internal errors', async () => {
      for (const err of [
        upstreamError('test', 40001, 'bad secret', WECHAT_ERRCODES),
        upstreamError('test', 45009, 'quota', WECHAT_ERRCODES),
        upstreamError('test', 45010, 'x', WECHAT_ERRCODES),
        upstreamError('test', 44999, 'x', WECHAT_ERRCODES),
        upstreamError('test', 40013, 'x', WECHAT_ERRCODES),
        // transient is the platform's rule: a code raised without rules (Fengniao, Shansong) is final
        upstreamError('test', -1, 'busy'),
        new RpcError('UPSTREAM_ERROR', { platform: 'test', errcode: -1, errmsg: 'busy' }),
        new RpcError('NO_APP'),
        new Error('bug'),
      ]) {
        const e = engine();
        const s = scripted([err, tok('A')]);
        await e.get(s).catch(() => undefined);
        expect(s.calls, err.message).to.have.length(1);
      }
    });

    it('a reply without a token or a positive lifetime is a bad reply (1007)', async () => {
      for (const bad of [
        tok(''),
        tok('A', 0),
        tok('A', -5),
        tok('A', Number.NaN),
        tok('A', Infinity),
        { value: 42 as unknown as string, expiresIn: 7200 },
      ]) {
        const e = engine();
        const s = scripted([bad]);
        const err = await e.get(s).catch((x: unknown) => x);
        expect(err, JSON.stringify(bad)).to.be.instanceOf(RpcError).with.property('code', 1007);
        expect((err as RpcError).data).to.equal('');
        expect(s.calls).to.have.length(3);
        expect((await store.getToken(s.key))!.lastError).to.equal('test access: no token or lifetime in the reply');
      }
    });

    it('retries back off, and stop when the next attempt could outlive the lease', async () => {
      const e = engine({ backoffMs: 40, attempts: 3 });
      const s = scripted([unreachable(), unreachable(), tok('A')]);
      const t0 = Date.now();
      await e.get(s);
      expect(Date.now() - t0).to.be.at.least(40 * 0.5 + 80 * 0.5);
      const short = engine({ leaseMs: 150, upstreamTimeoutMs: 100, backoffMs: 100 });
      const u = scripted([unreachable(), tok('A')]);
      await short.get(u).catch(() => undefined);
      expect(u.calls).to.have.length(1);
    });

    it('serves a still-valid stored token through an outage, for a force — but not for an invalidation', async () => {
      const e = engine();
      const s = scripted([tok('A'), unreachable()]);
      await e.get(s);
      expect((await e.get(s, { force: true })).value).to.equal('A');
      expect(e.stats).to.include({ force: 1, failed: 1 });
      await setRow(s.key, { forced_at: null });
      const err = await e.get(s, { invalidToken: 'A' }).catch((x: unknown) => x);
      expect(err).to.be.instanceOf(RpcError).with.property('code', 1005);
    });
  });

  describe('one refresh at a time', () => {
    it('concurrent cold gets share one fetch; a force of a token not there yet joins it', async () => {
      const e = engine();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const s = scripted([async () => (await gate, tok('A')), tok('B')]);
      const gets = Array.from({ length: 50 }, () => e.get(s));
      await until(() => s.calls.length === 1);
      const forced = e.get(s, { force: true });
      release();
      expect(new Set((await Promise.all(gets)).map((t) => t.value))).to.deep.equal(new Set(['A']));
      expect((await forced).value).to.equal('A');
      expect(s.calls).to.have.length(1);
    });

    it('a force during a refresh ahead waits for it and takes its newer token; if it renewed nothing, fetches forced', async () => {
      for (const aheadWorks of [true, false]) {
        const e = engine();
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const ahead = aheadWorks
          ? [async () => (await gate, tok('B'))]
          : [async () => (await gate, Promise.reject(unreachable())), unreachable(), unreachable()];
        const s = scripted([tok('A'), ...ahead, tok('C')]);
        await e.get(s);
        await setRow(s.key, { refresh_at: Date.now() - 1 });
        e.forget(s.key);
        expect((await e.get(s)).value).to.equal('A');
        await until(() => s.calls.length === 2);
        // a plain get meanwhile does not wait for the refresh ahead
        e.forget(s.key);
        expect((await e.get(s)).value).to.equal('A');
        const forced = e.get(s, { force: true });
        await new Promise((r) => setTimeout(r, 20));
        expect(s.calls).to.have.length(2);
        release();
        expect((await forced).value).to.equal(aheadWorks ? 'B' : 'C');
        expect(s.calls.map((c) => c.force)).to.deep.equal(
          aheadWorks ? [false, false] : [false, false, false, false, true],
        );
        expect(e.stats).to.include({ cold: 1, ahead: 1, force: aheadWorks ? 0 : 1 });
      }
    });

    it('an invalidation that joins a refresh ending on the very token it reported fails (1005)', async () => {
      const e = engine();
      const s = scripted([tok('A'), unreachable()]);
      await e.get(s);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const slow = scripted([async () => (await gate, Promise.reject(unreachable()))], s.subject);
      const forced = e.get(slow, { force: true });
      await until(() => slow.calls.length === 1);
      const invalid = e.get(slow, { invalidToken: 'A' }).catch((x: unknown) => x);
      release();
      expect((await forced).value).to.equal('A'); // served through the outage
      expect(await invalid)
        .to.be.instanceOf(RpcError)
        .with.property('detail', `${slow.key}: refresh failed`);
      expect((await invalid) as RpcError).to.include({ code: 1005, data: '' });
      expect(slow.calls).to.have.length(3); // the force's attempts only: the invalidation joined it
    });

    it('a second node waits for the lease holder and serves its token without fetching', async () => {
      const a = engine();
      const b = engine();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const sa = scripted([async () => (await gate, tok('A'))], 'shared');
      const sb = scripted([tok('B')], 'shared');
      const ta = a.get(sa);
      await until(() => sa.calls.length === 1);
      const tb = b.get(sb);
      await new Promise((r) => setTimeout(r, 30));
      release();
      expect((await tb).value).to.equal('A');
      expect((await ta).value).to.equal('A');
      expect(sb.calls).to.have.length(0);
      expect(await count(metrics, 'gatehouse_token_lease_waits_total')).to.equal(1);
    });

    it('a lease that is never freed (a dead node) is taken over once it expires', async () => {
      const e = engine({ leaseMs: 100 });
      const s = scripted([tok('A')]);
      await store.ensureToken(s);
      await setRow(s.key, { lease_owner: 'dead-node', lease_until: Date.now() + 100 });
      const t0 = Date.now();
      expect((await e.get(s)).value).to.equal('A');
      expect(Date.now() - t0).to.be.at.least(90);
      expect(s.calls).to.have.length(1);
    });

    it('waiting gives up with 1005 after the holder’s lease, its attempts and the slack, when it never writes a token', async () => {
      const e = engine({ leaseMs: 200, attempts: 2, upstreamTimeoutMs: 100, waitSlackMs: 50 });
      const s = scripted([tok('A')]);
      await store.ensureToken(s);
      await setRow(s.key, { lease_owner: 'stuck', lease_until: Date.now() + 60_000 });
      const t0 = Date.now();
      const err = await e.get(s).catch((x: unknown) => x);
      expect(Date.now() - t0).to.be.within(440, 1500);
      expect(err)
        .to.be.instanceOf(RpcError)
        .and.include({ code: 1005, data: '', detail: `${s.key}: no refresh within 450 ms` });
      expect(s.calls).to.have.length(0);
    });

    it('a force while another node holds the lease takes the newer token that node writes', async () => {
      const s = scripted([tok('A'), tok('fetched')]);
      await engine().get(s);
      await setRow(s.key, { lease_owner: 'other', lease_until: Date.now() + 60_000 });
      const e = engine();
      const forced = e.get(s, { force: true });
      await sleep(30);
      await setRow(s.key, { value: 'B', version: 2 });
      expect((await forced).value).to.equal('B');
      expect(s.calls).to.have.length(1);
      expect(await count(metrics, 'gatehouse_token_lease_waits_total')).to.equal(1);
    });

    it('a refreshed token whose write lost the lease is served, and the loss is logged', async () => {
      const { log, find } = capture();
      const e = engine({}, storeWith({ saveToken: async () => false }), log);
      const s = scripted([tok('A')]);
      expect((await e.get(s)).value).to.equal('A');
      expect(find('lease lost before the refreshed token was written')[0]).to.include({
        level: 40,
        platform: 'test',
        subject: s.subject,
        kind: 'access',
      });
    });
  });

  describe('settled: what a stopping node waits for', () => {
    it('resolves at once when nothing is under way, and only once every refresh in flight has settled', async () => {
      const e = engine();
      let settled = false;
      await e.settled();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const slow = scripted([async () => (await gate, tok('S'))]);
      const failing = scripted([async () => (await gate, Promise.reject(unreachable()))]);
      const got = e.get(slow);
      const lost = e.get(failing).catch(() => undefined);
      await until(() => slow.calls.length === 1 && failing.calls.length === 1);
      const waiting = e.settled().then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 30));
      expect(settled, 'settled while two refreshes are under way').to.equal(false);
      release();
      await waiting;
      expect((await got).value).to.equal('S');
      await lost;
      // the failing one was retried (unreachable) and settled too: nothing is left in flight
      await e.settled();
    });
  });

  describe('seed, clear, and a store that is down', () => {
    it('seed stores a handed-over token so that the first get does not fetch', async () => {
      const e = engine();
      const s = scripted([tok('fetched')]);
      expect(await e.seed(s, 'SEEDED', 7200)).to.equal(true);
      const row = (await store.getToken(s.key))!;
      expect(row).to.include({ value: 'SEEDED', leaseOwner: null });
      expect(row.expiresAt! - row.refreshAt!).to.equal(600_000);
      expect((await e.get(s)).value).to.equal('SEEDED');
      expect(s.calls).to.have.length(0);
    });

    it('seed is skipped while another node holds the lease', async () => {
      const e = engine();
      const s = scripted([tok('fetched')]);
      await store.ensureToken(s);
      await setRow(s.key, { lease_owner: 'other', lease_until: Date.now() + 60_000 });
      expect(await e.seed(s, 'SEEDED', 7200)).to.equal(false);
      expect((await store.getToken(s.key))!.value).to.equal(null);
    });

    it('clear forgets the value everywhere: the next get fetches', async () => {
      const e = engine();
      const s = scripted([tok('A'), tok('B')]);
      await e.get(s);
      await e.clear(s.key);
      expect((await store.getToken(s.key))!.value).to.equal(null);
      expect((await e.get(s)).value).to.equal('B');
    });

    it('remembers at most lastKnownMax tokens for a store that is down, then starts over', async () => {
      let down = false;
      const flaky = storeWith({
        getToken: (key: string) => (down ? Promise.reject(new StoreError(new Error('gone'))) : store.getToken(key)),
      });
      const e = engine({ lastKnownMax: 2 }, flaky);
      const [s1, s2, s3] = [1, 2, 3].map((i) => scripted([tok(`T${i}`)]));
      await e.get(s1);
      await e.get(s2);
      await e.get(s1); // already known: no start over
      e.forget(s1.key);
      e.forget(s2.key);
      down = true;
      expect((await e.get(s1)).value).to.equal('T1');
      expect((await e.get(s2)).value).to.equal('T2');
      down = false;
      await e.get(s3); // the third: starts over
      e.forget(s1.key);
      e.forget(s3.key);
      down = true;
      expect(await e.get(s1).catch((x: unknown) => x)).to.be.instanceOf(StoreError);
      expect((await e.get(s3)).value).to.equal('T3');
      down = false;
    });

    it('with the store down, a token this node saw and still valid is served; an invalidated or expired one is not', async () => {
      let down = false;
      const flaky = new Proxy(store, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) =>
            down ? Promise.reject(new StoreError(new Error('gone'))) : v.apply(target, args);
        },
      });
      const e = engine({}, flaky);
      const s = scripted([tok('A')]);
      await e.get(s);
      e.forget(s.key);
      down = true;
      expect((await e.get(s)).value).to.equal('A');
      expect((await e.get(s)).value).to.equal('A'); // the cache holds it again
      e.forget(s.key);
      expect(await e.get(s, { invalidToken: 'A' }).catch((x: unknown) => x)).to.be.instanceOf(StoreError);
      const never = scripted([tok('B')]);
      expect(await e.get(never).catch((x: unknown) => x)).to.be.instanceOf(StoreError);
      down = false;
    });
  });

  describe('the background refresher', () => {
    // rows of earlier tests are not due during these
    beforeEach(() => db.exec('UPDATE tokens SET refresh_at = ?', [Date.now() + 3_600_000]));

    it('renews due tokens through their resolver, at most `concurrency` at once, and reports how many it started', async () => {
      const e = engine({ concurrency: 2 });
      let running = 0;
      let peak = 0;
      const slow = (v: string) => async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        return tok(v);
      };
      const specs = [1, 2, 3, 4, 5].map((i) => scripted([tok(`old${i}`), slow(`new${i}`)], `bg${i}`));
      for (const s of specs) await e.get(s);
      for (const s of specs) await setRow(s.key, { refresh_at: Date.now() - 1 });
      const bySubject = new Map(specs.map((s) => [s.subject, s]));
      const resolved: string[] = [];
      e.resolver('test', 'access', async (row) => {
        resolved.push(row.subject);
        return bySubject.get(row.subject) ?? null;
      });
      // every due token's refresh starts (JOBS_PER_SLOT × 2 ≥ 5); 2 platform calls at a time
      expect(await e.scan()).to.equal(5);
      await until(async () =>
        (await Promise.all(specs.map((s) => store.getToken(s.key)))).every((r) => r!.value!.startsWith('new')),
      );
      expect(peak).to.equal(2);
      expect(e.stats.ahead).to.equal(5);
      expect(resolved.sort()).to.deep.equal(['bg1', 'bg2', 'bg3', 'bg4', 'bg5']);
      expect(specs.map((s) => s.calls.length)).to.deep.equal([2, 2, 2, 2, 2]);
    });

    it('a slow store does not hold the upstream slots idle: the write after a call runs outside them, the calls stay at `concurrency`', async () => {
      // each write takes 40 ms (a busy MariaDB), a platform call 10 ms. Held through its write, a
      // slot would wait on the store 4 times as long as it calls the platform
      let saves = 0;
      let savesPeak = 0;
      const slowStore = storeWith({
        saveToken: async (...a: unknown[]) => {
          savesPeak = Math.max(savesPeak, ++saves);
          await sleep(40);
          saves--;
          return (store.saveToken as (...x: unknown[]) => Promise<boolean>)(...a);
        },
      });
      const e = engine({ concurrency: 2 }, slowStore);
      let calling = 0;
      let callingPeak = 0;
      const call = (v: string) => async () => {
        callingPeak = Math.max(callingPeak, ++calling);
        await sleep(10);
        calling--;
        return tok(v);
      };
      // n tokens of the kind, due now, renewed to `${name}<i>`; resolves once the pass renewed all
      const round = async (n: number, name: string) => {
        const specs = Array.from({ length: n }, (_, i) =>
          scripted([tok(`old${i}`), call(`${name}${i}`)], `slots-${name}${i}`),
        );
        for (const s of specs) await e.get(s);
        for (const s of specs) await setRow(s.key, { refresh_at: Date.now() - 1 });
        e.resolver('test', 'access', async (row) => specs.find((s) => s.subject === row.subject) ?? null);
        [callingPeak, savesPeak] = [0, 0];
        expect(await e.scan()).to.equal(n);
        await until(async () =>
          (await Promise.all(specs.map((s) => store.getToken(s.key)))).every((r) => r!.value!.startsWith(name)),
        );
        return specs;
      };
      const specs = await round(8, 'new');
      expect(callingPeak).to.equal(2);
      // writes of refreshes whose slot went on to the next call
      expect(savesPeak).to.be.above(2);
      expect(specs.map((s) => s.calls.length)).to.deep.equal([2, 2, 2, 2, 2, 2, 2, 2]);
      expect(e.inFlight).to.equal(0);
      // the slots came back: a second round uses both again
      await round(4, 'again');
      expect(callingPeak).to.equal(2);
    });

    it('a refresh waiting for a slot holds no lease: every platform call is made under a lease still running', async () => {
      // one slot, a lease of 300 ms, each platform call 200 ms: the third of three due tokens gets
      // the slot ~400 ms after the pass. A lease taken before waiting would have run out by then
      // (another node could have refreshed the same token meanwhile: a second refresh)
      const e = engine({ concurrency: 1, leaseMs: 300 });
      const leaseLeft: number[] = [];
      const slow = (v: string, key: () => string) => async () => {
        const row = (await store.getToken(key()))!;
        leaseLeft.push(row.leaseOwner === 'n' + engines.indexOf(e) ? row.leaseUntil! - Date.now() : -1);
        await sleep(200);
        return tok(v);
      };
      const specs: Scripted[] = [];
      for (let i = 0; i < 3; i++)
        specs.push(scripted([tok(`old${i}`), slow(`new${i}`, () => specs[i].key)], `leased${i}`));
      for (const s of specs) await e.get(s);
      for (const s of specs) await setRow(s.key, { refresh_at: Date.now() - 1 });
      e.resolver('test', 'access', async (row) => specs.find((s) => s.subject === row.subject) ?? null);
      expect(await e.scan()).to.equal(3);
      await until(
        async () =>
          (await Promise.all(specs.map((s) => store.getToken(s.key)))).every((r) => r!.value!.startsWith('new')),
        'three refreshes',
        5000,
      );
      expect(leaseLeft).to.have.length(3);
      for (const left of leaseLeft) expect(left).to.be.above(150);
    });

    it('a refresh that gave its slot up to wait on another node’s lease takes one again before its own call', async () => {
      // one slot; B, A, C due in that order, each call 200 ms. While B calls, another node takes A's
      // lease for 300 ms and A's token runs out: A gets the slot after B, finds the lease held, gives
      // the slot to C and waits; the other node dies, its lease ends while C is calling — A's call
      // must wait for C's slot (without taking it again: 2 calls at once, past `concurrency`)
      const e = engine({ concurrency: 1 });
      let calling = 0;
      let peak = 0;
      const call = (v: string) => async () => {
        peak = Math.max(peak, ++calling);
        await sleep(200);
        calling--;
        return tok(v);
      };
      const [b, a, c] = ['B', 'A', 'C'].map((n) => scripted([tok(`old${n}`), call(`new${n}`)], `relet-${n}`));
      for (const s of [b, a, c]) await e.get(s);
      const t = Date.now();
      await setRow(b.key, { refresh_at: t - 3 });
      await setRow(a.key, { refresh_at: t - 2 });
      await setRow(c.key, { refresh_at: t - 1 });
      e.resolver('test', 'access', async (row) => [a, b, c].find((s) => s.subject === row.subject) ?? null);
      expect(await e.scan()).to.equal(3);
      await until(() => calling === 1);
      await setRow(a.key, { lease_owner: 'ghost', lease_until: Date.now() + 300, expires_at: Date.now() - 1 });
      await until(
        async () =>
          (await Promise.all([a, b, c].map((s) => store.getToken(s.key)))).every((r) => r!.value!.startsWith('new')),
        'three refreshes',
        5000,
      );
      expect(a.calls.length).to.equal(2);
      expect(peak).to.equal(1);
    });

    it('a request never waits for a refresher slot: a cold token is fetched while every slot is taken', async () => {
      const e = engine({ concurrency: 1 });
      const events: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const hanging = scripted(
        [
          tok('old'),
          async () => {
            events.push('slot call starts');
            await held;
            events.push('slot call ends');
            return tok('new');
          },
        ],
        'slot-holder',
      );
      await e.get(hanging);
      await setRow(hanging.key, { refresh_at: Date.now() - 1 });
      e.resolver('test', 'access', async () => hanging);
      expect(await e.scan()).to.equal(1);
      await until(() => events.length === 1);
      const cold = scripted([async () => (events.push('cold call'), tok('C'))], 'cold-beside');
      expect((await e.get(cold)).value).to.equal('C');
      release();
      await until(() => events.length === 3);
      expect(events).to.deep.equal(['slot call starts', 'cold call', 'slot call ends']);
    });

    it("specOf: a stored token's spec from its kind's resolver; null for a kind nobody resolves", async () => {
      const e = engine();
      const s = scripted([tok('v1')], 'specof');
      await e.get(s);
      const row = (await store.getToken(s.key))!;
      expect(await e.specOf(row)).to.equal(null);
      const seen: string[] = [];
      e.resolver('test', 'access', async (r) => (seen.push(r.key), s));
      expect(await e.specOf(row)).to.equal(s);
      expect(seen).to.deep.equal([s.key]);
      expect(await e.specOf({ ...row, kind: 'other' })).to.equal(null);
      expect(await e.specOf({ ...row, platform: 'other' })).to.equal(null);
    });

    it('a second pass does not queue what is queued or running again', async () => {
      const e = engine({ concurrency: 1 });
      const slow = (v: string) => async () => (await sleep(40), tok(v));
      const specs = [1, 2, 3, 4, 5, 6].map((i) => scripted([tok(`old${i}`), slow(`new${i}`)], `twice${i}`));
      for (const s of specs) await e.get(s);
      for (const s of specs) await setRow(s.key, { refresh_at: Date.now() - 1 });
      const resolved: string[] = [];
      e.resolver(
        'test',
        'access',
        async (row) => (resolved.push(row.subject), specs.find((s) => s.subject === row.subject) ?? null),
      );
      // JOBS_PER_SLOT (4) start, 2 wait in the queue; the second pass finds all six due still
      expect(await e.scan()).to.equal(4);
      await sleep(5);
      expect(await e.scan()).to.equal(0);
      await until(async () =>
        (await Promise.all(specs.map((s) => store.getToken(s.key)))).every((r) => r!.value!.startsWith('new')),
      );
      await sleep(50);
      expect(resolved.sort()).to.deep.equal(['twice1', 'twice2', 'twice3', 'twice4', 'twice5', 'twice6']);
    });

    it('failures of the refresher are logged, never thrown', async () => {
      const { log, find } = capture();
      let failLease = false;
      const e = engine(
        {},
        storeWith({
          tryLease: (...a: unknown[]) =>
            failLease
              ? Promise.reject(new StoreError(new Error('lease table gone')))
              : (store.tryLease as (...x: unknown[]) => Promise<boolean>)(...a),
        }),
        log,
      );
      const s = scripted([tok('A'), tok('B')]);
      await e.get(s);
      await setRow(s.key, { refresh_at: Date.now() - 1 });
      e.resolver('test', 'access', async () => s);
      failLease = true;
      expect(await e.scan()).to.equal(1);
      await until(() => find('background refresh failed').length === 1);
      expect(find('background refresh failed')[0]).to.include({
        level: 40,
        platform: 'test',
        subject: s.subject,
        kind: 'access',
        error: 'lease table gone',
      });
      // a refresh ahead started by a request logs its failure too
      e.forget(s.key);
      expect((await e.get(s)).value).to.equal('A');
      await until(() => find('refresh ahead failed').length === 1);
      expect(find('refresh ahead failed')[0]).to.include({
        platform: 'test',
        subject: s.subject,
        error: 'lease table gone',
      });
      // and a scan that cannot read the store
      const broken = engine(
        {},
        storeWith({ dueTokens: () => Promise.reject(new StoreError(new Error('no table'))) }),
        log,
      );
      expect(await broken.scan()).to.equal(0);
      expect(find('refresher scan failed')[0]).to.include({ level: 40, error: 'no table' });
    });

    it('skips rows without a resolver, and rows whose resolver finds nothing', async () => {
      const e = engine();
      const s = scripted([tok('A'), tok('B')]);
      await e.get(s);
      await setRow(s.key, { refresh_at: Date.now() - 1 });
      expect(await e.scan()).to.equal(0);
      e.resolver('test', 'access', async () => null);
      expect(await e.scan()).to.equal(1);
      await new Promise((r) => setTimeout(r, 20));
      expect(s.calls).to.have.length(1);
    });

    it('start() scans every scanMs until stop()', async () => {
      const e = engine({ scanMs: 20 });
      const s = scripted([tok('A'), tok('B'), tok('C')]);
      await e.get(s);
      e.resolver('test', 'access', async () => s);
      e.start();
      e.start();
      await setRow(s.key, { refresh_at: Date.now() - 1 });
      await until(() => s.calls.length === 2);
      e.stop();
      await setRow(s.key, { refresh_at: Date.now() - 1 });
      await new Promise((r) => setTimeout(r, 80));
      expect(s.calls).to.have.length(2);
    });
  });
});
