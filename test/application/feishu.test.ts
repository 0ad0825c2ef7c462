import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { decryptEvent, eventSignature } from '../../application/platforms/feishu/crypt';
import { jssdkSignature } from '../../application/services/crypto/jssdk';
import { FakeFeishu } from '../fake/feishu';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { Rng } from '../helpers/rng';
import { until } from '../helpers/wait';

const APP = 'cli_a1b2c3d4e5f60001';
const SECRET = 'feishu-self-built-secret';

describe('Feishu crypto (vectors)', () => {
  it("decrypts Feishu's published event vector: key `test key`", () => {
    expect(decryptEvent('test key', 'P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=')).to.equal('hello world');
  });

  it('X-Lark-Signature: sha256 hex of timestamp + nonce + encrypt key + body', () => {
    // computed independently: python3 hashlib.sha256(b'1700000000' b'nonce-1' b'test key' + body).hexdigest()
    const body = '{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}';
    expect(eventSignature('1700000000', 'nonce-1', 'test key', body)).to.equal(
      '002a272a435d056759149cce18e88064ff320d38d91a09432445c344c4296949',
    );
  });

  it("JSSDK signature: the documentation's example (timestamp in ms), sha1 computed with python3 hashlib", () => {
    expect(
      jssdkSignature(
        '617bf955832a4d4d80d9d8d85917a427',
        'Y7a8KkqX041bsSwT',
        1510045655000,
        'https://m.haiwainet.cn/ttc/3541093/2018/0509/content_31312407_1.html',
      ),
    ).to.equal('2ee6a79c182eeec8d76e7474136edb6e617b8d58');
  });
});

