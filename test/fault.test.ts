import { expect } from 'chai';
import { FakePlatform } from './fake/platform';
import { serve, type ServeProcess } from './helpers/cli';
import { JWT_SECRET } from './helpers/gatehouse';
import { serveNode } from './helpers/node-proc';
import { PrivateMariaDb, freeTcpPort, mariadbBinaries } from './helpers/private-mariadb';
import { signCaller } from '../system/callers';
import { skipBecause } from './helpers/skip';

/**
 * Fault tolerance (issue 6): real gatehouse processes on a private MariaDB that the tests stop,
 * restart and hang themselves, and on a fake WeChat that turns slow, down or hostile.
 *
 * Set FAULT_VERBOSE=1 to print what every phase saw.
 */

const CALLER = signCaller(JWT_SECRET, { sub: 'fault-test', scope: '*', ttlSeconds: 3600 });
const VERBOSE = !!process.env.FAULT_VERBOSE;
const note = (...a: unknown[]) => {
  if (VERBOSE) console.log('      [fault]', ...a);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** the session cache (GATEHOUSE_SESSION_CACHE_MS default) */
const SESSION_CACHE_MS = 1000;
/** GATEHOUSE_UPSTREAM_TIMEOUT_MS of the database tests */
const UPSTREAM_TIMEOUT_MS = 3000;
/** how long one store call waits for a dead MariaDB: the pool's acquireTimeout (db/mariadb.ts) */
const STORE_WAIT_MS = 3000;
/** GATEHOUSE_UPSTREAM_TIMEOUT_MS of the platform test: the fake's 2 s latency is a timeout */
const PLATFORM_TIMEOUT_MS = 1000;
/** slack on every time bound (two CPUs, four processes) */
const MARGIN_MS = 2000;

interface Sample {
  kind: string;
  node: number;
  start: number;
  end: number;
  /** HTTP status, 0 when the connection failed */
  status: number;
  code?: number;
  message?: string;
  data?: any;
  error?: string;
}

/** one RPC, never throwing: what came back (or did not) and when */
async function call(
  url: string,
  interfaceName: string,
  para: unknown,
  kind: string,
  node: number,
  timeoutMs = 30_000,
): Promise<Sample> {
  const start = Date.now();
  try {
    const res = await fetch(`${url}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CALLER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ interface: { interfaceName, para } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const s: Sample = { kind, node, start, end: Date.now(), status: res.status };
    try {
      const b = JSON.parse(text) as { returnCode: unknown; returnMessage: unknown; returnData: unknown };
      if (typeof b.returnCode === 'number') s.code = b.returnCode;
      if (typeof b.returnMessage === 'string') s.message = b.returnMessage;
      s.data = b.returnData;
      if (s.code === undefined) s.error = `not an envelope: ${text.slice(0, 200)}`;
    } catch {
      s.error = `not JSON: ${text.slice(0, 200)}`;
    }
    return s;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return {
      kind,
      node,
      start,
      end: Date.now(),
      status: 0,
      error: e.name === 'TimeoutError' ? 'hang' : `${e.name}: ${e.cause?.code ?? e.message}`,
    };
  }
}

async function rpcOk(url: string, interfaceName: string, para: unknown): Promise<any> {
  const s = await call(url, interfaceName, para, 'setup', -1);
  if (s.code !== 0) throw new Error(`${interfaceName} ${JSON.stringify(para)} → ${JSON.stringify(s)}`);
  return s.data;
}

/** `n` workers each calling `fn` in a loop until stopped; every sample is kept */
function load(samples: Sample[], n: number, fn: (worker: number, i: number) => Promise<Sample>) {
  let stopped = false;
  const workers = Array.from({ length: n }, async (_, w) => {
    for (let i = 0; !stopped; i++) samples.push(await fn(w, i));
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

const ms = (s: Sample) => s.end - s.start;
const summary = (xs: Sample[]) => {
  const by = new Map<string, number>();
  for (const s of xs) {
    const k = s.error ? `err:${s.error.slice(0, 40)}` : `${s.status}/${s.code}`;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return `${xs.length} calls [${[...by].map(([k, v]) => `${k}×${v}`).join(', ')}] max ${Math.max(0, ...xs.map(ms))} ms`;
};

/** every sample is an HTTP 200 carrying a numeric returnCode in `codes` */
function expectEnvelopes(xs: Sample[], codes: number[], what: string): void {
  const bad = xs.filter((s) => s.status !== 200 || s.code === undefined || !codes.includes(s.code));
  expect(
    bad.slice(0, 5),
    `${what}: ${bad.length} of ${xs.length} calls were not HTTP 200 with returnCode in [${codes}]`,
  ).to.deep.equal([]);
}

async function wechatApp(
  url: string,
  codeName: string,
  appId: string,
  secret: string,
  extra: Record<string, unknown> = {},
) {
  await rpcOk(url, 'admin.app.put', {
    platform: 'wechat_app',
    codeName,
    config: { appId, secret, tokenMode: 'classic', ...extra },
  });
}

describe('fault tolerance: private MariaDB stopped / hung, a node killed, the platform misbehaving', function () {
  this.timeout(120_000);
  let maria: PrivateMariaDb | undefined;
  let fake: FakePlatform | undefined;
  /** every gatehouse process a test started: killed in afterEach / after whatever happened */
  const procs: ServeProcess[] = [];
  const baseEnv = (dbUrl: string, extra: Record<string, string> = {}): Record<string, string> => ({
    GATEHOUSE_DATABASE_URL: dbUrl,
    GATEHOUSE_JWT_SECRET: JWT_SECRET,
    GATEHOUSE_WECHAT_API: fake!.url,
    GATEHOUSE_WECOM_API: fake!.url,
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
    GATEHOUSE_UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
    ...extra,
  });
  const startNodes = async (n: number, env: Record<string, string>): Promise<ServeProcess[]> => {
    const ports = await Promise.all(Array.from({ length: n }, () => freeTcpPort()));
    const started = await Promise.all(ports.map((p) => serve({ ...env, GATEHOUSE_PORT: String(p) })));
    procs.push(...started);
    return started;
  };
  // if the run dies before the hooks (Ctrl-C, a crash), do not leave gatehouse processes behind
  const killOnExit = () => procs.forEach((p) => p.kill('SIGKILL'));
  process.once('exit', killOnExit);
  const killAll = async () => {
    const all = procs.splice(0);
    for (const p of all) p.kill('SIGKILL');
    await Promise.all(all.map((p) => Promise.race([p.exited, sleep(10_000)])));
  };

  before(async function () {
    const bins = mariadbBinaries();
    if ('missing' in bins) {
      skipBecause(this, `fault tests need a local MariaDB server they can stop and start: ${bins.missing}`, {
        fixable: 'mariadb-server',
      });
    }
    maria = new PrivateMariaDb();
    await maria.init();
    fake = await new FakePlatform().start();
  });

  afterEach(async () => {
    await killAll();
    // a failed test may have left the database stopped or hung: the next one needs it up
    if (maria) {
      maria.resume();
      if (!maria.running) await maria.start().catch(() => undefined);
    }
    if (fake) {
      fake.latencyMs = 0;
      for (const api of ['token', 'stable_token', 'getticket', 'jscode2session']) fake.mode(api, null);
    }
  });

  after(async () => {
    process.removeListener('exit', killOnExit);
    await killAll();
    await fake?.stop();
    await maria?.destroy();
  });

  it('MariaDB stopped for 10 s under load: cached token keeps being served, the rest get 1001 envelopes, no 500, no hang; all green within 5 s of its return; no double refresh', async () => {
    const WX_HOT = 'wxfaultoutage0001';
    const WX_COLD = 'wxfaultoutage0002';
    const WX_MINI = 'wxfaultoutage0003';
    fake!.app(WX_HOT, 'hot-secret');
    fake!.app(WX_COLD, 'cold-secret');
    fake!.app(WX_MINI, 'mini-secret');
    const dbUrl = await maria!.createDatabase('gh_fault_outage');
    const nodes = await startNodes(2, baseEnv(dbUrl));
    await wechatApp(nodes[0].url, 'hot', WX_HOT, 'hot-secret');
    await wechatApp(nodes[0].url, 'cold', WX_COLD, 'cold-secret');
    await wechatApp(nodes[0].url, 'mini', WX_MINI, 'mini-secret', { default: true });
    const login = fake!.code({ appid: WX_MINI });
    const session = await rpcOk(nodes[1].url, 'qcloud.cam.id_skey', { code: login.code, appid: WX_MINI });
    const creds = { id: session.id, skey: session.skey, appid: WX_MINI };
    await rpcOk(nodes[0].url, 'qcloud.cam.auth', creds);

    // the first token call on every node: fetched once, cached on both nodes
    const first = await Promise.all(
      nodes.map((n, i) => call(n.url, 'wechat.app.token', { codeName: 'hot' }, 'hot', i)),
    );
    expectEnvelopes(first, [0], 'first token calls');
    const hotToken = first[0].data.token as string;
    expect(first.map((s) => s.data.token)).to.deep.equal(nodes.map(() => hotToken));
    expect(fake!.count('token', WX_HOT)).to.equal(1);

    const samples: Sample[] = [];
    const ready: Sample[] = [];
    const hot = load(samples, 6, (w) => call(nodes[w % 2].url, 'wechat.app.token', { codeName: 'hot' }, 'hot', w % 2));
    const auth = load(samples, 2, (w) => call(nodes[w % 2].url, 'qcloud.cam.auth', creds, 'auth', w % 2));
    const readyz = load(ready, 2, async (w) => {
      const start = Date.now();
      let status = 0;
      try {
        status = (await fetch(`${nodes[w].url}/readyz`, { signal: AbortSignal.timeout(30_000) })).status;
      } catch {
        status = -1;
      }
      const end = Date.now();
      await sleep(200);
      return { kind: 'readyz', node: w, start, end, status };
    });
    await sleep(500);

    // ---- MariaDB goes away (SIGTERM, clean shutdown)
    const tStop = Date.now();
    await maria!.stop();
    const tDown = Date.now();
    // the app whose token was never fetched: asked for only once the database is gone
    const cold = load(samples, 2, (w) =>
      call(nodes[w % 2].url, 'wechat.app.token', { codeName: 'cold' }, 'cold', w % 2),
    );
    await sleep(tStop + 10_000 - Date.now());

    // ---- MariaDB comes back on the same datadir and port
    const tRestart = Date.now();
    await maria!.start();
    const tUp = Date.now();
    await sleep(6_500);
    await Promise.all([hot.stop(), auth.stop(), cold.stop(), readyz.stop()]);
    note(
      `down ${tDown - tStop} ms after SIGTERM, restarted ${tRestart - tStop} ms after it, answering ${tUp - tRestart} ms later`,
    );

    const of = (kind: string, xs = samples) => xs.filter((s) => s.kind === kind);
    /** calls made entirely while MariaDB was gone */
    const down = samples.filter((s) => s.start >= tDown && s.end <= tRestart);
    const recovered = samples.filter((s) => s.start >= tUp + 5000);
    for (const kind of ['hot', 'cold', 'auth']) {
      note(`${kind}: before the stop ${summary(of(kind).filter((s) => s.start < tStop))}`);
      note(`${kind}: while down ${summary(of(kind, down))}`);
      note(`${kind}: ≥ 5 s after the return ${summary(of(kind, recovered))}`);
    }
    const lastFailure = Math.max(tUp, ...samples.filter((s) => s.code !== 0).map((s) => s.end));
    note(
      `last non-zero answer ${lastFailure - tUp} ms after MariaDB answered again; readyz while down: ${summary(ready.filter((s) => s.start >= tDown && s.end <= tRestart))}`,
    );

    // never a 500, never anything but an envelope
    expectEnvelopes(samples, [0, 1001], 'every call of the run');
    for (const s of samples.filter((x) => x.code === 1001)) {
      expect(s.message).to.equal('STORE_ERROR');
      expect(s.data).to.equal('');
    }
    // never a hang: a call waits at most the pool's 3 s per store read it makes. A cached-token
    // call can make two (app config, then token row) when both node caches have lapsed — see the
    // known-bug test below; the others make one.
    const tooSlow = (xs: Sample[], limit: number) =>
      xs.filter((s) => ms(s) > limit).map((s) => ({ kind: s.kind, ms: ms(s), code: s.code }));
    expect(
      tooSlow(of('hot'), 2 * STORE_WAIT_MS + MARGIN_MS),
      'cached-token calls slower than 2 store waits + margin',
    ).to.deep.equal([]);
    expect(
      tooSlow([...of('cold'), ...of('auth')], STORE_WAIT_MS + MARGIN_MS),
      'calls slower than the timeout + margin',
    ).to.deep.equal([]);

    // the cached token: served, the same one, from before the stop to after the return (§5.5)
    expect(of('hot', down).length, 'cached-token calls while MariaDB was down').to.be.greaterThan(10);
    expectEnvelopes(of('hot'), [0], 'the cached token, all along');
    for (const s of of('hot')) expect(s.data.token).to.equal(hotToken);

    // the token never fetched: 1001 while the store is down, and no upstream call
    expect(of('cold', down).length).to.be.greaterThan(4);
    expectEnvelopes(of('cold', down), [1001], 'a token never fetched, store down');

    // sessions: at most the 1 s session cache, then 1001
    const authLate = of('auth', down).filter((s) => s.start > tDown + SESSION_CACHE_MS + 200);
    expect(authLate.length).to.be.greaterThan(2);
    expectEnvelopes(authLate, [1001], 'qcloud.cam.auth once the session cache lapsed');
    for (const s of of('auth').filter((x) => x.code === 0)) expect(s.data.openid).to.equal(login.openid);

    // /readyz: 503 while down, 200 again within 5 s of the return
    const readyDown = ready.filter((s) => s.start >= tDown && s.end <= tRestart);
    expect(readyDown.length).to.be.greaterThan(1);
    expect(readyDown.map((s) => s.status)).to.deep.equal(readyDown.map(() => 503));
    const readyBack = ready.filter((s) => s.start >= tUp + 5000);
    expect(readyBack.length).to.be.greaterThan(0);
    expect(readyBack.map((s) => s.status)).to.deep.equal(readyBack.map(() => 200));
    expect(Math.max(...ready.map(ms)), '/readyz answers within the timeout + margin').to.be.at.most(
      STORE_WAIT_MS + MARGIN_MS,
    );

    // within 5 s of MariaDB returning every call succeeds again
    for (const kind of ['hot', 'cold', 'auth']) {
      expect(of(kind, recovered).length, `${kind} calls ≥ 5 s after the return`).to.be.greaterThan(5);
      expectEnvelopes(of(kind, recovered), [0], `${kind} ≥ 5 s after MariaDB returned`);
    }
    const coldTokens = new Set(
      of('cold')
        .filter((s) => s.code === 0)
        .map((s) => s.data.token as string),
    );
    expect(coldTokens.size).to.equal(1);
    expect(fake!.isLive([...coldTokens][0])).to.equal(true);

    // no double refresh: one upstream call per token over the whole run, one login
    expect(fake!.count('token', WX_HOT), 'upstream calls for the cached token').to.equal(1);
    expect(fake!.count('token', WX_COLD), 'upstream calls for the token first asked for during the outage').to.equal(1);
    expect(fake!.count('jscode2session', WX_MINI)).to.equal(1);
    const rows = (await maria!.query(
      'SELECT subject, version FROM tokens ORDER BY subject',
      [],
      'gh_fault_outage',
    )) as { subject: string; version: number }[];
    expect(rows.map((r) => [r.subject, r.version])).to.deep.equal(
      [
        [WX_HOT, 1],
        [WX_COLD, 1],
      ].sort(),
    );
  });

  it('kill -9 of one of three nodes mid-load: the other two keep serving, its lease expires, one refresh per token', async () => {
    const WX_BUSY = 'wxfaultkill000001';
    const WX_LEASE = 'wxfaultkill000002';
    fake!.app(WX_BUSY, 'busy-secret');
    fake!.app(WX_LEASE, 'lease-secret');
    const dbName = 'gh_fault_kill';
    const nodes = await startNodes(3, baseEnv(await maria!.createDatabase(dbName)));
    await wechatApp(nodes[0].url, 'busy', WX_BUSY, 'busy-secret');
    await wechatApp(nodes[0].url, 'leased', WX_LEASE, 'lease-secret');
    const warm = await Promise.all(
      nodes.map((n, i) => call(n.url, 'wechat.app.token', { codeName: 'busy' }, 'busy', i)),
    );
    expectEnvelopes(warm, [0], 'warm-up');
    const busyToken = warm[0].data.token as string;
    expect(fake!.count('token', WX_BUSY)).to.equal(1);

    // the victim takes the lease of the other token and its upstream call never comes back
    const victim = nodes[2];
    fake!.mode('token', 'stall');
    const victimCall = call(victim.url, 'wechat.app.token', { codeName: 'leased' }, 'leased', 2, 60_000);
    for (const deadline = Date.now() + 10_000; fake!.count('token', WX_LEASE) === 0 && Date.now() < deadline;)
      await sleep(20);
    expect(fake!.count('token', WX_LEASE)).to.equal(1);
    const [lease] = (await maria!.query(
      'SELECT lease_owner, lease_until FROM tokens WHERE subject = ?',
      [WX_LEASE],
      dbName,
    )) as { lease_owner: string | null; lease_until: number | null }[];
    expect(lease.lease_owner, 'the victim holds the lease').to.be.a('string');
    const leaseUntil = Number(lease.lease_until);

    // load spread over the three nodes
    const samples: Sample[] = [];
    let tKill = Infinity;
    const busy = load(samples, 6, async (w, i) => {
      const node = (w + i) % 3;
      const s = await call(nodes[node].url, 'wechat.app.token', { codeName: 'busy' }, 'busy', node);
      if (s.status === 0) await sleep(20); // the dead node refuses at once: do not spin
      return s;
    });
    for (const deadline = Date.now() + 10_000; samples.length < 600 && Date.now() < deadline;) await sleep(20);
    tKill = Date.now();
    victim.kill('SIGKILL');
    await victim.exited;
    const tDead = Date.now();
    fake!.mode('token', null);

    // the survivors are asked for the leased token: they wait for the lease to expire, then one refreshes
    const waiters = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        call(nodes[i % 2].url, 'wechat.app.token', { codeName: 'leased' }, 'leased', i % 2, 60_000),
      ),
    );
    while (samples.length < 1200) await sleep(20);
    await busy.stop();
    const dead = await victimCall;
    note(
      `lease expired ${leaseUntil - tKill} ms after the kill; waiters done ${Math.max(...waiters.map((s) => s.end)) - leaseUntil} ms after it; ${summary(samples)}`,
    );

    // the survivors answered everything with 0, the one token
    const survivors = samples.filter((s) => s.node !== 2);
    expect(survivors.length).to.be.greaterThan(800);
    expectEnvelopes(survivors, [0], 'calls to the surviving nodes');
    for (const s of survivors) expect(s.data.token).to.equal(busyToken);
    // the victim served until it died; after that its port refuses (no half answers)
    const toVictim = samples.filter((s) => s.node === 2);
    expect(toVictim.filter((s) => s.end < tKill).length).to.be.greaterThan(100);
    expectEnvelopes(
      toVictim.filter((s) => s.end < tKill),
      [0],
      'the victim before the kill',
    );
    const afterKill = toVictim.filter((s) => s.start > tDead);
    expect(
      afterKill.filter((s) => s.status !== 0),
      'answers from a dead node',
    ).to.deep.equal([]);
    expect(samples.length).to.be.at.least(1000);
    expect(dead.status, 'the victim’s own call died with it').to.equal(0);

    // its lease expired and exactly one survivor refreshed, after the expiry
    expectEnvelopes(waiters, [0], 'survivors asked for the token the victim was refreshing');
    const leased = new Set(waiters.map((s) => s.data.token as string));
    expect(leased.size).to.equal(1);
    expect(fake!.isLive([...leased][0])).to.equal(true);
    expect(Math.max(...waiters.map((s) => s.end))).to.be.at.least(leaseUntil - 50);
    expect(Math.max(...waiters.map((s) => s.end)), 'the lease delays the others at most ~its 15 s').to.be.below(
      leaseUntil + 5000,
    );
    const [row] = (await maria!.query(
      'SELECT value, version, lease_owner FROM tokens WHERE subject = ?',
      [WX_LEASE],
      dbName,
    )) as { value: string; version: number; lease_owner: string | null }[];
    expect(row.value).to.equal([...leased][0]);
    expect(row.version).to.equal(1);
    expect(row.lease_owner).to.not.equal(lease.lease_owner);

    // no double refresh: the busy token once; the leased one = the victim's lost call + one
    expect(fake!.count('token', WX_BUSY)).to.equal(1);
    expect(fake!.count('token', WX_LEASE)).to.equal(2);
  });

  it('the platform slow (2 s), down (502), answering 45009 or 40164: a stored valid token keeps being served, errors are the documented envelopes, RSS stays under 300 MB', async () => {
    const WX_HELD = 'wxfaultplatform01';
    fake!.app(WX_HELD, 'held-secret');
    const dbUrl = await maria!.createDatabase('gh_fault_platform');
    const node = await serveNode(
      baseEnv(dbUrl, { GATEHOUSE_UPSTREAM_TIMEOUT_MS: String(PLATFORM_TIMEOUT_MS) }),
      await freeTcpPort(),
    );
    procs.push(node);
    await wechatApp(node.url, 'held', WX_HELD, 'held-secret');
    const held = await rpcOk(node.url, 'wechat.app.token', { codeName: 'held' });
    const heldToken = held.token as string;
    let rssMax = node.rss() ?? 0;
    const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, node.rss() ?? 0)), 100);

    const modes: { name: string; apply: () => void; code: number; errcode?: number }[] = [
      { name: 'slow (2 s, over the 1 s timeout)', apply: () => (fake!.latencyMs = 2000), code: 1005 },
      { name: 'down (HTTP 502)', apply: () => fake!.mode('token', { http: 502 }), code: 1005 },
      {
        name: '45009',
        apply: () => fake!.mode('token', { errcode: 45009, errmsg: 'reach max api daily quota limit' }),
        code: 40029,
        errcode: 45009,
      },
      {
        name: '40164',
        apply: () => fake!.mode('token', { errcode: 40164, errmsg: 'invalid ip 10.0.0.1, not in whitelist' }),
        code: 40029,
        errcode: 40164,
      },
    ];
    const colds: { codeName: string; appId: string }[] = [];
    try {
      for (const [m, mode] of modes.entries()) {
        const cold = { codeName: `cold${m}`, appId: `wxfaultplatcold${m}` };
        colds.push(cold);
        fake!.app(cold.appId, 'cold-secret');
        await wechatApp(node.url, cold.codeName, cold.appId, 'cold-secret');
        mode.apply();
        const samples: Sample[] = [];
        const runs = [
          load(samples, 4, () => call(node.url, 'wechat.app.token', { codeName: 'held' }, 'plain', 0)),
          load(samples, 2, () => call(node.url, 'wechat.app.token', { codeName: 'held', force: true }, 'force', 0)),
          load(samples, 2, () =>
            call(node.url, 'wechat.app.token', { codeName: 'held', invalidToken: 'not-the-current-token' }, 'other', 0),
          ),
          load(samples, 2, () => call(node.url, 'wechat.app.token', { codeName: cold.codeName }, 'cold', 0)),
        ];
        await sleep(1500);
        await Promise.all(runs.map((r) => r.stop()));
        // compare-and-refresh with the current token: the caller says it is bad, so it is not served
        // back. (Asked on its own: joined to a concurrent force refresh it gets the old token with 0.)
        const invalidated = await call(
          node.url,
          'wechat.app.token',
          { codeName: 'held', invalidToken: heldToken },
          'invalidate',
          0,
        );
        fake!.latencyMs = 0;
        fake!.mode('token', null);
        const of = (kind: string) => samples.filter((s) => s.kind === kind);
        for (const kind of ['plain', 'force', 'other', 'cold']) note(`${mode.name} ${kind}: ${summary(of(kind))}`);
        note(`${mode.name} invalidToken = current: ${invalidated.code} ${JSON.stringify(invalidated.data)}`);

        // the stored valid token keeps being served, forced or compared against another value
        for (const kind of ['plain', 'force', 'other']) {
          expect(of(kind).length, `${mode.name}: ${kind} calls`).to.be.greaterThan(0);
          expectEnvelopes(of(kind), [0], `${mode.name}: ${kind}`);
          for (const s of of(kind)) expect(s.data.token, `${mode.name}: ${kind}`).to.equal(heldToken);
        }
        // plain calls never wait on the platform
        expect(Math.max(...of('plain').map(ms)), `${mode.name}: slowest plain call`).to.be.below(1000);
        // a refresh gives up after its attempts (3 × the timeout at most, with back-off)
        const refreshBound = 3 * PLATFORM_TIMEOUT_MS + 1000 + MARGIN_MS;
        expect(
          Math.max(...[...of('force'), ...of('cold')].map(ms)),
          `${mode.name}: slowest refreshing call`,
        ).to.be.below(refreshBound);
        // no stored token: the documented envelope
        expect(of('cold').length).to.be.greaterThan(0);
        expectEnvelopes([...of('cold'), invalidated], [mode.code], `${mode.name}: no valid token`);
        for (const s of [...of('cold'), invalidated]) {
          if (mode.errcode === undefined) {
            expect(s.message).to.equal('UPSTREAM_UNREACHABLE');
            expect(s.data).to.equal('');
          } else {
            expect(s.message).to.equal('UPSTREAM_ERROR');
            expect(s.data).to.include({ platform: 'wechat', errcode: mode.errcode });
            expect(s.data.errmsg).to.be.a('string');
          }
        }
        // errors are not cached (each call, or pair of concurrent calls, asks again) and hard
        // errcodes are not retried within one refresh (at most one upstream call per call)
        if (mode.errcode !== undefined) {
          expect(fake!.count('token', cold.appId)).to.be.at.most(of('cold').length);
          expect(fake!.count('token', cold.appId)).to.be.at.least(Math.ceil(of('cold').length / 2));
        }
      }

      // the platform back: errors were not cached, every token is fetched once, the held one is unchanged
      const before = new Map(colds.map((c) => [c.appId, fake!.count('token', c.appId)]));
      for (const c of colds) {
        const t = await rpcOk(node.url, 'wechat.app.token', { codeName: c.codeName });
        expect(fake!.isLive(t.token)).to.equal(true);
        expect(fake!.count('token', c.appId)).to.equal(before.get(c.appId)! + 1);
      }
      expect((await rpcOk(node.url, 'wechat.app.token', { codeName: 'held' })).token).to.equal(heldToken);
      const listed = await rpcOk(node.url, 'admin.token.list', { platform: 'wechat_app', codeName: 'held' });
      note(
        `admin.token.list lastError of the held token: ${JSON.stringify(listed.tokens.map((t: { lastError: unknown }) => t.lastError))}`,
      );
    } finally {
      clearInterval(rssTimer);
    }
    rssMax = Math.max(rssMax, node.rss() ?? 0);
    note(`gatehouse RSS max ${(rssMax / 2 ** 20).toFixed(1)} MB`);
    expect(rssMax, 'gatehouse RSS').to.be.above(0);
    expect(rssMax / 2 ** 20, 'gatehouse RSS (MB)').to.be.below(300);
    expect(node.alive()).to.equal(true);
  });

  /*
   * A database that hangs instead of refusing, and sparse traffic during an outage: a client-side
   * query deadline and a short circuit breaker keep calls within the timeout.
   */

  it('MariaDB hung (SIGSTOP) for 8 s: no call waits beyond the timeout + margin; /readyz answers 503', async () => {
    const WX = 'wxfaulthang000001';
    fake!.app(WX, 'hang-secret');
    const [node] = await startNodes(1, baseEnv(await maria!.createDatabase('gh_fault_hang')));
    await wechatApp(node.url, 'hot', WX, 'hang-secret');
    fake!.app('wxfaulthang000002', 'hang-secret');
    await wechatApp(node.url, 'cold', 'wxfaulthang000002', 'hang-secret');
    await rpcOk(node.url, 'wechat.app.token', { codeName: 'hot' });
    const samples: Sample[] = [];
    const ready: Array<{ at: number; ms: number }> = [];
    maria!.pause();
    const tPause = Date.now();
    const probes: Promise<unknown>[] = [];
    for (let i = 0; i < 8; i++) {
      probes.push(
        call(node.url, 'wechat.app.token', { codeName: 'hot' }, 'hot', 0, 60_000).then((s) => samples.push(s)),
      );
      probes.push(
        call(node.url, 'wechat.app.token', { codeName: 'cold' }, 'cold', 0, 60_000).then((s) => samples.push(s)),
      );
      probes.push(
        (async () => {
          const start = Date.now();
          const r = await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(60_000) }).catch(() => undefined);
          ready.push({ at: start, ms: r?.status === 503 ? Date.now() - start : -1 });
        })(),
      );
      await sleep(1000);
    }
    const hangFor = tPause + 8000 - Date.now();
    if (hangFor > 0) await sleep(hangFor);
    const tResume = Date.now();
    maria!.resume();
    await Promise.all(probes);
    note(`hung store: ${summary(samples)}; readyz ${JSON.stringify(ready)}`);
    expect(
      samples.filter((s) => ms(s) > STORE_WAIT_MS + MARGIN_MS).map((s) => ({ kind: s.kind, ms: ms(s), code: s.code })),
    ).to.deep.equal([]);
    expectEnvelopes(
      samples.filter((s) => s.kind === 'hot'),
      [0],
      'the cached token, store hung',
    );
    // a cold probe whose query deadline falls after the resume may rightly reach the store, then the platform
    const coldWhileHung = samples.filter((s) => s.kind === 'cold' && s.start + STORE_WAIT_MS + 500 < tResume);
    expect(coldWhileHung.length).to.be.at.least(4);
    expectEnvelopes(coldWhileHung, [1001], 'a token never fetched, store hung');
    expectEnvelopes(
      samples.filter((s) => s.kind === 'cold'),
      [0, 1001],
      'a token never fetched, around the resume',
    );
    // a probe whose query deadline falls after the resume may rightly see the database answer
    const whileHung = ready.filter((r) => r.at + STORE_WAIT_MS + 500 < tResume).map((r) => r.ms);
    expect(whileHung.length).to.be.at.least(4);
    expect(
      whileHung.every((t) => t >= 0 && t <= STORE_WAIT_MS + MARGIN_MS),
      `/readyz while hung (ms, -1 = not a prompt 503): ${whileHung}`,
    ).to.equal(true);
  });

  it('MariaDB down, sparse traffic: a cached token is served within the timeout + margin (not after two pool timeouts)', async () => {
    const WX = 'wxfaultsparse0001';
    fake!.app(WX, 'sparse-secret');
    const [node] = await startNodes(1, baseEnv(await maria!.createDatabase('gh_fault_sparse')));
    await wechatApp(node.url, 'hot', WX, 'sparse-secret');
    await rpcOk(node.url, 'wechat.app.token', { codeName: 'hot' });
    await maria!.stop();
    await sleep(5200); // the node's app (5 s) and token (3 s) caches both lapse
    const s = await call(node.url, 'wechat.app.token', { codeName: 'hot' }, 'hot', 0, 60_000);
    await maria!.start();
    note(`sparse call while down: ${s.code} in ${ms(s)} ms`);
    expect(s.code).to.equal(0);
    expect(ms(s)).to.be.at.most(STORE_WAIT_MS + MARGIN_MS);
  });
});
