// The token engine's decision table, unit by unit: a real SQLite store, scripted token specs and
// no platform. Each row says what the engine must do for one need × state: fetch or not, with
// which force flag, what it serves, and what it records (row, stats, metrics).
import { expect } from 'chai';
import pino from 'pino';
import { openStore, type Store } from '../../db';
import { StoreError, RpcError, upstreamError } from '../../system/errors';
import { Metrics } from '../../system/metrics';
import { TokenEngine, refreshAhead, type EngineOptions, type Fetched, type TokenSpec } from '../../application/services/tokens/engine';
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
  return (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l)).reduce((s, v) => s + v.value, 0);
};

describe('token engine decision table', function () {
  let db: TestDatabase;
  let store: Store;
  let metrics: Metrics;
  const engines: TokenEngine[] = [];
  const silent = pino({ level: 'silent' });
  const engine = (opts: Partial<EngineOptions> = {}, s: Store = store) => {
    const e = new TokenEngine(s, silent, { nodeId: `n${engines.length}`, metrics, leaseMs: 2000, pollMs: 5, backoffMs: 1, upstreamTimeoutMs: 100, ...opts });
    engines.push(e);
    return e;
  };
  /** sets columns of a token row directly (what time or another node would have done) */
  const setRow = (key: string, cols: Record<string, number | string | null>) =>
    db.exec(`UPDATE tokens SET ${Object.keys(cols).map((c) => `${c} = ?`).join(', ')} WHERE token_key = ?`, [...Object.values(cols), key]);

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
      expect((await engine().get(s)).value).to.equal('A');
      expect(s.calls).to.have.length(1);
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
      }
    });
  });

  describe('upstream failures', () => {
    it('retries -1, 45000–45008, unreachable and bad replies up to 3 attempts', async () => {
      for (const err of [upstreamError('test', -1, 'busy'), upstreamError('test', 45000, 'x'), upstreamError('test', 45008, 'x'), unreachable(), new RpcError('UPSTREAM_BAD_REPLY')]) {
        const e = engine();
        const s = scripted([err, err, tok('A')]);
        expect((await e.get(s)).value, err.message).to.equal('A');
        expect(s.calls, err.message).to.have.length(3);
      }
    });

    it('three failures are an error; the last one is stored on the row without the token', async () => {
      const e = engine();
      const s = scripted([upstreamError('test', -1, 'system busy')]);
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
      for (const err of [upstreamError('test', 40001, 'bad secret'), upstreamError('test', 45009, 'quota'), upstreamError('test', 45010, 'x'), upstreamError('test', 44999, 'x'), upstreamError('test', 40013, 'x'), new Error('bug')]) {
        const e = engine();
        const s = scripted([err, tok('A')]);
        await e.get(s).catch(() => undefined);
        expect(s.calls, err.message).to.have.length(1);
      }
    });

    it('a reply without a token or a positive lifetime is a bad reply (1007)', async () => {
      for (const bad of [tok(''), tok('A', 0), tok('A', -5), tok('A', Number.NaN), tok('A', Infinity), { value: 42 as unknown as string, expiresIn: 7200 }]) {
        const e = engine();
        const s = scripted([bad]);
        const err = await e.get(s).catch((x: unknown) => x);
        expect(err, JSON.stringify(bad)).to.be.instanceOf(RpcError).with.property('code', 1007);
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
        const ahead = aheadWorks ? [async () => (await gate, tok('B'))] : [async () => (await gate, Promise.reject(unreachable())), unreachable(), unreachable()];
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
        expect(s.calls.map((c) => c.force)).to.deep.equal(aheadWorks ? [false, false] : [false, false, false, false, true]);
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
      expect(await invalid).to.be.instanceOf(RpcError).with.property('code', 1005);
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

    it('waiting gives up with 1005 when the lease holder never writes a token', async () => {
      const e = engine({ leaseMs: 20, attempts: 1, upstreamTimeoutMs: 10 });
      const s = scripted([tok('A')]);
      await store.ensureToken(s);
      const until5s = Date.now() + 60_000;
      await setRow(s.key, { lease_owner: 'stuck', lease_until: until5s });
      const err = await e.get(s).catch((x: unknown) => x);
      expect(err).to.be.instanceOf(RpcError).with.property('code', 1005);
      expect(s.calls).to.have.length(0);
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

    it('with the store down, a token this node saw and still valid is served; an invalidated or expired one is not', async () => {
      let down = false;
      const flaky = new Proxy(store, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => (down ? Promise.reject(new StoreError(new Error('gone'))) : v.apply(target, args));
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
      expect(await e.scan()).to.equal(2);
      await until(async () => (await Promise.all(specs.map((s) => store.getToken(s.key)))).every((r) => r!.value!.startsWith('new')));
      expect(peak).to.equal(2);
      expect(e.stats.ahead).to.equal(5);
      expect(resolved.sort()).to.deep.equal(['bg1', 'bg2', 'bg3', 'bg4', 'bg5']);
      expect(specs.map((s) => s.calls.length)).to.deep.equal([2, 2, 2, 2, 2]);
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