forEachDialect('Feishu self-built apps', (dialect) => {
  let fake: FakePlatform;
  let feishu: FakeFeishu;
  let node: TestNode;
  let tok: string;
  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para, tok);
  const token = (para: Record<string, unknown> = {}) => rpc('feishu.app.token', { codeName: 'fs', ...para });

  before(async () => {
    fake = await new FakePlatform().start();
    feishu = new FakeFeishu(fake);
    feishu.app(APP, SECRET);
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    fake.lifetimeS = 7200;
    fake.latencyMs = 0;
    // Feishu hands out the token it holds while it has 30 min left: each test starts without one
    fake.expireAll();
    for (const api of ['tenant_access_token_internal', 'app_access_token_internal', 'jssdk_ticket_get'])
      fake.mode(`feishu_${api}`, null);
    node = await startNode({
      dialect,
      fake,
      env: { GATEHOUSE_FEISHU_API: fake.url, GATEHOUSE_FEISHU_LARK: fake.url, GATEHOUSE_REFRESH_SCAN_MS: '100' },
    });
    tok = node.token('feishu.* admin.*');
    const put = await rpc('admin.app.put', {
      platform: 'feishu_app',
      codeName: 'fs',
      config: { appId: APP, appSecret: SECRET, kind: 'self_built' },
    });
    expect(put.returnCode).to.equal(0);
    fake.reset();
  });
  afterEach(async () => node?.close());

  it('200 concurrent cold calls make 1 upstream call; tenant (default) and app tokens are apart', async () => {
    fake.latencyMs = 150;
    const all = await Promise.all(Array.from({ length: 200 }, () => token()));
    fake.latencyMs = 0;
    expect(fake.count('feishu_tenant_access_token_internal')).to.equal(1);
    expect(all.every((r) => r.returnCode === 0)).to.equal(true);
    expect(new Set(all.map((r) => r.returnData.token)).size).to.equal(1);
    const r = all[0].returnData;
    expect(Object.keys(r).sort()).to.deep.equal(['appId', 'expiresAt', 'kind', 'token']);
    expect(r).to.include({ appId: APP, kind: 'tenant' });
    expect(fake.isLive(r.token, 'FTEN', APP)).to.equal(true);
    expect(r.expiresAt).to.be.closeTo(Math.floor(Date.now() / 1000) + 7200, 5);
    const app = await Promise.all(Array.from({ length: 50 }, () => token({ kind: 'app' })));
    expect(fake.count('feishu_app_access_token_internal')).to.equal(1);
    expect(fake.isLive(app[0].returnData.token, 'FAPP', APP)).to.equal(true);
    expect(app[0].returnData.kind).to.equal('app');
    const rows = await node.db.query('SELECT platform, subject, kind FROM tokens ORDER BY kind');
    expect(rows.map((x) => `${x.platform} ${x.subject} ${x.kind}`)).to.deep.equal([
      `feishu_app ${APP} app_access_token`,
      `feishu_app ${APP} tenant_access_token`,
    ]);
  });

  it('force at most once per 30 s, invalidToken compare-and-refreshes only the current token', async () => {
    const first = (await token()).returnData.token;
    // Feishu hands out the same token while it has 30 min left: expire it at the fake first
    fake.expireAll();
    const forced = (await token({ force: true })).returnData.token;
    expect(forced).to.not.equal(first);
    expect((await token({ force: true })).returnData.token).to.equal(forced);
    expect((await token({ invalidToken: 'older' })).returnData.token).to.equal(forced);
    expect(fake.count('feishu_tenant_access_token_internal')).to.equal(2);
  });

  it('serves a stored token through an outage; credential errors answered, not retried', async () => {
    const first = (await token()).returnData.token;
    fake.mode('feishu_tenant_access_token_internal', { http: 503 });
    const res = await token({ force: true });
    expect(res.returnCode).to.equal(0);
    expect(res.returnData.token).to.equal(first);
    fake.mode('feishu_tenant_access_token_internal', 'stall');
    expect((await token({ force: true })).returnData.token).to.equal(first);
    fake.mode('feishu_tenant_access_token_internal', null);
    await rpc('admin.app.put', {
      platform: 'feishu_app',
      codeName: 'bad',
      config: { appId: 'cli_bad0000000000001', appSecret: 'x', kind: 'self_built' },
    });
    const bad = await rpc('feishu.app.token', { codeName: 'bad' });
    expect(bad.returnCode).to.equal(40029);
    expect(bad.returnData).to.deep.equal({ platform: 'feishu', errcode: 10003, errmsg: 'invalid app_id' });
  });

  it('refreshes ahead in the background: no request waits on Feishu', async () => {
    fake.lifetimeS = 6;
    const seen = new Set<string>();
    const until = Date.now() + 7000;
    while (Date.now() < until) {
      const r = await token();
      expect(r.returnCode).to.equal(0);
      expect(fake.isLive(r.returnData.token), 'served token is live').to.equal(true);
      seen.add(r.returnData.token);
      await new Promise((res) => setTimeout(res, 100));
    }
    const stats = node.gh.services.engine.stats;
    expect(stats.cold).to.equal(1);
    expect(stats.ahead).to.be.at.least(2);
    expect(seen.size).to.be.at.least(2);
  });

  it('jsapi ticket from the tenant token; jsconfig signs the page (timestamp in ms); a dead tenant token is compare-and-refreshed', async () => {
    const t = await rpc('feishu.app.ticket', { codeName: 'fs' });
    expect(t.returnCode).to.equal(0);
    expect(fake.isLive(t.returnData.ticket, 'FTK', APP)).to.equal(true);
    const url = 'https://h5.example.com/page?x=1#/route';
    const c = (await rpc('feishu.app.jsconfig', { codeName: 'fs', url })).returnData;
    expect(c.appId).to.equal(APP);
    expect(c.timestamp).to.be.closeTo(Date.now(), 5000);
    expect(c.signature).to.equal(
      crypto
        .createHash('sha1')
        .update(
          `jsapi_ticket=${t.returnData.ticket}&noncestr=${c.nonceStr}&timestamp=${c.timestamp}&url=${url.split('#')[0]}`,
        )
        .digest('hex'),
    );
    // the tenant token dies at Feishu: the ticket refresh meets 99991663, renews it, and tries once more
    fake.expireAll();
    fake.reset();
    const again = await rpc('feishu.app.ticket', { codeName: 'fs', force: true });
    expect(again.returnCode).to.equal(0);
    expect(fake.isLive(again.returnData.ticket, 'FTK', APP)).to.equal(true);
    expect(fake.count('feishu_jssdk_ticket_get')).to.equal(2);
    expect(fake.count('feishu_tenant_access_token_internal')).to.equal(1);
  });

  it('code2session: mini-program and H5 codes → open_id, union_id, tenant_key', async () => {
    const user = { openId: 'ou_1', unionId: 'on_1', tenantKey: 'tk_1' };
    const mini = await rpc('feishu.app.code2session', { codeName: 'fs', code: feishu.code(APP, user) });
    expect(mini.returnCode).to.equal(0);
    expect(mini.returnData).to.include({ openId: 'ou_1', unionId: 'on_1', tenantKey: 'tk_1' });
    expect(mini.returnData.sessionKey).to.be.a('string');
    const h5 = await rpc('feishu.app.code2session', { codeName: 'fs', code: feishu.code(APP, user), type: 'h5' });
    expect(h5.returnData).to.deep.equal({ openId: 'ou_1', unionId: 'on_1', tenantKey: 'tk_1', userId: 'u1' });
    const used = await rpc('feishu.app.code2session', { codeName: 'fs', code: 'fc_nope' });
    expect(used.returnData).to.include({ platform: 'feishu', errcode: 20003 });
    expect(fake.count('feishu_app_access_token_internal')).to.equal(1);
  });

  it('bad input: a tenantKey for a self-built app or kind app → 1003, unknown app 1012, scope and claim 4003', async () => {
    expect((await token({ tenantKey: 'tk1' })).returnCode).to.equal(1003);
    expect((await token({ kind: 'app', tenantKey: 'tk1' })).returnCode).to.equal(1003);
    expect((await token({ kind: 'user' })).returnCode).to.equal(1003);
    expect((await rpc('feishu.app.token', { codeName: 'nope' })).returnCode).to.equal(1012);
    expect((await node.rpc('feishu.app.token', { codeName: 'fs' }, node.token('wecom.*'))).returnCode).to.equal(4003);
    expect((await node.rpc('feishu.app.token', { codeName: 'fs' }, node.token('feishu.*', ['x']))).returnCode).to.equal(
      4003,
    );
    expect((await node.rpc('feishu.app.token', { codeName: 'fs' }, node.token('feishu.*', [APP]))).returnCode).to.equal(
      0,
    );
    expect(
      (
        await rpc('admin.app.put', {
          platform: 'feishu_app',
          codeName: 'x',
          config: { appId: 'wx1', appSecret: 's', kind: 'store' },
        })
      ).returnCode,
    ).to.equal(1003);
  });

  it('proxy: Bearer tenant token added (the caller’s own Authorization never forwarded); 99991663 → refresh and one retry', async () => {
    const caller = node.token('proxy.feishu_app');
    const call = (path: string, init: RequestInit = {}, t: string | null = caller) =>
      fetch(`${node.url}${path}`, {
        ...init,
        headers: { ...(t ? { authorization: `Bearer ${t}` } : {}), ...init.headers },
      });
    const res = await call('/proxy/feishu/fs/open-apis/im/v1/chats?page_size=20', {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).to.equal(200);
    expect(body.data).to.include({ owner: APP, method: 'POST', query: '?page_size=20', body: '{"a":1}' });
    const current = (await token()).returnData.token;
    fake.expireAll();
    fake.reset();
    const retried = await call('/proxy/feishu/fs/open-apis/im/v1/chats');
    expect(retried.status).to.equal(200);
    expect(fake.count('feishu_chats')).to.equal(2);
    expect(fake.count('feishu_tenant_access_token_internal')).to.equal(1);
    expect((await token()).returnData.token).to.not.equal(current);
    // the app token route
    const app = await call('/proxy/feishu-app/fs/open-apis/im/v1/chats');
    // Feishu's answer for an app token on a tenant API (HTTP 400, 99991663), relayed as it came
    expect(app.status).to.equal(400);
    expect(((await app.json()) as any).code).to.equal(99991663);
    expect((await call('/proxy/feishu/fs/open-apis/im/v1/chats', {}, null)).status).to.equal(401);
    expect((await call('/proxy/feishu/fs/open-apis/im/v1/chats', {}, node.token('proxy.wecom_corp'))).status).to.equal(
      403,
    );
    expect((await call('/proxy/feishu/fs/tk1/open-apis/im/v1/chats')).status).to.equal(400);
    expect((await call('/proxy/feishu/nope/open-apis/im/v1/chats')).status).to.equal(404);
    expect((await call('/proxy/feishu/fs/open-apis/..%2f..%2fx')).status).to.equal(400);
  });

  it('two nodes on one store: 200 concurrent cold calls across them → 1 Feishu call; token list and metrics name it', async () => {
    const other = await startNode({
      dialect,
      fake,
      db: node.db,
      env: { GATEHOUSE_FEISHU_API: fake.url, GATEHOUSE_FEISHU_LARK: fake.url },
    });
    try {
      const tok2 = other.token('feishu.*');
      fake.latencyMs = 150;
      const all = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          i % 2 ? other.rpc('feishu.app.token', { codeName: 'fs' }, tok2) : token(),
        ),
      );
      fake.latencyMs = 0;
      expect(all.every((r) => r.returnCode === 0)).to.equal(true);
      expect(new Set(all.map((r) => r.returnData.token)).size).to.equal(1);
      expect(fake.count('feishu_tenant_access_token_internal')).to.equal(1);
      // each node counts its own platform calls: together, the one call
      const series = new RegExp(
        `^gatehouse_upstream_requests_total\\{platform="feishu",api="tenant_access_token_internal",errcode="0"\\} (\\d+)$`,
        'm',
      );
      const counted = async (n: TestNode) =>
        Number(series.exec(await (await fetch(`${n.url}/metrics`)).text())?.[1] ?? 0);
      expect((await counted(node)) + (await counted(other))).to.equal(1);
    } finally {
      await other.close();
    }
    const list = (await rpc('admin.token.list', { platform: 'feishu_app' })).returnData.tokens;
    expect(list.map((t: any) => `${t.codeName} ${t.subject} ${t.kind}`)).to.deep.equal([
      `fs ${APP} tenant_access_token`,
    ]);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).to.include('gatehouse_token_expires_in_seconds{platform="feishu_app"');
  });

  for (const larkVar of ['GATEHOUSE_FEISHU_LARK', 'GATEHOUSE_LARK_API'])
    it(`domain "lark": tokens and proxied calls go to ${larkVar}, never to the Feishu host`, async () => {
      const lark = await startNode({
        dialect,
        // the Feishu host is a closed port: a call that went there would fail
        env: { GATEHOUSE_FEISHU_API: 'http://127.0.0.1:9', [larkVar]: fake.url },
      });
      try {
        const t = lark.token('feishu.* admin.* proxy.feishu_app');
        const put = await lark.rpc(
          'admin.app.put',
          {
            platform: 'feishu_app',
            codeName: 'lk',
            config: { appId: APP, appSecret: SECRET, kind: 'self_built', domain: 'lark' },
          },
          t,
        );
        expect(put.returnCode).to.equal(0);
        const r = await lark.rpc('feishu.app.token', { codeName: 'lk' }, t);
        expect(r.returnCode).to.equal(0);
        expect(fake.isLive(r.returnData.token, 'FTEN', APP)).to.equal(true);
        const res = await fetch(`${lark.url}/proxy/feishu/lk/open-apis/im/v1/chats`, {
          headers: { authorization: `Bearer ${t}` },
        });
        expect(res.status).to.equal(200);
        expect(((await res.json()) as any).data.owner).to.equal(APP);
      } finally {
        await lark.close();
      }
    });

  it('never logs a token, ticket or secret', async () => {
    const values = [
      (await token()).returnData.token,
      (await token({ kind: 'app' })).returnData.token,
      (await rpc('feishu.app.ticket', { codeName: 'fs' })).returnData.ticket,
    ];
    const log = fs.readFileSync(node.logFile, 'utf8');
    expect(log).to.include('feishu.app.ticket');
    for (const v of [...values, SECRET]) expect(log).to.not.include(v);
  });
});

