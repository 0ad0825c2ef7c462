import { expect } from 'chai';
import { FakePlatform } from './fake/platform';
import { freePort, serve, type ServeProcess } from './helpers/cli';
import { freshDatabase, requireMariadb, type TestDatabase } from './helpers/db';
import { JWT_SECRET } from './helpers/gatehouse';
import { until } from './helpers/wait';
import { signCaller } from '../system/callers';

const WX = 'wxcluster00000001';
const TOKEN = signCaller(JWT_SECRET, { sub: 'cluster-test', scope: '*', ttlSeconds: 3600 });

async function rpc(n: ServeProcess, interfaceName: string, para: unknown) {
  const res = await fetch(`${n.url}/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ interface: { interfaceName, para } }),
  });
  return (await res.json()) as { returnCode: number; returnData: any };
}

/** Three real gatehouse processes on one MariaDB (§5: one refresh cluster-wide, no stuck locks). */
describe('token engine across nodes on one MariaDB', function () {
  this.timeout(90_000);
  let db: TestDatabase;
  let fake: FakePlatform;
  let nodes: ServeProcess[] = [];
  let env: Record<string, string>;

  before(async function () {
    await requireMariadb(this);
    db = await freshDatabase('mariadb');
    fake = await new FakePlatform().start();
    fake.app(WX, 'cluster-secret');
    fake.app('wxkill', 's');
    env = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_WECHAT_API: fake.url,
      GATEHOUSE_WECOM_API: fake.url,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
      // a loaded CI machine must not turn a slow answer into a timeout and a retry (a second call)
      GATEHOUSE_UPSTREAM_TIMEOUT_MS: '15000',
      // the refresher would renew the near-expiry token itself: keep it out of these tests
      GATEHOUSE_REFRESH_SCAN_MS: '3600000',
    };
    nodes = await Promise.all([0, 1, 2].map(() => serve({ ...env, GATEHOUSE_PORT: freePort() })));
    expect(
      (
        await rpc(nodes[0], 'admin.app.put', {
          platform: 'wechat_app',
          codeName: 'mp',
          config: { appId: WX, secret: 'cluster-secret', tokenMode: 'classic' },
        })
      ).returnCode,
    ).to.equal(0);
  });
  after(async () => {
    for (const n of nodes) n.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await fake?.stop();
    await db?.drop();
  });

  /** the sum of a counter over the three nodes' /metrics (loopback: no token needed) */
  const clusterMetric = async (name: string) => {
    let sum = 0;
    for (const n of nodes) {
      const text = await (await fetch(`${n.url}/metrics`)).text();
      for (const line of text.split('\n'))
        if (line.startsWith(name) && /^[\w]+(\{[^}]*\})? /.test(line))
          sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  };

  const storm = async (n: number) => {
    const all = await Promise.all(
      Array.from({ length: n }, (_, i) => rpc(nodes[i % nodes.length], 'wechat.app.token', { codeName: 'mp' })),
    );
    expect(all.filter((r) => r.returnCode !== 0)).to.deep.equal([]);
    return new Set(all.map((r) => r.returnData.token));
  };

  it('1,200 concurrent calls over three nodes on a cold key make exactly 1 upstream call', async () => {
    fake.reset();
    fake.latencyMs = 300;
    const tokens = await storm(1200);
    fake.latencyMs = 0;
    expect(fake.count('token')).to.equal(1);
    expect(tokens.size).to.equal(1);
  });

  it('near expiry (in the refresh-ahead window) 1,200 calls trigger exactly 1 upstream call and nobody waits', async () => {
    fake.reset();
    const soon = Date.now() + 60_000;
    await db.query('UPDATE tokens SET refresh_at = ?, expires_at = ? WHERE kind = ?', [
      Date.now() - 1,
      soon,
      'access_token',
    ]);
    const [old] = await db.query("SELECT value FROM tokens WHERE kind = 'access_token'");
    await new Promise((r) => setTimeout(r, 3200)); // the nodes' caches (3 s) see the row again
    const upstreamBefore = await clusterMetric('gatehouse_upstream_requests_total');
    // the platform does not answer the refresh until the storm is over: a request that waited on it
    // (on its own node or on another node's lease) could not finish before the call failed or timed out
    const release = fake.hold('token');
    let tokens: Set<string>;
    try {
      tokens = await storm(1200);
      await until(() => fake.count('token') === 1, 'the refresh reaches the platform', 30_000);
      // every answer is in, the one refresh is still unanswered (no node saw it end, failed or timed out)
      expect(fake.inFlight('token')).to.equal(1);
      expect(await clusterMetric('gatehouse_upstream_requests_total')).to.equal(upstreamBefore);
      // so all of them were served the stored token, still valid
      expect([...tokens]).to.deep.equal([old.value]);
      expect(fake.isLive(String(old.value))).to.equal(true);
    } finally {
      release();
    }
    const refreshed = async () =>
      Number((await db.query("SELECT expires_at FROM tokens WHERE kind = 'access_token'"))[0].expires_at) > soon;
    await until(refreshed, 'the refreshed token is stored', 30_000);
    expect(fake.count('token')).to.equal(1);
    expect(await clusterMetric('gatehouse_upstream_requests_total')).to.equal(upstreamBefore + 1);
  });

  it('expired: 1,200 calls over three nodes wait for exactly 1 upstream call', async () => {
    fake.reset();
    await db.query('UPDATE tokens SET expires_at = ? WHERE kind = ?', [Date.now() - 1000, 'access_token']);
    await new Promise((r) => setTimeout(r, 3200));
    fake.latencyMs = 300;
    const tokens = await storm(1200);
    fake.latencyMs = 0;
    expect(fake.count('token')).to.equal(1);
    expect(tokens.size).to.equal(1);
  });

  it('a node killed (SIGKILL) while holding the lease delays the others at most the lease time (15 s)', async () => {
    const victim = await serve({ ...env, GATEHOUSE_PORT: freePort(), GATEHOUSE_UPSTREAM_TIMEOUT_MS: '60000' });
    await rpc(victim, 'admin.app.put', {
      platform: 'wechat_app',
      codeName: 'kill',
      config: { appId: 'wxkill', secret: 's', tokenMode: 'classic' },
    });
    fake.reset();
    fake.mode('token', 'stall');
    void rpc(victim, 'wechat.app.token', { codeName: 'kill' }).catch(() => undefined);
    await until(() => fake.count('token', 'wxkill') > 0, "the victim's call at the platform", 10_000);
    expect(fake.count('token', 'wxkill')).to.equal(1);
    const [lease] = await db.query("SELECT lease_owner, lease_until FROM tokens WHERE subject = 'wxkill'");
    expect(lease.lease_owner).to.be.a('string');
    victim.kill('SIGKILL');
    await victim.exited;
    fake.mode('token', null);
    const started = Date.now();
    const res = await rpc(nodes[1], 'wechat.app.token', { codeName: 'kill' });
    const waited = Date.now() - started;
    expect(res.returnCode).to.equal(0);
    expect(fake.isLive(res.returnData.token)).to.equal(true);
    expect(waited).to.be.below(20_000);
    expect(fake.count('token', 'wxkill')).to.equal(2);
  });
});
