import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { MsgCrypt } from '../../application/services/crypto/msgcrypt';
import { FakeDingtalk } from '../fake/dingtalk';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { Rng } from '../helpers/rng';
import { signedPush } from '../helpers/push';

const KEY = 'dingappkey000001';
const SECRET = 'dingtalk-app-secret-test';
const CORP = 'dingcorp0000000001';
const AES = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789dingtal';
const CB_TOKEN = 'dingtoken';

describe('DingTalk callback crypto (vector)', () => {
  // computed with python3 `cryptography` 48 (AES-256-CBC, key base64(aesKey + "="), iv its first 16
  // bytes, random "0123456789abcdef" ‖ length ‖ "success" ‖ appKey, PKCS#7 to 32) and hashlib.sha1
  // over sorted [token, timestamp, nonce, encrypt]
  const VECTOR = 'CsFgZbMWx6KuJrVOD6kRL4ig+H7z8X70RLN6tEUJxt5A1X5j1PJYbZh1LR/dlnf2qHRL29XpUXqn8hHR0pEhzA==';

  it('the shared message crypt encrypts, decrypts and signs as DingTalk does', () => {
    const c = new MsgCrypt(CB_TOKEN, AES, KEY);
    expect(c.encrypt('success', Buffer.from('0123456789abcdef'))).to.equal(VECTOR);
    expect(c.decrypt(VECTOR)).to.equal('success');
    expect(c.signature('1700000000000', 'nonce123', VECTOR)).to.equal('31dc7c9ce3dd7c6cbf5552e437e2585e77098da2');
  });
});

