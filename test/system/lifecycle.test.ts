/**
 * Graceful lifecycle (issue 13 item 4), with real `gatehouse serve` processes on MariaDB and the fake
 * WeChat: on SIGTERM / SIGINT /readyz answers 503 at once while the node keeps serving for
 * GATEHOUSE_DRAIN_MS; then it stops listening, lets in-flight requests finish, frees the refresh
 * leases it holds, and exits 0.
 */
import { expect } from 'chai';
import { signCaller } from '../../system/callers';
import { ConfigError, configFromEnv } from '../../system/config';
import { FakePlatform } from '../fake/platform';
import { freePort } from '../helpers/cli';
import { freshDatabase, requireMariadb, type TestDatabase } from '../helpers/db';
import { JWT_SECRET } from '../helpers/gatehouse';
import { logLines, spawnServe, type Proc } from '../helpers/lifecycle';
import { until } from '../helpers/wait';

const WX = 'wxlifecycle000001';
const TOKEN = signCaller(JWT_SECRET, { sub: 'lifecycle-test', scope: '*', ttlSeconds: 3600 });

async function rpc(url: string, interfaceName: string, para: unknown) {
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ interface: { interfaceName, para } }),
  });
  return {
    status: res.status,
    connection: res.headers.get('connection'),
    body: (await res.json()) as { returnCode: number; returnData: any },
  };
}