const STORE = 'cli_store000000000001';
const STORE_SECRET = 'feishu-store-app-secret';
const EK = 'feishu-encrypt-key-store';
const VT = 'feishu-verification-token-store';

/** Feishu's event encryption, written here from the published description (the vector above pins gatehouse's) */
function encryptEvent(key: string, plain: string): string {
  const k = crypto.createHash('sha256').update(key).digest();
  const iv = crypto.randomBytes(16);
  const c = crypto.createCipheriv('aes-256-cbc', k, iv);
  return Buffer.concat([iv, c.update(plain, 'utf8'), c.final()]).toString('base64');
}

forEachDialect('Feishu store apps and the events route', (dialect) => {
  let fake: FakePlatform;
  let feishu: FakeFeishu;
  let node: TestNode;
  let tok: string;
  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para, tok);
  const token = (para: Record<string, unknown> = {}) => rpc('feishu.app.token', { codeName: 'st', ...para });

  /** POSTs an event to /feishu/{codeName}/events: encrypted with `key` and signed (unless told otherwise) */
  async function post(
    event: Record<string, unknown> | string,
    opts: { codeName?: string; key?: string | null; sign?: boolean | string; signKey?: string } = {},
  ) {
    const plain = typeof event === 'string' ? event : JSON.stringify(event);
    const key = opts.key === undefined ? EK : opts.key;
    const body = key === null ? plain : JSON.stringify({ encrypt: encryptEvent(key, plain) });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (opts.sign !== false) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = crypto.randomBytes(6).toString('hex');
      const signKey = opts.signKey ?? key ?? '';
      headers['x-lark-request-timestamp'] = timestamp;
      headers['x-lark-request-nonce'] = nonce;
      headers['x-lark-signature'] =
        typeof opts.sign === 'string'
          ? opts.sign
          : crypto
              .createHash('sha256')
              .update(timestamp + nonce + signKey + body)
              .digest('hex');
    }
    const res = await fetch(`${node.url}/feishu/${opts.codeName ?? 'st'}/events`, { method: 'POST', body, headers });
    return { status: res.status, text: await res.text() };
  }
  const v1 = (event: Record<string, unknown>, ts = Date.now() / 1000) => ({
    ts: String(ts),
    uuid: crypto.randomUUID(),
    token: VT,
    type: 'event_callback',
    event: { app_id: STORE, ...event },
  });
  const ticketEvent = (ticket: string, ts?: number) => v1({ type: 'app_ticket', app_ticket: ticket }, ts);
  const pushes = async () => (await rpc('admin.push.list', { platform: 'feishu_app' })).returnData.pushes as any[];

  before(async () => {
    fake = await new FakePlatform().start();
    feishu = new FakeFeishu(fake);
    feishu.app(STORE, STORE_SECRET, true);
    feishu.app(APP, SECRET);
    feishu.install(STORE, 'tk1');
    feishu.install(STORE, 'tk2');
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    fake.latencyMs = 0;
    fake.expireAll();
    node = await startNode({
      dialect,
      fake,
      env: { GATEHOUSE_FEISHU_API: fake.url, GATEHOUSE_FEISHU_LARK: fake.url, GATEHOUSE_REFRESH_SCAN_MS: '100' },
    });
    tok = node.token('feishu.* admin.*');
    const put = await rpc('admin.app.put', {
      platform: 'feishu_app',
      codeName: 'st',
      config: { appId: STORE, appSecret: STORE_SECRET, kind: 'store', encryptKey: EK, verificationToken: VT },
    });
    expect(put.returnCode).to.equal(0);
    fake.reset();
  });
  afterEach(async () => node?.close());

  it('url_verification: answered once it decrypts and carries the verification token; unsigned is enough for it alone', async () => {
    const ok = await post({ challenge: 'ch-123', token: VT, type: 'url_verification' }, { sign: false });
    expect(ok).to.deep.equal({ status: 200, text: '{"challenge":"ch-123"}' });
    expect((await post({ challenge: 'c', token: 'wrong', type: 'url_verification' }, { sign: false })).status).to.equal(
      403,
    );
    // not encrypted although the app has an encrypt key
    expect(
      (await post({ challenge: 'c', token: VT, type: 'url_verification' }, { key: null, sign: false })).status,
    ).to.equal(400);
    // encrypted with another key
    expect(
      (await post({ challenge: 'c', token: VT, type: 'url_verification' }, { key: 'other', sign: false })).status,
    ).to.equal(400);
    // unsigned, a large body is refused before it is parsed or decrypted (not even the depth scan: 403, not 400)
    const deep = '{"a":' + '['.repeat(1500) + ']'.repeat(1500) + '}';
    expect((await post(deep, { key: null, sign: false })).status).to.equal(403);
    expect((await post('x'.repeat(4000), { key: null, sign: false })).status).to.equal(403);
    expect(await pushes()).to.have.length(0);
  });

  it('app_ticket: 1014 and a resend until one came; stored before the answer; 200 cold calls → 1 app_access_token call', async () => {
    const before = await token({ kind: 'app' });
    expect(before.returnCode).to.equal(1014);
    expect((await token({ kind: 'app' })).returnCode).to.equal(1014);
    expect(fake.count('feishu_app_ticket_resend')).to.equal(1); // at most once a minute
    const ticket = feishu.ticket(STORE);
    expect(await post(ticketEvent(ticket))).to.deep.equal({ status: 200, text: '{}' });
    fake.latencyMs = 150;
    const all = await Promise.all(Array.from({ length: 200 }, () => token({ kind: 'app' })));
    fake.latencyMs = 0;
    expect(all.every((r) => r.returnCode === 0)).to.equal(true);
    expect(new Set(all.map((r) => r.returnData.token)).size).to.equal(1);
    expect(fake.count('feishu_app_access_token')).to.equal(1);
    expect(fake.isLive(all[0].returnData.token, 'FAPP', STORE)).to.equal(true);
    // an older ticket pushed late does not replace the newer one
    await post(ticketEvent(feishu.ticket(STORE), Date.now() / 1000 - 3600));
    expect((await node.gh.services.store.getTicket('feishu_app', STORE))?.value).to.equal(ticket);
    // the push log shows the event with the ticket masked; the log file never has it
    const list = await pushes();
    expect(list.map((p) => p.infoType)).to.deep.equal(['app_ticket', 'app_ticket']);
    expect(JSON.stringify(list)).to.not.include(ticket);
    expect(JSON.stringify(list)).to.not.include(VT);
    expect(fs.readFileSync(node.logFile, 'utf8')).to.not.include(ticket);
  });

  it('tenants: app_open records one, its tenant token per tenantKey (200 cold calls → 1), app_uninstalled stops it in order', async () => {
    await post(ticketEvent(feishu.ticket(STORE)));
    expect((await token({ tenantKey: 'tk1' })).returnCode).to.equal(1012);
    expect((await token()).returnCode).to.equal(1003); // a store app's tenant token needs a tenantKey
    const t0 = Date.now() / 1000;
    expect(
      (await post(v1({ type: 'app_open', tenant_key: 'tk1', installer: { open_id: 'ou_x' } }, t0))).status,
    ).to.equal(200);
    fake.latencyMs = 150;
    const all = await Promise.all(Array.from({ length: 200 }, () => token({ tenantKey: 'tk1' })));
    fake.latencyMs = 0;
    expect(all.every((r) => r.returnCode === 0)).to.equal(true);
    expect(new Set(all.map((r) => r.returnData.token)).size).to.equal(1);
    expect(fake.count('feishu_tenant_access_token')).to.equal(1);
    expect(fake.count('feishu_app_access_token')).to.equal(1);
    expect(fake.isLive(all[0].returnData.token, 'FTEN', `${STORE}:tk1`)).to.equal(true);
    const tenants = (await rpc('feishu.app.tenants', { codeName: 'st' })).returnData.tenants;
    expect(tenants.map((x: any) => [x.tenantKey, x.installed])).to.deep.equal([['tk1', true]]);
    // the apps claim must cover the tenant too
    const narrow = node.token('feishu.*', [STORE]);
    expect((await node.rpc('feishu.app.token', { codeName: 'st', tenantKey: 'tk1' }, narrow)).returnCode).to.equal(
      4003,
    );
    const wide = node.token('feishu.*', [STORE, 'tk1']);
    expect((await node.rpc('feishu.app.token', { codeName: 'st', tenantKey: 'tk1' }, wide)).returnCode).to.equal(0);
    // the tenant proxy
    const proxyCaller = node.token('proxy.feishu_app', [STORE, 'tk1']);
    const res = await fetch(`${node.url}/proxy/feishu/st/tk1/open-apis/im/v1/chats`, {
      headers: { authorization: `Bearer ${proxyCaller}` },
    });
    expect(((await res.json()) as any).data.owner).to.equal(`${STORE}:tk1`);
    const other = await fetch(`${node.url}/proxy/feishu/st/tk2/open-apis/im/v1/chats`, {
      headers: { authorization: `Bearer ${proxyCaller}` },
    });
    expect(other.status).to.equal(403);
    // uninstalled: nothing served, on every node at once; an older app_open replayed changes nothing
    expect((await post(v1({ type: 'app_uninstalled', tenant_key: 'tk1' }, t0 + 5))).status).to.equal(200);
    expect((await token({ tenantKey: 'tk1' })).returnCode).to.equal(1014);
    await post(v1({ type: 'app_open', tenant_key: 'tk1' }, t0 + 1));
    expect((await token({ tenantKey: 'tk1' })).returnCode).to.equal(1014);
    // 2.0 schema events too: a newer re-enable
    const v2 = {
      schema: '2.0',
      header: {
        event_id: 'e1',
        event_type: 'app_status_change',
        create_time: String(Math.floor((t0 + 10) * 1000)),
        token: VT,
        app_id: STORE,
        tenant_key: 'tk1',
      },
      event: { status: 'start_by_tenant' },
    };
    expect((await post(v2)).status).to.equal(200);
    expect((await token({ tenantKey: 'tk1' })).returnCode).to.equal(0);
  });

  it("refreshes a tenant's token and ticket ahead in the background; an uninstalled tenant's are left alone", async () => {
    await post(ticketEvent(feishu.ticket(STORE)));
    await post(v1({ type: 'app_open', tenant_key: 'tk2' }));
    fake.lifetimeS = 6;
    try {
      const first = await token({ tenantKey: 'tk2' });
      expect(first.returnCode).to.equal(0);
      expect((await rpc('feishu.app.ticket', { codeName: 'st', tenantKey: 'tk2' })).returnCode).to.equal(0);
      const c = (await rpc('feishu.app.jsconfig', { codeName: 'st', tenantKey: 'tk2', url: 'https://a.example/' }))
        .returnData;
      expect(c.appId).to.equal(STORE);
      let again = first;
      await until(
        async () => (again = await token({ tenantKey: 'tk2' })).returnData.token !== first.returnData.token,
        'the tenant token refreshed ahead',
        8000,
      );
      expect(fake.isLive(again.returnData.token, 'FTEN', `${STORE}:tk2`)).to.equal(true);
      expect(node.gh.services.engine.stats.cold).to.equal(3); // app token, tenant token, ticket: once each
      await post(v1({ type: 'app_uninstalled', tenant_key: 'tk2' }));
      fake.reset();
      await new Promise((r) => setTimeout(r, 2500));
      expect(fake.count('feishu_tenant_access_token')).to.equal(0);
      expect(fake.count('feishu_jssdk_ticket_get')).to.equal(0);
    } finally {
      fake.lifetimeS = 7200;
    }
  });

  it('refused before anything is parsed or called: bad or missing signature, wrong token, another app, size, depth', async () => {
    const ticket = feishu.ticket(STORE);
    expect((await post(ticketEvent(ticket), { sign: 'ab'.repeat(32) })).status).to.equal(403);
    expect((await post(ticketEvent(ticket), { signKey: 'other-key' })).status).to.equal(403);
    expect((await post(ticketEvent(ticket), { sign: false })).status).to.equal(403);
    expect((await post({ ...ticketEvent(ticket), token: 'wrong' })).status).to.equal(403);
    expect((await post(v1({ type: 'app_open', tenant_key: 'tk9', app_id: 'cli_other00000000001' }))).status).to.equal(
      400,
    );
    expect((await post('{"a":' + '['.repeat(100) + ']'.repeat(100) + '}', { key: EK })).status).to.equal(400);
    expect((await post('not json')).status).to.equal(400);
    const big = await fetch(`${node.url}/feishu/st/events`, { method: 'POST', body: 'x'.repeat(70 * 1024) });
    expect(big.status).to.equal(413);
    expect((await post(ticketEvent(ticket), { codeName: 'nope' })).status).to.equal(404);
    expect(await node.gh.services.store.getTicket('feishu_app', STORE)).to.equal(null);
    expect(await pushes()).to.have.length(0);
    expect(fake.count('feishu_app_access_token')).to.equal(0);
    // refusals name none of the app's event credentials nor the ticket they carried
    const log = fs.readFileSync(node.logFile, 'utf8');
    expect(log).to.include('/feishu/st/events');
    for (const v of [EK, VT, ticket, STORE_SECRET]) expect(log).to.not.include(v);
  });

  it('fuzz: 300 hostile requests (junk, half-valid envelopes, forged headers) get 400 / 403 / 404 / 413, nothing written', async () => {
    const r = new Rng(18);
    const bodies = [
      () => r.bytes(r.int(0, 300)).toString('latin1'),
      () => JSON.stringify({ encrypt: r.b64(r.int(0, 200)) }),
      () => JSON.stringify({ encrypt: encryptEvent(EK, r.bytes(r.int(1, 100)).toString('latin1')) }),
      () =>
        JSON.stringify({ encrypt: encryptEvent(EK, JSON.stringify({ type: 'url_verification', token: r.hex(8) })) }),
      () => JSON.stringify({ encrypt: encryptEvent(EK, '['.repeat(r.int(60, 200))) }),
      () => JSON.stringify({ challenge: 'c', token: VT, type: 'url_verification' }),
      () => JSON.stringify({ encrypt: 12, __proto__: { x: 1 } }),
      () => '{"encrypt":"' + 'A'.repeat(r.int(0, 100)) + '=="}',
    ];
    for (let i = 0; i < 300; i++) {
      const headers: Record<string, string> = { 'content-type': r.pick(['application/json', 'text/plain', '']) };
      if (r.chance(0.6)) headers['x-lark-signature'] = r.pick([r.hex(64), r.hex(r.int(0, 80)), 'ZZ'.repeat(32)]);
      if (r.chance(0.6)) headers['x-lark-request-timestamp'] = String(r.int(0, 2e9));
      if (r.chance(0.6)) headers['x-lark-request-nonce'] = r.hex(r.int(0, 20));
      const codeName = r.chance(0.9) ? 'st' : r.pick(['nope', '..', '%00', 'x'.repeat(100)]);
      const res = await fetch(`${node.url}/feishu/${codeName}/events`, {
        method: 'POST',
        headers,
        body: r.pick(bodies)(),
      });
      await res.arrayBuffer();
      expect([400, 403, 404, 413], `case ${i}`).to.include(res.status);
    }
    expect(await pushes()).to.have.length(0);
    expect(await node.gh.services.store.getTicket('feishu_app', STORE)).to.equal(null);
    expect(fake.count('feishu_app_access_token') + fake.count('feishu_app_ticket_resend')).to.equal(0);
  });

  it('an app with a verification token only takes plain events with that token; one with neither is refused', async () => {
    await rpc('admin.app.put', {
      platform: 'feishu_app',
      codeName: 'sb',
      config: { appId: APP, appSecret: SECRET, kind: 'self_built', verificationToken: 'vt-plain-0001' },
    });
    const ev = (token: string) => ({
      schema: '2.0',
      header: {
        event_id: 'e2',
        event_type: 'im.message.receive_v1',
        token,
        app_id: APP,
        create_time: String(Date.now()),
      },
      event: { message: { content: '{"text":"hi"}' } },
    });
    expect((await post(ev('vt-plain-0001'), { codeName: 'sb', key: null, sign: false })).status).to.equal(200);
    expect((await post(ev('nope'), { codeName: 'sb', key: null, sign: false })).status).to.equal(403);
    expect(
      (await post({ challenge: 'c1', token: 'vt-plain-0001', type: 'url_verification' }, { codeName: 'sb', key: null }))
        .text,
    ).to.equal('{"challenge":"c1"}');
    const list = await pushes();
    expect(list.map((p) => [p.codeName, p.infoType])).to.deep.equal([['sb', 'im.message.receive_v1']]);
    await rpc('admin.app.put', {
      platform: 'feishu_app',
      codeName: 'sb',
      config: { appId: APP, appSecret: SECRET, kind: 'self_built' },
    });
    expect((await post(ev('vt-plain-0001'), { codeName: 'sb', key: null, sign: false })).status).to.equal(403);
  });
});