forEachDialect('DingTalk apps', (dialect) => {
  let fake: FakePlatform;
  let ding: FakeDingtalk;
  let node: TestNode;
  let tok: string;
  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para, tok);
  const token = (para: Record<string, unknown> = {}) => rpc('dingtalk.app.token', { codeName: 'dd', ...para });

  before(async () => {
    fake = await new FakePlatform().start();
    ding = new FakeDingtalk(fake);
    ding.app(KEY, SECRET);
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    fake.lifetimeS = 7200;
    fake.latencyMs = 0;
    fake.expireAll();
    ding.expireAll();
    for (const api of ['accessToken', 'gettoken', 'get_jsapi_ticket']) fake.mode(`dingtalk_${api}`, null);
    node = await startNode({
      dialect,
      fake,
      env: { GATEHOUSE_DINGTALK_OAPI: fake.url, GATEHOUSE_DINGTALK_API: fake.url, GATEHOUSE_REFRESH_SCAN_MS: '100' },
    });
    tok = node.token('dingtalk.* admin.*');
    const put = await rpc('admin.app.put', {
      platform: 'dingtalk_app',
      codeName: 'dd',
      config: { appKey: KEY, appSecret: SECRET, corpId: CORP, agentId: 3000001, aesKey: AES, token: CB_TOKEN },
    });
    expect(put.returnCode).to.equal(0);
    fake.reset();
  });
  afterEach(async () => node?.close());

  it('200 concurrent cold calls make 1 oauth2/accessToken call; the legacy mode uses gettoken', async () => {
    fake.latencyMs = 150;
    const all = await Promise.all(Array.from({ length: 200 }, () => token()));
    fake.latencyMs = 0;
    expect(fake.count('dingtalk_accessToken')).to.equal(1);
    expect(all.every((r) => r.returnCode === 0)).to.equal(true);
    expect(new Set(all.map((r) => r.returnData.token)).size).to.equal(1);
    const r = all[0].returnData;
    expect(Object.keys(r).sort()).to.deep.equal(['agentId', 'appKey', 'corpId', 'expiresAt', 'token']);
    expect(r).to.include({ appKey: KEY, corpId: CORP, agentId: '3000001' });
    expect(ding.ownerOf(r.token) === KEY).to.equal(true);
    await rpc('admin.app.put', {
      platform: 'dingtalk_app',
      codeName: 'dd',
      config: { appKey: KEY, appSecret: SECRET, corpId: CORP, agentId: 3000001, tokenMode: 'legacy' },
    });
    fake.expireAll();
    ding.expireAll();
    expect(ding.ownerOf((await token({ force: true })).returnData.token) === KEY).to.equal(true);
    expect(fake.count('dingtalk_gettoken')).to.equal(1);
  });

  it('force and invalidToken share the 30 s budget; outages served; credential errors answered', async () => {
    const first = (await token()).returnData.token;
    fake.expireAll();
    ding.expireAll();
    const forced = (await token({ force: true })).returnData.token;
    expect(forced).to.not.equal(first);
    expect((await token({ invalidToken: forced })).returnData.token).to.equal(forced);
    expect((await token({ invalidToken: 'older' })).returnData.token).to.equal(forced);
    expect(fake.count('dingtalk_accessToken')).to.equal(2);
    await node.db.exec('UPDATE tokens SET forced_at = forced_at - 31000');
    node.gh.services.engine.forget(String((await node.db.query('SELECT token_key FROM tokens'))[0].token_key));
    fake.mode('dingtalk_accessToken', { http: 503 });
    const served = await token({ force: true });
    expect(served.returnCode).to.equal(0);
    expect(served.returnData.token).to.equal(forced);
    fake.mode('dingtalk_accessToken', null);
    await rpc('admin.app.put', {
      platform: 'dingtalk_app',
      codeName: 'bad',
      config: { appKey: 'dingunknown00001', appSecret: 'x', corpId: CORP, agentId: 1 },
    });
    const bad = await rpc('dingtalk.app.token', { codeName: 'bad' });
    expect(bad.returnCode).to.equal(40029);
    expect(bad.returnData).to.include({ platform: 'dingtalk', errcode: 'invalidClientIdOrSecret' });
  });

  it('two nodes on one store: 200 concurrent cold calls across them → 1 DingTalk call; token list and metrics name it', async () => {
    const other = await startNode({
      dialect,
      fake,
      db: node.db,
      env: { GATEHOUSE_DINGTALK_OAPI: fake.url, GATEHOUSE_DINGTALK_API: fake.url },
    });
    try {
      const tok2 = other.token('dingtalk.*');
      fake.latencyMs = 150;
      const all = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          i % 2 ? other.rpc('dingtalk.app.token', { codeName: 'dd' }, tok2) : token(),
        ),
      );
      fake.latencyMs = 0;
      expect(all.every((r) => r.returnCode === 0)).to.equal(true);
      expect(new Set(all.map((r) => r.returnData.token)).size).to.equal(1);
      expect(fake.count('dingtalk_accessToken')).to.equal(1);
      // each node counts its own platform calls: together, the one call
      const series = new RegExp(
        `^gatehouse_upstream_requests_total\\{platform="dingtalk",api="oauth2_accessToken",errcode="0"\\} (\\d+)$`,
        'm',
      );
      const counted = async (n: TestNode) =>
        Number(series.exec(await (await fetch(`${n.url}/metrics`)).text())?.[1] ?? 0);
      expect((await counted(node)) + (await counted(other))).to.equal(1);
    } finally {
      await other.close();
    }
    const list = (await rpc('admin.token.list', { platform: 'dingtalk_app' })).returnData.tokens;
    expect(list.map((t: any) => `${t.codeName} ${t.subject} ${t.kind}`)).to.deep.equal([`dd ${KEY} access_token`]);
    expect(JSON.stringify(list)).to.not.include('DT_');
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(metrics).to.include('gatehouse_token_expires_in_seconds{platform="dingtalk_app"');
  });

  it('refreshes ahead in the background', async () => {
    fake.lifetimeS = 6;
    const until = Date.now() + 7000;
    let lastExpiry = 0;
    while (Date.now() < until) {
      const r = await token();
      expect(r.returnCode).to.equal(0);
      expect(ding.ownerOf(r.returnData.token), 'served token is live').to.equal(KEY);
      lastExpiry = r.returnData.expiresAt;
      await new Promise((res) => setTimeout(res, 100));
    }
    // DingTalk answers the live token with its lifetime renewed: refreshed ahead, never served expired
    const stats = node.gh.services.engine.stats;
    expect(stats.cold).to.equal(1);
    expect(stats.ahead).to.be.at.least(2);
    expect(lastExpiry).to.be.above(Date.now() / 1000);
    expect(fake.count('dingtalk_accessToken')).to.equal(1 + stats.ahead);
  });

  it('jsapi ticket and dd.config signature; a dead token met by the ticket refresh (40014) is renewed once', async () => {
    const t = await rpc('dingtalk.app.ticket', { codeName: 'dd' });
    expect(t.returnCode).to.equal(0);
    expect(fake.isLive(t.returnData.ticket, 'DTK', KEY)).to.equal(true);
    const url = 'https://h5.example.com/app?x=1#/home';
    const c = (await rpc('dingtalk.app.jsconfig', { codeName: 'dd', url })).returnData;
    expect(c).to.include({ appKey: KEY, corpId: CORP, agentId: '3000001' });
    expect(c.timestamp).to.be.closeTo(Date.now() / 1000, 5);
    expect(c.signature).to.equal(
      crypto
        .createHash('sha1')
        .update(
          `jsapi_ticket=${t.returnData.ticket}&noncestr=${c.nonceStr}&timestamp=${c.timestamp}&url=https://h5.example.com/app?x=1`,
        )
        .digest('hex'),
    );
    fake.expireAll();
    ding.expireAll();
    fake.reset();
    const again = await rpc('dingtalk.app.ticket', { codeName: 'dd', force: true });
    expect(again.returnCode).to.equal(0);
    expect(fake.count('dingtalk_get_jsapi_ticket')).to.equal(2);
    expect(fake.count('dingtalk_accessToken')).to.equal(1);
  });

  it('dingtalk.app.userinfo: a 免登 code → userid, unionid; a used code is the platform error', async () => {
    const code = ding.code(KEY, { userId: 'manager4220', unionId: 'un_1', name: 'Li' });
    const r = await rpc('dingtalk.app.userinfo', { codeName: 'dd', code });
    expect(r.returnData).to.deep.equal({ userId: 'manager4220', unionId: 'un_1', name: 'Li', sys: false, sysLevel: 0 });
    const again = await rpc('dingtalk.app.userinfo', { codeName: 'dd', code });
    expect(again.returnData).to.include({ platform: 'dingtalk', errcode: 40078 });
    expect((await rpc('dingtalk.app.userinfo', { codeName: 'nope', code })).returnCode).to.equal(1012);
    expect(
      (await node.rpc('dingtalk.app.userinfo', { codeName: 'dd', code }, node.token('feishu.*'))).returnCode,
    ).to.equal(4003);
  });

  it('proxy: oapi with access_token in the query, the new API with x-acs-dingtalk-access-token; refused tokens renewed once', async () => {
    const caller = node.token('proxy.dingtalk_app');
    const call = (path: string, t: string | null = caller) =>
      fetch(`${node.url}${path}`, { headers: t ? { authorization: `Bearer ${t}` } : {} });
    const o = await call('/proxy/dingtalk/dd/topapi/v2/user/get?userid=u1&access_token=mine');
    const ob = (await o.json()) as any;
    expect(o.status).to.equal(200);
    expect(ob.result.owner).to.equal(KEY);
    expect(ob.result.query).to.match(/^\?userid=u1&access_token=DT_/);
    const n = await call('/proxy/dingtalk/dd/v1.0/contact/users/me?x=1');
    expect(n.status).to.equal(200);
    expect((await n.json()) as any).to.deep.equal({ owner: KEY, query: '?x=1', hasAccessTokenParam: false });
    // the token dies at DingTalk: 401 on the new API, 40014 on oapi → compare-and-refresh, one retry each
    fake.expireAll();
    ding.expireAll();
    fake.reset();
    expect((await call('/proxy/dingtalk/dd/v1.0/contact/users/me')).status).to.equal(200);
    expect(fake.count('dingtalk_users_me')).to.equal(2);
    expect(fake.count('dingtalk_accessToken')).to.equal(1);
    fake.expireAll();
    ding.expireAll();
    await node.db.exec('UPDATE tokens SET forced_at = forced_at - 31000');
    node.gh.services.engine.forget(String((await node.db.query('SELECT token_key FROM tokens'))[0].token_key));
    const retried = await call('/proxy/dingtalk/dd/topapi/v2/user/get');
    expect(((await retried.json()) as any).errcode).to.equal(0);
    expect(fake.count('dingtalk_user_get')).to.equal(2);
    expect((await call('/proxy/dingtalk/dd/topapi/v2/user/get', null)).status).to.equal(401);
    expect((await call('/proxy/dingtalk/dd/topapi/v2/user/get', node.token('proxy.feishu_app'))).status).to.equal(403);
    expect((await call('/proxy/dingtalk/dd/topapi/v2/user/get', node.token('proxy.*', ['other']))).status).to.equal(
      403,
    );
    expect((await call('/proxy/dingtalk/nope/topapi/v2/user/get')).status).to.equal(404);
    expect((await call('/proxy/dingtalk/dd/..%2f..%2fgettoken')).status).to.equal(400);
  });

  describe('event callbacks', () => {
    /** an event as DingTalk posts it, encrypted and signed by wechat-crypto (an independent WXBizMsgCrypt) */
    const post = async (
      event: Record<string, unknown>,
      opts: { query?: string; body?: string; receiver?: string } = {},
    ) => {
      const p = signedPush(CB_TOKEN, AES, opts.receiver ?? KEY, JSON.stringify(event));
      const q = new URLSearchParams(p.query);
      const query =
        opts.query ?? `signature=${q.get('msg_signature')}&timestamp=${q.get('timestamp')}&nonce=${q.get('nonce')}`;
      const res = await fetch(`${node.url}/dingtalk/dd/events?${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: opts.body ?? JSON.stringify({ encrypt: p.encrypt }),
      });
      return { status: res.status, text: await res.text() };
    };
    const pushes = async () => (await rpc('admin.push.list', { platform: 'dingtalk_app' })).returnData.pushes as any[];

    it('check_url and events: answered with "success" encrypted and signed; events in the push log', async () => {
      const check = await post({ EventType: 'check_url' });
      expect(check.status).to.equal(200);
      const reply = JSON.parse(check.text);
      expect(Object.keys(reply).sort()).to.deep.equal(['encrypt', 'msg_signature', 'nonce', 'timeStamp']);
      const c = new MsgCrypt(CB_TOKEN, AES, KEY);
      expect(c.decrypt(reply.encrypt)).to.equal('success');
      expect(reply.msg_signature).to.equal(c.signature(reply.timeStamp, reply.nonce, reply.encrypt));
      const ev = await post({ EventType: 'user_add_org', UserId: ['u1'], CorpId: CORP, TimeStamp: String(Date.now()) });
      expect(ev.status).to.equal(200);
      // the corpId as receiver id (apps made before DingTalk's new console)
      expect((await post({ EventType: 'user_leave_org', UserId: ['u2'] }, { receiver: CORP })).status).to.equal(200);
      const list = await pushes();
      expect(list.map((p) => p.infoType).sort()).to.deep.equal(['user_add_org', 'user_leave_org']);
    });

    it('fuzz: 300 hostile requests get 400 / 403 / 404 / 413, nothing written', async () => {
      const r = new Rng(1818);
      const c = new MsgCrypt(CB_TOKEN, AES, KEY);
      for (let i = 0; i < 300; i++) {
        const encrypt = r.chance(0.5) ? c.encrypt(r.bytes(r.int(0, 80)).toString('latin1')) : r.b64(r.int(0, 120));
        const ts = String(r.int(0, 2e12));
        const nonce = r.hex(r.int(0, 12));
        // a third of them correctly signed: they fail on what the encrypted text holds, not on the signature
        const sig = r.chance(0.33) ? c.signature(ts, nonce, encrypt) : r.hex(r.int(0, 44));
        const body = r.pick([
          () => JSON.stringify({ encrypt }),
          () => r.bytes(r.int(0, 200)).toString('latin1'),
          () => JSON.stringify([encrypt]),
          () => JSON.stringify({ encrypt: r.int(0, 9) }),
        ])();
        const codeName = r.chance(0.9) ? 'dd' : r.pick(['nope', '..', '%00']);
        const res = await fetch(
          `${node.url}/dingtalk/${codeName}/events?signature=${sig}&timestamp=${ts}&nonce=${nonce}`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          },
        );
        await res.arrayBuffer();
        expect([400, 403, 404, 413], `case ${i}`).to.include(res.status);
      }
      expect(await pushes()).to.have.length(0);
    });

    it('refused before decryption or any write: bad signature, other receiver, size, depth, no config', async () => {
      expect((await post({ EventType: 'x' }, { query: 'signature=00&timestamp=1&nonce=n' })).status).to.equal(403);
      expect((await post({ EventType: 'x' }, { receiver: 'someone-else' })).status).to.equal(400);
      expect((await post({ EventType: 'x' }, { body: 'not json' })).status).to.equal(400);
      expect(
        (await post({ EventType: 'x' }, { body: '{"a":' + '['.repeat(100) + ']'.repeat(100) + '}' })).status,
      ).to.equal(400);
      expect(
        (await post({ EventType: 'x' }, { body: '{"encrypt":' + '"' + 'x'.repeat(70 * 1024) + '"}' })).status,
      ).to.equal(413);
      expect(await pushes()).to.have.length(0);
      await rpc('admin.app.put', {
        platform: 'dingtalk_app',
        codeName: 'dd',
        config: { appKey: KEY, appSecret: SECRET, corpId: CORP, agentId: 3000001 },
      });
      expect((await post({ EventType: 'check_url' })).status).to.equal(403);
      expect(fs.readFileSync(node.logFile, 'utf8')).to.not.include(SECRET);
    });
  });
});
