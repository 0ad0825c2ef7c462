/**
 * Rolling restart under load (issue 13 item 5): three real `gatehouse serve` processes on one MariaDB
 * database and the fake WeChat, behind a client that balances over the nodes whose /readyz answers
 * 200 (as a load balancer does) and retries a request once on another node when its connection is
 * refused or reset. While a steady mixed load runs (backend token calls, session checks, logins and
 * an error path), each node in turn is stopped with SIGTERM and started again. Tokens live 20 s at
 * the fake, so they are refreshed ahead several times meanwhile.
 *
 * Asserted: no request fails at the client; every node exits 0; no double refresh — every upstream
 * token call became one stored version, and none came before the previous version was due; no token
 * lapse — every token answered was live at the platform when it arrived. The figures are printed.
 */
import { expect } from 'chai';
import { signCaller } from '../../system/callers';
import { FakePlatform } from '../fake/platform';
import { freePort } from '../helpers/cli';
import { freshDatabase, requireMariadb, type TestDatabase } from '../helpers/db';
import { JWT_SECRET } from '../helpers/gatehouse';
import { connectionError, spawnServe, type Proc } from '../helpers/lifecycle';
import { until } from '../helpers/wait';

const WX = 'wxrolling00000001';
const TOKEN = signCaller(JWT_SECRET, { sub: 'rolling-test', scope: '*', ttlSeconds: 3600 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** the token's lifetime at the fake: refreshed ahead 4 s before it ends (the last 20 %) */
const LIFETIME_S = 20;
/** the load runs at least this long, and until every node has been restarted */
const MIN_LOAD_MS = 40_000;
const WORKERS = 8;
/** each worker sends one request per this many ms: about 200 requests per second in all */
const PACE_MS = 40;
const DRAIN_MS = 1500;

type Kind = 'token' | 'auth' | 'login' | 'error';

interface Answer {
  returnCode: number;
  returnData: any;
}

/**
 * The client: round robin over the nodes whose /readyz answered 200 last (as a load balancer does),
 * or — `direct` — over all three regardless (a client that knows nothing of readiness); either way a
 * request whose connection is refused or reset is sent once more, to another node.
 */
class Balancer {
  readonly ready: boolean[];
  readonly retries = { balanced: 0, direct: 0 };
  /** answers that came with Connection: close (from a node in its drain window) */
  drainingAnswers = 0;
  private next = 0;
  private watching = true;
  private watcher?: Promise<void>;

  constructor(private readonly urls: string[]) {
    this.ready = urls.map(() => false);
  }

  /** polls every node's /readyz every 200 ms */
  watch(): void {
    this.watcher = (async () => {
      while (this.watching) {
        await Promise.all(
          this.urls.map(async (u, i) => {
            try {
              this.ready[i] = (await fetch(`${u}/readyz`)).status === 200;
            } catch {
              this.ready[i] = false;
            }
          }),
        );
        await sleep(200);
      }
    })();
  }

  async stop(): Promise<void> {
    this.watching = false;
    await this.watcher;
  }

  private pick(direct: boolean, not?: number): number {
    for (let k = 0; k < 2 * this.urls.length; k++) {
      const i = this.next++ % this.urls.length;
      // a node known ready first; none (not expected with one restarting at a time): any other
      if (i !== not && (direct || this.ready[i] || k >= this.urls.length)) return i;
    }
    return 0;
  }

  /** one RPC call; retried once on another node when the connection is refused or reset */
  async rpc(interfaceName: string, para: unknown, auth: boolean, direct = false): Promise<Answer> {
    const send = async (i: number) => {
      const res = await fetch(`${this.urls[i]}/`, {
        method: 'POST',
        headers: auth ? { authorization: `Bearer ${TOKEN}` } : {},
        body: JSON.stringify({ interface: { interfaceName, para } }),
      });
      if (res.headers.get('connection') === 'close') this.drainingAnswers++;
      if (res.status !== 200) throw new Error(`HTTP ${res.status} from node ${i}: ${await res.text()}`);
      return (await res.json()) as Answer;
    };
    const first = this.pick(direct);
    try {
      return await send(first);
    } catch (err) {
      if (!connectionError(err)) throw err;
      this.retries[direct ? 'direct' : 'balanced']++;
      return send(this.pick(direct, first));
    }
  }
}

describe('rolling restart of three nodes under load (MariaDB)', function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let fake: FakePlatform;
  let env: Record<string, string>;
  const ports = [freePort(), freePort(), freePort()];
  const nodes: Proc[] = [];
  const all: Proc[] = [];

  const start = async (i: number) => {
    const p = await spawnServe({ ...env, GATEHOUSE_PORT: ports[i] });
    nodes[i] = p;
    all.push(p);
    return p;
  };

  before(async function () {
    await requireMariadb(this);
    db = await freshDatabase('mariadb');
    fake = await new FakePlatform().start();
    fake.lifetimeS = LIFETIME_S;
    fake.app(WX, 'rolling-secret');
    env = {
      GATEHOUSE_HOST: '127.0.0.1',
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_WECHAT_API: fake.url,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
      GATEHOUSE_DRAIN_MS: String(DRAIN_MS),
      GATEHOUSE_REFRESH_SCAN_MS: '200',
      // a loaded machine must not turn a slow answer into a timeout and a retry (a second call)
      GATEHOUSE_UPSTREAM_TIMEOUT_MS: '15000',
    };
    // the first node migrates alone; the others start together on the migrated database
    await start(0);
    await Promise.all([start(1), start(2)]);
  });
  after(async () => {
    for (const p of all) p.kill('SIGKILL');
    await Promise.all(all.map((p) => p.exited));
    await fake?.stop();
    await db?.drop();
  });

  it('restarts every node through SIGTERM: no failed request, no double refresh, no token lapse', async () => {
    const lb = new Balancer(ports.map((p) => `http://127.0.0.1:${p}`));
    const put = await lb.rpc(
      'admin.app.put',
      {
        platform: 'wechat_app',
        codeName: 'shop',
        config: { appId: WX, secret: 'rolling-secret', tokenMode: 'classic' },
      },
      true,
    );
    expect(put.returnCode).to.equal(0);
    const login = await lb.rpc('qcloud.cam.id_skey', { code: fake.code().code }, false);
    expect(login.returnCode).to.equal(0);
    const session = { id: login.returnData.id as string, skey: login.returnData.skey as string };
    lb.watch();
    await until(() => lb.ready.every(Boolean), 'every node ready at the balancer');

    // the stored token, every version of it as it changes
    const versions = new Map<number, { refreshedAt: number; refreshAt: number; expiresAt: number }>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const rows = await db.query(
          "SELECT version, refreshed_at, refresh_at, expires_at FROM tokens WHERE subject = ? AND kind = 'access_token'",
          [WX],
        );
        for (const r of rows)
          if (Number(r.version) > 0 && !versions.has(Number(r.version)))
            versions.set(Number(r.version), {
              refreshedAt: Number(r.refreshed_at),
              refreshAt: Number(r.refresh_at),
              expiresAt: Number(r.expires_at),
            });
        await sleep(100);
      }
    })();

    const counts: Record<Kind, number> = { token: 0, auth: 0, login: 0, error: 0 };
    const failures: string[] = [];
    const lapses: string[] = [];
    const tokens = new Set<string>();
    let loading = true;
    const kinds: Kind[] = ['token', 'token', 'auth', 'login', 'error'];
    const one = async (kind: Kind, direct: boolean) => {
      if (kind === 'token') {
        const r = await lb.rpc('wechat.app.token', { codeName: 'shop' }, true, direct);
        if (r.returnCode !== 0) throw new Error(`wechat.app.token: ${JSON.stringify(r)}`);
        const token = String(r.returnData.token);
        // checked as it arrives: a token the platform no longer takes is a lapse
        if (!fake.isLive(token, 'AT', WX) || r.returnData.expiresAt * 1000 <= Date.now())
          lapses.push(`${token.slice(0, 12)}… expiresAt ${r.returnData.expiresAt} at ${Date.now()}`);
        tokens.add(token);
      } else if (kind === 'auth') {
        const r = await lb.rpc('qcloud.cam.auth', session, false, direct);
        if (r.returnCode !== 0 || r.returnData.appid !== WX) throw new Error(`qcloud.cam.auth: ${JSON.stringify(r)}`);
      } else if (kind === 'login') {
        const r = await lb.rpc('qcloud.cam.id_skey', { code: fake.code().code }, false, direct);
        if (r.returnCode !== 0 || typeof r.returnData.skey !== 'string' || r.returnData.appid !== WX)
          throw new Error(`qcloud.cam.id_skey: ${JSON.stringify(r)}`);
      } else {
        // the error path: an app nobody configured is 1012, on every node, at every moment
        const r = await lb.rpc('wechat.app.token', { codeName: 'nope' }, true, direct);
        if (r.returnCode !== 1012) throw new Error(`unknown app: ${JSON.stringify(r)}`);
      }
      counts[kind]++;
    };
    // half the workers go through the readiness-aware balancer, half straight to any node
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = w; loading; i += WORKERS) {
        const kind = kinds[i % kinds.length];
        const paced = sleep(PACE_MS);
        try {
          await one(kind, w % 2 === 1);
        } catch (err) {
          failures.push(
            `${kind}: ${(err as Error).message} ${JSON.stringify((err as { cause?: unknown }).cause ?? '')}`,
          );
        }
        await paced;
      }
    });

    const began = Date.now();
    const exits: { node: number; code: number | null; signal: NodeJS.Signals | null }[] = [];
    try {
      await sleep(3000);
      for (let i = 0; i < nodes.length; i++) {
        const old = nodes[i];
        old.kill('SIGTERM');
        const exit = await old.exited;
        exits.push({ node: i, code: exit.code, signal: exit.signal });
        await start(i);
        await until(() => lb.ready[i], `node ${i} ready again at the balancer`, 30_000);
        await sleep(3000);
      }
      const left = MIN_LOAD_MS - (Date.now() - began);
      if (left > 0) await sleep(left);
    } finally {
      loading = false;
      await Promise.all(workers);
      polling = false;
      await poller;
      await lb.stop();
    }
    const tookMs = Date.now() - began;
    const requests = Object.values(counts).reduce((a, b) => a + b, 0) + failures.length;

    // the figures (README)
    console.log(
      `      rolling restart: ${requests} requests (${JSON.stringify(counts)}) in ${(tookMs / 1000).toFixed(1)} s, ` +
        `${exits.length} restarts, retries ${JSON.stringify(lb.retries)}, ${lb.drainingAnswers} answered in a drain window, ` +
        `${fake.count('token')} upstream token calls for ${versions.size} stored versions, ${tokens.size} tokens served`,
    );

    expect(failures.slice(0, 5), `${failures.length} failed requests`).to.deep.equal([]);
    expect(exits).to.deep.equal([0, 1, 2].map((node) => ({ node, code: 0, signal: null })));
    expect(lapses.slice(0, 5), `${lapses.length} lapsed tokens`).to.deep.equal([]);

    // no double refresh: every upstream call is one stored version (none fetched and thrown
    // away), the versions follow one another, and none was fetched before its predecessor was due
    const seen = [...versions.keys()].sort((a, b) => a - b);
    expect(seen, 'every version seen').to.deep.equal(Array.from({ length: seen.length }, (_, k) => k + 1));
    expect(fake.count('token')).to.equal(seen.length);
    for (const v of seen.slice(1)) {
      const prev = versions.get(v - 1)!;
      expect(versions.get(v)!.refreshedAt, `version ${v} fetched before version ${v - 1} was due`).to.be.at.least(
        prev.refreshAt,
      );
    }
    // the load saw the token refreshed ahead more than once, every time before it ran out
    expect(seen.length, 'refreshes during the run').to.be.at.least(3);
    expect(tokens.size).to.be.at.least(3);
  });
});