const refused = (url: string) =>
  fetch(`${url}/healthz`).then(
    () => false,
    (err: { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED',
  );

describe('GATEHOUSE_DRAIN_MS: its values', () => {
  it('defaults to 5000, takes 0 to 600000, refuses anything else with one line naming it', () => {
    expect(configFromEnv({}).drainMs).to.equal(5000);
    expect(configFromEnv({ GATEHOUSE_DRAIN_MS: '0' }).drainMs).to.equal(0);
    expect(configFromEnv({ GATEHOUSE_DRAIN_MS: '600000' }).drainMs).to.equal(600_000);
    for (const bad of ['600001', '-1', '5s', '1.5']) {
      expect(() => configFromEnv({ GATEHOUSE_DRAIN_MS: bad }), bad)
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(/^GATEHOUSE_DRAIN_MS: [^\n]+$/);
    }
  });
});

describe('graceful lifecycle of a node (SIGTERM / SIGINT)', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let fake: FakePlatform;
  const procs: Proc[] = [];
  let env: Record<string, string>;

  const node = async (extra: Record<string, string> = {}) => {
    const p = await spawnServe({ ...env, GATEHOUSE_PORT: freePort(), ...extra });
    procs.push(p);
    return p;
  };
  const tokenRow = async (subject: string) =>
    (await db.query('SELECT value, version, lease_owner, lease_until FROM tokens WHERE subject = ?', [subject]))[0];

  before(async function () {
    await requireMariadb(this);
    db = await freshDatabase('mariadb');
    fake = await new FakePlatform().start();
    fake.app(WX, 'lifecycle-secret');
    env = {
      GATEHOUSE_HOST: '127.0.0.1',
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_WECHAT_API: fake.url,
      GATEHOUSE_LOG_LEVEL: 'info',
      GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
      // a stalled refresh must still be in flight when the node is told to stop
      GATEHOUSE_UPSTREAM_TIMEOUT_MS: '60000',
    };
    const first = await node({ GATEHOUSE_DRAIN_MS: '0' });
    const put = await rpc(first.url, 'admin.app.put', {
      platform: 'wechat_app',
      codeName: 'life',
      config: { appId: WX, secret: 'lifecycle-secret', tokenMode: 'classic' },
    });
    expect(put.body.returnCode).to.equal(0);
    // the token row every test starts from
    expect((await rpc(first.url, 'wechat.app.token', { codeName: 'life' })).body.returnCode).to.equal(0);
    first.kill('SIGTERM');
    expect((await first.exited).code).to.equal(0);
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await fake?.stop();
    await db?.drop();
  });

  it('SIGTERM: /readyz 503 at once; /healthz, RPC and new connections are served through the window; then exit 0', async () => {
    const drainMs = 6000;
    const n = await node({ GATEHOUSE_DRAIN_MS: String(drainMs) });
    expect((await fetch(`${n.url}/readyz`)).status).to.equal(200);
    const before = await rpc(n.url, 'wechat.app.token', { codeName: 'life' });
    expect(before.body.returnCode).to.equal(0);
    expect(before.connection, 'keep-alive before the signal').to.not.equal('close');

    const signalled = Date.now();
    n.kill('SIGTERM');
    await until(async () => (await fetch(`${n.url}/readyz`)).status === 503, '/readyz to answer 503', 5_000);
    const readyz = await fetch(`${n.url}/readyz`);
    expect(readyz.status).to.equal(503);
    expect(await readyz.json()).to.deep.equal({ status: 'draining' });
    // still inside the window (the node cannot have exited before drainMs): it serves as before
    const healthz = await fetch(`${n.url}/healthz`);
    expect(healthz.status).to.equal(200);
    expect(healthz.headers.get('connection'), 'keep-alive connections are let go').to.equal('close');
    const during = await rpc(n.url, 'wechat.app.token', { codeName: 'life' });
    expect(during.status).to.equal(200);
    expect(during.body.returnCode).to.equal(0);
    expect(during.body.returnData.token).to.equal(before.body.returnData.token);
    expect(during.connection).to.equal('close');
    expect(n.alive(), 'still running when the window checks are done').to.equal(true);

    const exit = await n.exited;
    expect({ code: exit.code, signal: exit.signal }, n.output()).to.deep.equal({ code: 0, signal: null });
    expect(exit.at - signalled, 'the drain window was served out').to.be.at.least(drainMs);
    expect(await refused(n.url)).to.equal(true);
    const lines = logLines(n.output());
    expect(
      lines.find((l) => l.msg === 'shutting down: /readyz answers 503, serving on until the drain ends'),
    ).to.include({ signal: 'SIGTERM', drainMs });
  });

  it('SIGINT drains the same way; a second signal ends the drain window at once (exit 0)', async () => {
    const n = await node({ GATEHOUSE_DRAIN_MS: '600000' });
    n.kill('SIGINT');
    await until(async () => (await fetch(`${n.url}/readyz`)).status === 503, '/readyz to answer 503', 5_000);
    expect((await fetch(`${n.url}/healthz`)).status).to.equal(200);
    expect((await rpc(n.url, 'wechat.app.token', { codeName: 'life' })).body.returnCode).to.equal(0);
    n.kill('SIGINT');
    const exit = await n.exited; // without the second signal: ten minutes
    expect({ code: exit.code, signal: exit.signal }, n.output()).to.deep.equal({ code: 0, signal: null });
  });

  it('a request in flight when the window ends answers normally; no new connection is taken after it', async () => {
    const n = await node({ GATEHOUSE_DRAIN_MS: '1000' });
    await db.exec('UPDATE tokens SET expires_at = ? WHERE subject = ?', [Date.now() - 1000, WX]);
    fake.reset();
    const release = fake.hold('token');
    try {
      const inFlight = rpc(n.url, 'wechat.app.token', { codeName: 'life' });
      await until(() => fake.count('token') === 1, 'the refresh at the platform');
      n.kill('SIGTERM');
      // the window ends, the node stops listening while the request still waits on the platform
      await until(() => refused(n.url), 'new connections refused', 10_000);
      expect(n.alive()).to.equal(true);
      release();
      const answer = await inFlight;
      expect(answer.body.returnCode).to.equal(0);
      expect(fake.isLive(answer.body.returnData.token)).to.equal(true);
    } finally {
      release();
    }
    expect((await n.exited).code, n.output()).to.equal(0);
    // its refresh was written (the lease freed by the write): the stored token is the one it served
    const row = await tokenRow(WX);
    expect(row.lease_owner).to.equal(null);
    expect(fake.isLive(String(row.value))).to.equal(true);
  });

  it('the refresh leases a node holds are released when it stops: another node refreshes at once', async () => {
    const a = await node({ GATEHOUSE_DRAIN_MS: '0' });
    const b = await node({ GATEHOUSE_DRAIN_MS: '0', GATEHOUSE_BACKGROUND_REFRESH: 'false' });
    // a valid token in its refresh-ahead window: a request is served it and starts a refresh, which
    // the platform never answers — node a holds the lease when it is told to stop
    await db.exec('UPDATE tokens SET refresh_at = ?, expires_at = ? WHERE subject = ?', [
      Date.now() - 1,
      Date.now() + 120_000,
      WX,
    ]);
    fake.reset();
    fake.mode('token', 'stall');
    const served = await rpc(a.url, 'wechat.app.token', { codeName: 'life' });
    expect(served.body.returnCode).to.equal(0);
    await until(() => fake.count('token') === 1, "node a's refresh at the platform");
    const held = await tokenRow(WX);
    expect(held.lease_owner, 'node a holds the lease').to.be.a('string');
    expect(Number(held.lease_until)).to.be.greaterThan(Date.now() + 1000);

    a.kill('SIGTERM');
    const exit = await a.exited;
    expect({ code: exit.code, signal: exit.signal }, a.output()).to.deep.equal({ code: 0, signal: null });
    // the lease would have run for 15 s from the refresh's start: it is gone now
    const after = await tokenRow(WX);
    expect({ lease_owner: after.lease_owner, lease_until: after.lease_until }).to.deep.equal({
      lease_owner: null,
      lease_until: null,
    });
    expect(Number(after.version), 'the stalled refresh wrote nothing').to.equal(Number(held.version));
    expect(logLines(a.output()).find((l) => l.msg === 'refresh leases released')).to.include({ released: 1 });

    // node b (no background refresher: only a request refreshes there) finds the lease free and
    // refreshes now; a lease still held would make it serve the stored token and leave the refresh
    // to the holder, which is gone
    fake.mode('token', null);
    const viaB = await rpc(b.url, 'wechat.app.token', { codeName: 'life' });
    expect(viaB.body.returnCode).to.equal(0);
    await until(async () => Number((await tokenRow(WX)).version) === Number(held.version) + 1, "b's refresh stored");
    expect(fake.count('token')).to.equal(2);
    b.kill('SIGTERM');
    expect((await b.exited).code).to.equal(0);
  });
});
