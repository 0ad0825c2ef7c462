import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { jssdkSignature } from '../../application/services/crypto/jssdk';
import { refreshAhead } from '../../application/services/tokens/engine';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';

const sha1 = (s: string) => crypto.createHash('sha1').update(s).digest('hex');
const WX = 'wxtoken0000000001';
const CORP = 'wwcorp00000000001';

describe('JS-SDK signature (official vector)', () => {
  it('matches the WeChat JS-SDK documentation sample', () => {
    const sig = jssdkSignature(
      'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
      'Wm3WZYTPz0wzccnW',
      1414587457,
      'http://mp.weixin.qq.com?params=value',
    );
    expect(sig).to.equal('0f9de62fce790f9a083d5c99e95740ceb90c27ed');
  });

  it('signs the url without its #fragment', () => {
    expect(jssdkSignature('t', 'n', 1, 'https://a.example/p?x=1#/route')).to.equal(
      jssdkSignature('t', 'n', 1, 'https://a.example/p?x=1'),
    );
  });

  it('refreshes ahead in the last 10 minutes, or the last 20 % of a short life', () => {
    expect(refreshAhead(7_200_000)).to.equal(600_000);
    expect(refreshAhead(60_000)).to.equal(12_000);
  });
});

forEachDialect('token engine on one node: WeChat apps and WeCom corps', (dialect) => {
  let fake: FakePlatform;
  let node: TestNode;
  let tok: string;

  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para, tok);
  const token = (para: Record<string, unknown> = {}) => rpc('wechat.app.token', { codeName: 'mp', ...para });

  before(async () => {
    fake = await new FakePlatform().start();
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    fake.lifetimeS = 7200;
    fake.latencyMs = 0;
    for (const api of ['stable_token', 'token', 'getticket', 'gettoken', 'get_jsapi_ticket', 'ticket_get'])
      fake.mode(api, null);
    node = await startNode({ dialect, fake, env: { GATEHOUSE_REFRESH_SCAN_MS: '100' } });
    tok = node.token('wechat.* wecom.* qcloud.* admin.*');
    fake.app(WX, 'mp-secret');
    fake.app(CORP, 'corp-secret');
    await rpc('admin.app.put', { platform: 'wechat_app', codeName: 'mp', config: { appId: WX, secret: 'mp-secret' } });
    await rpc('admin.app.put', {
      platform: 'wecom_corp',
      codeName: 'hr',
      config: { corpId: CORP, agentId: 1000002, secret: 'corp-secret' },
    });
    fake.reset();
  });
  afterEach(async () => node?.close());

  it('1,000 concurrent calls on a cold key make exactly 1 upstream call and all get the same token', async () => {
    fake.latencyMs = 200;
    const all = await Promise.all(Array.from({ length: 1000 }, () => token()));
    expect(fake.count('stable_token')).to.equal(1);
    expect(all.every((r) => r.returnCode === 0)).to.equal(true);
    expect(new Set(all.map((r) => r.returnData.token)).size).to.equal(1);
    const r = all[0].returnData;
    expect(Object.keys(r).sort()).to.deep.equal(['appId', 'expiresAt', 'token']);
    expect(r.appId).to.equal(WX);
    expect(fake.isLive(r.token)).to.equal(true);
    expect(r.expiresAt).to.be.closeTo(Math.floor(Date.now() / 1000) + 7200, 5);
    const [row] = await node.db.query('SELECT * FROM tokens');
    expect(row).to.include({
      platform: 'wechat_app',
      code_name: 'mp',
      subject: WX,
      kind: 'access_token',
      value: r.token,
    });
    expect(Number(row.version)).to.equal(1);
  });

  it('classic mode uses GET /cgi-bin/token', async () => {
    await rpc('admin.app.put', {
      platform: 'wechat_app',
      codeName: 'mp',
      config: { appId: WX, secret: 'mp-secret', tokenMode: 'classic' },
    });
    const r = await token();
    expect(r.returnCode).to.equal(0);
    expect(fake.count('token')).to.equal(1);
    expect(fake.count('stable_token')).to.equal(0);
  });

  it("force refreshes at most once per 30 s; later forces get the first force's token", async () => {
    const first = (await token()).returnData.token;
    const forced = (await token({ force: true })).returnData.token;
    expect(forced).to.not.equal(first);
    expect(fake.count('stable_token')).to.equal(2);
    const again = (await token({ force: true })).returnData.token;
    expect(again).to.equal(forced);
    expect(fake.count('stable_token')).to.equal(2);
    expect((await token({ force: 'true' })).returnCode).to.equal(1003);
  });

  it('invalidToken refreshes only when it is the current token', async () => {
    const first = (await token()).returnData.token;
    const same = (await token({ invalidToken: 'some-older-token' })).returnData.token;
    expect(same).to.equal(first);
    expect(fake.count('stable_token')).to.equal(1);
    const fresh = (await token({ invalidToken: first })).returnData.token;
    expect(fresh).to.not.equal(first);
    expect(fake.count('stable_token')).to.equal(2);
    // within 30 s of an accepted invalidation, reporting the new token invalid refreshes nothing (§5.3)
    const concurrent = await Promise.all(Array.from({ length: 50 }, () => token({ invalidToken: fresh })));
    expect(concurrent.map((r) => r.returnData.token)).to.deep.equal(Array(50).fill(fresh));
    expect(fake.count('stable_token')).to.equal(2);
  });

  it('accepted forces and invalidations share one budget: one refresh per token per 30 s', async () => {
    // the attack: six calls, each reporting the token it was just given as invalid
    let current = (await token()).returnData.token;
    for (let i = 0; i < 6; i++) {
      const r = await token(i % 2 ? { invalidToken: current } : { force: true });
      expect(r.returnCode).to.equal(0);
      current = r.returnData.token;
    }
    expect(fake.count('stable_token')).to.equal(2); // the cold fetch + one accepted force
    const [row] = await node.db.query('SELECT value, forced_at FROM tokens');
    expect(row.value).to.equal(current);
    // the budget is per token: after the window passes (moved back in the store), one more is accepted
    await node.db.exec('UPDATE tokens SET forced_at = forced_at - 31000');
    node.gh.services.engine.forget(String((await node.db.query('SELECT token_key FROM tokens'))[0].token_key));
    const again = await token({ invalidToken: current });
    expect(again.returnData.token).to.not.equal(current);
    expect(fake.count('stable_token')).to.equal(3);
  });

  it('serves a stored valid token through an outage and records the error', async () => {
    const first = (await token()).returnData.token;
    fake.mode('stable_token', { errcode: -1, errmsg: 'system error' });
    const res = await token({ force: true });
    expect(res.returnCode).to.equal(0);
    expect(res.returnData.token).to.equal(first);
    expect(fake.count('stable_token')).to.equal(4); // 1 + 3 attempts (retried on -1)
    const list = (await rpc('admin.token.list', { platform: 'wechat_app' })).returnData.tokens;
    expect(list).to.have.length(1);
    expect(list[0]).to.include({ platform: 'wechat_app', codeName: 'mp', subject: WX, kind: 'access_token' });
    expect(list[0].lastError).to.match(/errcode -1/);
    expect(JSON.stringify(list)).to.not.include(first);
    fake.mode('stable_token', 'stall');
    expect((await token({ force: true })).returnData.token).to.equal(first);
  });

  it('does not retry credential errors and answers them when no token is stored; recovers at once', async () => {
    fake.mode('stable_token', { errcode: 40125, errmsg: 'invalid appsecret' });
    const res = await token();
    expect(res).to.deep.include({ returnCode: 40029, returnMessage: 'UPSTREAM_ERROR' });
    expect(res.returnData).to.deep.equal({ platform: 'wechat', errcode: 40125, errmsg: 'invalid appsecret' });
    expect(fake.count('stable_token')).to.equal(1);
    for (const errcode of [45009, 40164, 40013]) {
      fake.mode('stable_token', { errcode });
      expect((await token()).returnData.errcode).to.equal(errcode);
    }
    expect(fake.count('stable_token')).to.equal(4);
    fake.mode('stable_token', { http: 502 });
    expect((await token()).returnCode).to.equal(1005);
    fake.mode('stable_token', null);
    const ok = await token();
    expect(ok.returnCode).to.equal(0);
    expect(fake.isLive(ok.returnData.token)).to.equal(true);
  });

  it('a stalled platform with nothing stored answers 1005, and errors are not cached', async () => {
    fake.mode('stable_token', 'stall');
    const res = await token();
    expect(res.returnCode).to.equal(1005);
    fake.mode('stable_token', null);
    expect((await token()).returnCode).to.equal(0);
  });

  it('tickets come from the access token; jsconfig signs the page with the jsapi ticket', async () => {
    const t = await rpc('wechat.app.ticket', { codeName: 'mp' });
    expect(t.returnCode).to.equal(0);
    expect(Object.keys(t.returnData).sort()).to.deep.equal(['appId', 'expiresAt', 'ticket']);
    expect(fake.count('stable_token')).to.equal(1);
    expect(fake.count('getticket')).to.equal(1);
    const card = await rpc('wechat.app.ticket', { codeName: 'mp', type: 'wx_card' });
    expect(card.returnData.ticket).to.not.equal(t.returnData.ticket);
    // the tickets WeChat issued for this app's token, each of its type
    expect(t.returnData.ticket).to.equal(fake.lastIssued('TKjsapi', WX));
    expect(card.returnData.ticket).to.equal(fake.lastIssued('TKwx_card', WX));
    const url = 'https://shop.example.com/page?id=1#top';
    const cfg = (await rpc('wechat.app.jsconfig', { codeName: 'mp', url })).returnData;
    expect(Object.keys(cfg).sort()).to.deep.equal(['appId', 'nonceStr', 'signature', 'timestamp']);
    expect(cfg.nonceStr).to.match(/^[0-9A-Za-z]{16,32}$/);
    expect(cfg.signature).to.equal(
      sha1(
        `jsapi_ticket=${t.returnData.ticket}&noncestr=${cfg.nonceStr}&timestamp=${cfg.timestamp}&url=https://shop.example.com/page?id=1`,
      ),
    );
    expect(fake.count('getticket')).to.equal(2);
    for (const bad of ['/relative', 'ftp://x/y', 'javascript:alert(1)', 'https://']) {
      expect((await rpc('wechat.app.jsconfig', { codeName: 'mp', url: bad })).returnCode, bad).to.equal(1003);
    }
  });

  it('a ticket refresh that meets a dead access token (40001) compare-and-refreshes it and retries once', async () => {
    await rpc('wechat.app.ticket', { codeName: 'mp' });
    fake.expireAll();
    const t = await rpc('wechat.app.ticket', { codeName: 'mp', force: true });
    expect(t.returnCode).to.equal(0);
    expect(fake.count('getticket')).to.equal(3);
    expect(fake.count('stable_token')).to.equal(2);
  });

  it('a ticket refresh that meets 40014 (invalid) or 42001 (expired) compare-and-refreshes the access token and retries once', async () => {
    for (const errcode of [40014, 42001]) {
      // the shared refresh budget: a second forced refresh of a token needs its last one 30 s back
      await node.db.exec('UPDATE tokens SET forced_at = ?', [Date.now() - 60_000]);
      const token0 = (await token()).returnData.token;
      await rpc('wechat.app.ticket', { codeName: 'mp' });
      fake.reset();
      fake.mode('getticket', { errcode, errmsg: 'token no good' }, 1);
      const t = await rpc('wechat.app.ticket', { codeName: 'mp', force: true });
      expect(t.returnCode, String(errcode)).to.equal(0);
      expect(t.returnData.ticket).to.equal(fake.lastIssued('TKjsapi', WX));
      expect(fake.count('getticket')).to.equal(2);
      expect(fake.count('stable_token')).to.equal(1);
      const token1 = (await token()).returnData.token;
      expect(token1).to.not.equal(token0);
      expect(fake.isLive(token1, 'AT', WX)).to.equal(true);
    }
    // WeCom: the same on get_jsapi_ticket, through gettoken
    for (const errcode of [40014, 42001]) {
      await node.db.exec('UPDATE tokens SET forced_at = ?', [Date.now() - 60_000]);
      await rpc('wecom.corp.ticket', { codeName: 'hr' });
      fake.reset();
      fake.mode('get_jsapi_ticket', { errcode, errmsg: 'token no good' }, 1);
      const t = await rpc('wecom.corp.ticket', { codeName: 'hr', force: true });
      expect(t.returnCode, String(errcode)).to.equal(0);
      expect(t.returnData.ticket).to.equal(fake.lastIssued('TKjsapi', CORP));
      expect(fake.count('get_jsapi_ticket')).to.equal(2);
      expect(fake.count('gettoken')).to.equal(1);
    }
  });

  it('wechat.app.code2session and qcloud.mimi.access_token', async () => {
    const c = fake.code({ unionid: 'u-1', appid: WX });
    const s = await rpc('wechat.app.code2session', { codeName: 'mp', jsCode: c.code });
    expect(s.returnData).to.deep.equal({ openid: c.openid, sessionKey: c.sessionKey, unionid: 'u-1' });
    const m = await rpc('qcloud.mimi.access_token', { appid: WX });
    expect(Object.keys(m.returnData).sort()).to.deep.equal(['access_token', 'appid', 'exp']);
    expect(m.returnData.appid).to.equal(WX);
    const again = await rpc('qcloud.mimi.access_token', { appid: WX, invalid_token: m.returnData.access_token });
    expect(again.returnData.access_token).to.not.equal(m.returnData.access_token);
    expect((await rpc('qcloud.mimi.access_token', { appid: WX, invalidToken: 'x' })).returnCode).to.equal(1003);
  });

  it('WeCom: token, jsapi / agent_config tickets, jsconfig, and the qcloud.work.* forms', async () => {
    const t = await rpc('wecom.corp.token', { codeName: 'hr' });
    expect(t.returnData).to.include({ corpId: CORP, agentId: '1000002' });
    expect(fake.isLive(t.returnData.token)).to.equal(true);
    const jsapi = (await rpc('wecom.corp.ticket', { codeName: 'hr' })).returnData;
    const agent = (await rpc('wecom.corp.ticket', { codeName: 'hr', type: 'agent_config' })).returnData;
    expect(jsapi.ticket).to.not.equal(agent.ticket);
    expect(jsapi.ticket).to.equal(fake.lastIssued('TKjsapi', CORP));
    expect(agent.ticket).to.equal(fake.lastIssued('TKagent_config', CORP));
    expect(fake.count('get_jsapi_ticket')).to.equal(1);
    expect(fake.count('ticket_get')).to.equal(1);
    const url = 'https://work.example.com/app';
    const cfg = (await rpc('wecom.corp.jsconfig', { codeName: 'hr', url, type: 'agent_config' })).returnData;
    expect(cfg).to.include({ corpId: CORP, agentId: '1000002' });
    expect(cfg.signature).to.equal(
      sha1(`jsapi_ticket=${agent.ticket}&noncestr=${cfg.nonceStr}&timestamp=${cfg.timestamp}&url=${url}`),
    );
    const w = await rpc('qcloud.work.access_token', { corpid: CORP, agentid: '1000002' });
    expect(w.returnData).to.deep.equal({ corpid: CORP, access_token: t.returnData.token, exp: t.returnData.expiresAt });
    expect((await rpc('qcloud.work.ticket', { corpid: CORP, agentid: 1000002 })).returnData).to.deep.equal({
      corpid: CORP,
      ticket: jsapi.ticket,
      exp: jsapi.expiresAt,
    });
    expect((await rpc('qcloud.work.agent.ticket', { corpid: CORP, agentid: 1000002 })).returnData).to.deep.equal({
      corpid: CORP,
      agent_ticket: agent.ticket,
      exp: agent.expiresAt,
    });
    expect(fake.count('gettoken')).to.equal(1);
    expect((await rpc('qcloud.work.access_token', { corpid: CORP, agentid: 9 })).returnCode).to.equal(1012);
  });

  it('refreshes ahead in the background: tokens renewed before expiry, no request waits on the platform', async () => {
    await rpc('admin.app.put', {
      platform: 'wechat_app',
      codeName: 'mp',
      config: { appId: WX, secret: 'mp-secret', tokenMode: 'classic' },
    });
    fake.lifetimeS = 6; // refreshed in its last 4 s (the engine never leaves less than twice the 2 s serving margin)
    const seen = new Set<string>();
    const first = await token();
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
    expect(seen.has(first.returnData.token)).to.equal(true);
    expect(fake.count('token')).to.equal(1 + stats.ahead);
  });

  it('bad input: unknown or disabled codeName → 1012, no token → 4001, scope → 4003', async () => {
    expect((await rpc('wechat.app.token', { codeName: 'nope' })).returnCode).to.equal(1012);
    await rpc('admin.app.put', {
      platform: 'wechat_app',
      codeName: 'off',
      config: { appId: 'wxoff', secret: 's', enabled: false },
    });
    expect((await rpc('wechat.app.token', { codeName: 'off' })).returnCode).to.equal(1012);
    expect((await rpc('qcloud.mimi.access_token', { appid: 'wxoff' })).returnCode).to.equal(1012);
    expect((await node.rpc('wechat.app.token', { codeName: 'mp' })).returnCode).to.equal(4001);
    expect((await node.rpc('wechat.app.token', { codeName: 'mp' }, node.token('wecom.*'))).returnCode).to.equal(4003);
    expect(
      (await node.rpc('wechat.app.token', { codeName: 'mp' }, node.token('wechat.*', ['other']))).returnCode,
    ).to.equal(4003);
    expect((await node.rpc('wechat.app.token', { codeName: 'mp' }, node.token('wechat.*', [WX]))).returnCode).to.equal(
      0,
    );
    expect((await rpc('wechat.app.token', { codeName: 'mp', extra: 1 })).returnCode).to.equal(1003);
    expect(fake.count('stable_token')).to.equal(1);
  });

  it('never logs a token or ticket', async () => {
    const values = [
      (await token()).returnData.token,
      (await rpc('wechat.app.ticket', { codeName: 'mp' })).returnData.ticket,
      (await rpc('wecom.corp.token', { codeName: 'hr' })).returnData.token,
    ];
    const log = fs.readFileSync(node.logFile, 'utf8');
    expect(log).to.include('wechat.app.ticket');
    for (const v of values) expect(log).to.not.include(v);
  });
});
