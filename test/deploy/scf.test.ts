/**
 * Tencent SCF behind API Gateway (issue 13 item 3), with real `gatehouse serve` processes on MariaDB
 * and the fake WeChat:
 *   - GATEHOUSE_BASE_PATH: every kind of route (RPC, health, readiness, metrics, OpenRPC, a push
 *     callback, an authorization page and its redirect target, a token proxy) answers under it and
 *     404 without it;
 *   - scf_bootstrap, the Web Function entry: node dist/index.js serve on 0.0.0.0:9000 (or PORT /
 *     GATEHOUSE_PORT), the background refresher off, refused without a database URL;
 *   - GATEHOUSE_BACKGROUND_REFRESH=false: two nodes refresh nothing while idle, and a token near or
 *     past expiry is refreshed on demand with exactly one upstream call between them.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { signCaller } from '../../system/callers';
import { ConfigError, configFromEnv } from '../../system/config';
import { FakePlatform } from '../fake/platform';
import { FakeWechatTp } from '../fake/wechat-tp';
import { freePort, ROOT } from '../helpers/cli';
import { freshDatabase, requireMariadb, type TestDatabase } from '../helpers/db';
import { JWT_SECRET } from '../helpers/gatehouse';
import { logLines, spawnServe, type Proc } from '../helpers/lifecycle';
import { signedPush, xml } from '../helpers/push';
import { skipBecause } from '../helpers/skip';
import { until } from '../helpers/wait';

const BASE = '/release';
const TOKEN = signCaller(JWT_SECRET, { sub: 'scf-test', scope: '*', ttlSeconds: 3600 });
const WX = 'wxscf000000000001';
const COMPONENT = 'wxcomponentscf001';
const PUSH_TOKEN = 'scf-push-token';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const NOT_FOUND = { returnCode: 404, returnMessage: 'NOT_FOUND', returnData: '' };

const envelope = (interfaceName: string, para: unknown) => JSON.stringify({ interface: { interfaceName, para } });

async function rpcAt(url: string, interfaceName: string, para: unknown) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: envelope(interfaceName, para),
  });
  return { status: res.status, body: (await res.json()) as { returnCode: number; returnData: any } };
}

/** a copy of the repository's scf_bootstrap in a package directory whose dist/index.js runs the sources */
function scfPackage(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-scf-'));
  fs.copyFileSync(path.join(ROOT, 'scf_bootstrap'), path.join(dir, 'scf_bootstrap'));
  fs.chmodSync(path.join(dir, 'scf_bootstrap'), fs.statSync(path.join(ROOT, 'scf_bootstrap')).mode);
  fs.mkdirSync(path.join(dir, 'dist'));
  fs.writeFileSync(
    path.join(dir, 'dist', 'index.js'),
    `require(${JSON.stringify(require.resolve('tsx/cjs'))});\nrequire(${JSON.stringify(path.join(ROOT, 'index.ts'))});\n`,
  );
  return dir;
}

/** PATH with this node first: scf_bootstrap takes the node on PATH when SCF's is not there */
const PATH = `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

describe('GATEHOUSE_BASE_PATH and GATEHOUSE_BACKGROUND_REFRESH: their values', () => {
  const oneLine = (env: Record<string, string>, name: string) =>
    expect(() => configFromEnv(env), JSON.stringify(env))
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(new RegExp(`^${name}: [^\\n]+$`));

  it('a base path is empty by default, else /segments without a trailing slash', () => {
    expect(configFromEnv({}).basePath).to.equal('');
    expect(configFromEnv({ GATEHOUSE_BASE_PATH: '' }).basePath).to.equal('');
    expect(configFromEnv({ GATEHOUSE_BASE_PATH: '/release' }).basePath).to.equal('/release');
    expect(configFromEnv({ GATEHOUSE_BASE_PATH: '/api/gate_house-1.v~2' }).basePath).to.equal('/api/gate_house-1.v~2');
    for (const bad of [
      'release',
      '/',
      '/release/',
      '//release',
      '/a//b',
      '/re lease',
      '/a/../b',
      '/./a',
      '/r?x',
      '/r%20',
    ])
      oneLine({ GATEHOUSE_BASE_PATH: bad }, 'GATEHOUSE_BASE_PATH');
  });

  it('the background refresher is on by default; true / false and their spellings; anything else refused', () => {
    expect(configFromEnv({}).backgroundRefresh).to.equal(true);
    for (const v of ['false', '0', 'no', 'off', 'FALSE'])
      expect(configFromEnv({ GATEHOUSE_BACKGROUND_REFRESH: v }).backgroundRefresh, v).to.equal(false);
    for (const v of ['true', '1', 'yes', 'on'])
      expect(configFromEnv({ GATEHOUSE_BACKGROUND_REFRESH: v }).backgroundRefresh, v).to.equal(true);
    oneLine({ GATEHOUSE_BACKGROUND_REFRESH: 'sometimes' }, 'GATEHOUSE_BACKGROUND_REFRESH');
  });
});

describe('Tencent SCF and API Gateway', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  const procs: Proc[] = [];
  const dirs: string[] = [];
  let env: Record<string, string>;

  before(async function () {
    await requireMariadb(this);
    db = await freshDatabase('mariadb');
    fake = await new FakePlatform().start();
    wx = new FakeWechatTp(fake);
    fake.app(WX, 'scf-secret');
    fake.app(COMPONENT, 'component-secret');
    env = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_WECHAT_API: fake.url,
      GATEHOUSE_WECHAT_MP: fake.url,
      GATEHOUSE_LOG_LEVEL: 'info',
      GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
      GATEHOUSE_DRAIN_MS: '0',
      // a loaded machine must not turn a slow answer into a timeout and a retry (a second call)
      GATEHOUSE_UPSTREAM_TIMEOUT_MS: '15000',
    };
  });
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await fake?.stop();
    await db?.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** starts scf_bootstrap from a package directory with these variables (and PATH), ready on readyPath */
  const bootstrap = async (vars: Record<string, string>, port: string, readyPath = `${BASE}/readyz`) => {
    const dir = scfPackage();
    dirs.push(dir);
    const p = await spawnServe(
      { PATH, ...vars },
      { cmd: path.join(dir, 'scf_bootstrap'), args: [], cwd: os.tmpdir(), port, readyPath },
    );
    procs.push(p);
    return p;
  };

  describe('every route under GATEHOUSE_BASE_PATH', () => {
    let node: Proc;
    let base: string;

    before(async () => {
      const port = freePort();
      node = await spawnServe(
        {
          ...env,
          GATEHOUSE_HOST: '127.0.0.1',
          GATEHOUSE_PORT: port,
          GATEHOUSE_BASE_PATH: BASE,
          GATEHOUSE_PUBLIC_URL: `https://gh.example.com${BASE}`,
        },
        { readyPath: `${BASE}/readyz` },
      );
      procs.push(node);
      base = `${node.url}${BASE}`;
      for (const [platform, codeName, config] of [
        ['wechat_app', 'shop', { appId: WX, secret: 'scf-secret', tokenMode: 'classic' }],
        [
          'wechat_tp',
          'tp',
          {
            appId: COMPONENT,
            secret: 'component-secret',
            token: PUSH_TOKEN,
            aesKey: AES,
            redirectUrl: 'https://admin.example.com/done',
          },
        ],
      ] as const) {
        expect((await rpcAt(`${base}/`, 'admin.app.put', { platform, codeName, config })).body.returnCode).to.equal(0);
      }
    });

    // its background refresher must not renew the token the on-demand tests below make due
    after(async () => {
      node?.kill('SIGTERM');
      expect((await node?.exited)?.code).to.equal(0);
    });

    it('the RPC endpoint: /release, /release/, /release/mina_auth, /release/mina_auth/; the bare paths are 404', async () => {
      for (const p of ['', '/', '/mina_auth', '/mina_auth/']) {
        const r = await rpcAt(`${base}${p}`, 'wechat.app.token', { codeName: 'shop' });
        expect(r.status, p).to.equal(200);
        expect(r.body.returnCode, p).to.equal(0);
        expect(fake.isLive(r.body.returnData.token), p).to.equal(true);
      }
      for (const p of ['/', '/mina_auth', '/mina_auth/']) {
        const r = await rpcAt(`${node.url}${p}`, 'wechat.app.token', { codeName: 'shop' });
        expect({ status: r.status, body: r.body }, p).to.deep.equal({ status: 404, body: NOT_FOUND });
      }
      // an RPC method check still answers as at the root
      const get = await fetch(`${base}/mina_auth`);
      expect(get.status).to.equal(405);
    });

    it('health, readiness, metrics and the OpenRPC document answer under it, 404 without it', async () => {
      const healthz = await fetch(`${base}/healthz`);
      expect(healthz.status).to.equal(200);
      expect(await healthz.json()).to.deep.equal({ status: 'ok' });
      const readyz = await fetch(`${base}/readyz`);
      expect(readyz.status).to.equal(200);
      expect(await readyz.json()).to.deep.equal({ status: 'ok' });
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).to.equal(200);
      expect(await metrics.text()).to.include('gatehouse_rpc_requests_total{interface="wechat.app.token",code="0"}');
      const openrpc = await fetch(`${base}/openrpc.json`);
      expect(openrpc.status).to.equal(200);
      expect(((await openrpc.json()) as { methods: { name: string }[] }).methods.map((m) => m.name)).to.include(
        'wechat.app.token',
      );
      for (const p of ['/healthz', '/readyz', '/metrics', '/openrpc.json', '/releasex/healthz', '/RELEASE/healthz']) {
        const r = await fetch(`${node.url}${p}`);
        expect(r.status, p).to.equal(404);
        expect(await r.json(), p).to.deep.equal(NOT_FOUND);
      }
      expect((await fetch(`${base}/nope`)).status).to.equal(404);
    });

    it('a push callback is taken under it (the ticket stored), and 404 without it (nothing stored)', async () => {
      const push = (ticket: string, createTime: number, at: string) => {
        wx.acceptTicket(COMPONENT, ticket);
        const p = signedPush(
          PUSH_TOKEN,
          AES,
          COMPONENT,
          xml({
            AppId: COMPONENT,
            CreateTime: createTime,
            InfoType: 'component_verify_ticket',
            ComponentVerifyTicket: ticket,
          }),
        );
        return fetch(`${at}/wechat-tp/tp/events?${p.query}`, {
          method: 'POST',
          body: p.body,
          headers: { 'content-type': 'text/xml' },
        });
      };
      const bare = await push('ticket@@@bare', 2000, node.url);
      expect(bare.status).to.equal(404);
      expect(await db.query('SELECT value FROM tickets WHERE app_id = ?', [COMPONENT])).to.deep.equal([]);
      const taken = await push('ticket@@@scf', 1000, base);
      expect({ status: taken.status, text: await taken.text() }).to.deep.equal({ status: 200, text: 'success' });
      expect(await db.query('SELECT value FROM tickets WHERE app_id = ?', [COMPONENT])).to.deep.equal([
        { value: 'ticket@@@scf' },
      ]);
    });

    it('an authorization page and its redirect target: GATEHOUSE_PUBLIC_URL with the base path leads back under it', async () => {
      expect((await fetch(`${node.url}/wechat-tp/tp/authorize?mode=scan`)).status).to.equal(404);
      const page = await fetch(`${base}/wechat-tp/tp/authorize?mode=scan`);
      expect(page.status).to.equal(200);
      const target = /href="([^"]+)"/.exec(await page.text())![1].replace(/&amp;/g, '&');
      expect(target.startsWith(`${fake.url}/cgi-bin/componentloginpage?`)).to.equal(true);
      const login = await (await fetch(target)).text();
      const approve = new URL(
        /id="approve" href="([^"]+)"/
          .exec(login)![1]
          .replace(/&quot;/g, '"')
          .replace(/&amp;/g, '&'),
      );
      expect(`${approve.origin}${approve.pathname}`).to.equal(`https://gh.example.com${BASE}/wechat-tp/tp/authorized`);
      // the same redirect without the base path is not a route
      const stripped = approve.pathname.slice(BASE.length);
      expect((await fetch(`${node.url}${stripped}${approve.search}`, { redirect: 'manual' })).status).to.equal(404);
      const done = await fetch(`${node.url}${approve.pathname}${approve.search}`, { redirect: 'manual' });
      expect(done.status).to.equal(302);
      expect(new URL(done.headers.get('location')!).origin + new URL(done.headers.get('location')!).pathname).to.equal(
        'https://admin.example.com/done',
      );
      expect(await db.query('SELECT authorizer_id FROM authorizers')).to.deep.equal([{ authorizer_id: wx.approveAs }]);
    });

    it('a token proxy forwards the path below /release/proxy/…/{codeName}; 404 without the base path', async () => {
      const headers = { authorization: `Bearer ${TOKEN}` };
      const bare = await fetch(`${node.url}/proxy/wechat-app/shop/cgi-bin/ticket/getticket?type=jsapi`, { headers });
      expect(bare.status).to.equal(404);
      fake.reset();
      const res = await fetch(`${base}/proxy/wechat-app/shop/cgi-bin/ticket/getticket?type=jsapi`, { headers });
      expect(res.status).to.equal(200);
      const body = (await res.json()) as { errcode: number; ticket: string };
      // the fake answers getticket only with a live app token of that app in the query
      expect(body.errcode).to.equal(0);
      expect(fake.isLive(body.ticket, 'TKjsapi', WX)).to.equal(true);
      expect(fake.count('getticket', WX)).to.equal(1);
      expect(fake.count('unknown')).to.equal(0);
    });
  });

  describe('scf_bootstrap', () => {
    it('is an executable bash script with LF line ends that execs node dist/index.js serve', () => {
      const file = path.join(ROOT, 'scf_bootstrap');
      expect(fs.statSync(file).mode & 0o111, 'executable').to.equal(0o111);
      const text = fs.readFileSync(file, 'utf8');
      expect(text.split('\n')[0]).to.equal('#!/bin/bash');
      expect(text).to.not.include('\r');
      expect(text.endsWith('\n')).to.equal(true);
      expect(text).to.match(/^exec "\$NODE" dist\/index\.js serve$/m);
      expect(spawnSync('bash', ['-n', file]).status, 'bash -n').to.equal(0);
    });

    it('refuses to start without GATEHOUSE_DATABASE_URL: one line naming it, exit 1', () => {
      const dir = scfPackage();
      dirs.push(dir);
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
      const r = spawnSync(path.join(dir, 'scf_bootstrap'), [], { env: { ...clean, PATH }, encoding: 'utf8' });
      expect(r.status).to.equal(1);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(/^GATEHOUSE_DATABASE_URL: /);
    });

    it('listens on 0.0.0.0:9000, refresher off, no drain window; the signal reaches node (exit 0)', async function () {
      if (!(await portFree(9000))) skipBecause(this, 'port 9000 is in use on this machine');
      const { GATEHOUSE_DRAIN_MS: _drain, ...defaults } = env;
      void _drain;
      const p = await bootstrap(defaults, '9000', '/readyz');
      const line = logLines(p.output()).find((l) => String(l.msg).startsWith('gatehouse listening'));
      expect(line).to.include({
        host: '0.0.0.0',
        port: 9000,
        address: 'http://0.0.0.0:9000',
        backgroundRefresh: false,
      });
      expect(String(line!.msg)).to.include('background refresh off');
      p.kill('SIGTERM'); // to the script's pid: exec made it node's
      const exit = await p.exited;
      expect({ code: exit.code, signal: exit.signal }, p.output()).to.deep.equal({ code: 0, signal: null });
      expect(logLines(p.output()).find((l) => String(l.msg).startsWith('shutting down'))).to.include({
        signal: 'SIGTERM',
        drainMs: 0,
      });
    });

    it('PORT moves it, GATEHOUSE_PORT wins over PORT; a base path shows in the start-up line', async () => {
      const [port, other] = [freePort(), freePort()];
      const viaPort = await bootstrap({ ...env, PORT: port, GATEHOUSE_BASE_PATH: BASE }, port);
      expect(logLines(viaPort.output()).find((l) => String(l.msg).startsWith('gatehouse listening'))).to.include({
        address: `http://0.0.0.0:${port}${BASE}`,
      });
      viaPort.kill('SIGTERM');
      expect((await viaPort.exited).code).to.equal(0);
      const both = await bootstrap({ ...env, PORT: other, GATEHOUSE_PORT: port, GATEHOUSE_BASE_PATH: BASE }, port);
      expect((await fetch(`http://127.0.0.1:${port}${BASE}/healthz`)).status).to.equal(200);
      await fetch(`http://127.0.0.1:${other}${BASE}/healthz`).then(
        () => expect.fail(`something answers on PORT ${other}`),
        () => undefined,
      );
      both.kill('SIGTERM');
      expect((await both.exited).code).to.equal(0);
    });
  });

  describe('GATEHOUSE_BACKGROUND_REFRESH=false: two SCF instances on one MariaDB refresh on demand', () => {
    let nodes: Proc[];
    const urls = () => nodes.map((n) => `${n.url}${BASE}/`);
    const row = async () =>
      (
        await db.query(
          'SELECT value, version, expires_at, refresh_at, lease_owner FROM tokens WHERE subject = ? AND kind = ?',
          [WX, 'access_token'],
        )
      )[0];
    /** n calls spread over both instances; every answer must be a live token */
    const storm = async (n: number) => {
      const all = await Promise.all(
        Array.from({ length: n }, (_, i) => rpcAt(urls()[i % 2], 'wechat.app.token', { codeName: 'shop' })),
      );
      expect(all.filter((r) => r.body.returnCode !== 0)).to.deep.equal([]);
      return new Set(all.map((r) => String(r.body.returnData.token)));
    };
    /** long enough for the instances' token caches (3 s) to see the stored row again */
    const caches = () => new Promise((r) => setTimeout(r, 3200));

    before(async () => {
      // scf_bootstrap turns the refresher off; a scan every 100 ms would show at once if it ran
      const vars = { ...env, GATEHOUSE_BASE_PATH: BASE, GATEHOUSE_REFRESH_SCAN_MS: '100' };
      const [p1, p2] = [freePort(), freePort()];
      nodes = await Promise.all([
        bootstrap({ ...vars, GATEHOUSE_PORT: p1 }, p1),
        bootstrap({ ...vars, GATEHOUSE_PORT: p2 }, p2),
      ]);
      for (const n of nodes)
        expect(logLines(n.output()).find((l) => String(l.msg).startsWith('gatehouse listening'))).to.include({
          backgroundRefresh: false,
        });
      // the token as the earlier tests left it: valid, fetched once
      await storm(10);
    });

    it('idle, nothing is refreshed, even a token due for refresh (a node with the refresher would)', async () => {
      fake.reset();
      await db.exec('UPDATE tokens SET refresh_at = ?, expires_at = ? WHERE subject = ? AND kind = ?', [
        Date.now() - 1,
        Date.now() + 120_000,
        WX,
        'access_token',
      ]);
      const before = await row();
      await caches();
      expect(fake.count('token'), 'no upstream call while idle').to.equal(0);
      expect(await row()).to.deep.equal(before);
      // the control: the same instance with the refresher on renews it by itself
      const port = freePort();
      const control = await bootstrap(
        {
          ...env,
          GATEHOUSE_BASE_PATH: BASE,
          GATEHOUSE_REFRESH_SCAN_MS: '100',
          GATEHOUSE_BACKGROUND_REFRESH: 'true',
          GATEHOUSE_PORT: port,
        },
        port,
      );
      await until(
        async () => Number((await row()).version) === Number(before.version) + 1,
        'the control refresh',
        20_000,
      );
      expect(fake.count('token')).to.equal(1);
      control.kill('SIGTERM');
      expect((await control.exited).code).to.equal(0);
    });

    it('near expiry: 600 calls over both instances are served the stored token and make exactly 1 refresh', async () => {
      await db.exec('UPDATE tokens SET refresh_at = ?, expires_at = ? WHERE subject = ? AND kind = ?', [
        Date.now() - 1,
        Date.now() + 60_000,
        WX,
        'access_token',
      ]);
      const before = await row();
      await caches();
      fake.reset();
      // the platform holds the refresh until the storm is over: no call can have waited for it
      const release = fake.hold('token');
      let tokens: Set<string>;
      try {
        tokens = await storm(600);
        await until(() => fake.count('token') === 1, 'the one refresh at the platform', 30_000);
        expect(fake.inFlight('token')).to.equal(1);
      } finally {
        release();
      }
      expect([...tokens]).to.deep.equal([String(before.value)]);
      await until(
        async () => Number((await row()).version) === Number(before.version) + 1,
        'the refresh stored',
        30_000,
      );
      const after = await row();
      expect(fake.isLive(String(after.value))).to.equal(true);
      expect(after.lease_owner).to.equal(null);
      // both instances then serve the new token, and nothing more is fetched
      await caches();
      expect([...(await storm(200))]).to.deep.equal([String(after.value)]);
      expect(fake.count('token')).to.equal(1);
    });

    it('expired: 600 calls over both instances wait for exactly 1 refresh and get its token', async () => {
      await db.exec('UPDATE tokens SET expires_at = ? WHERE subject = ? AND kind = ?', [
        Date.now() - 1000,
        WX,
        'access_token',
      ]);
      await caches();
      fake.reset();
      fake.latencyMs = 300;
      let tokens: Set<string>;
      try {
        tokens = await storm(600);
      } finally {
        fake.latencyMs = 0;
      }
      expect(fake.count('token')).to.equal(1);
      expect(tokens.size).to.equal(1);
      expect(fake.isLive([...tokens][0])).to.equal(true);
    });
  });
});
