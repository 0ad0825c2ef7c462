import { expect } from 'chai';
import crypto from 'node:crypto';
import { type FakePlatform } from '../fake/platform';
import { type FakeWechatTp } from '../fake/wechat-tp';
import type { FakeWecomTp } from '../fake/wecom-tp';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { signedPush, xml } from '../helpers/push';
import { startFakes } from '../helpers/fakes';

const WX = 'wxproxy0000000001';
const CORP = 'wwproxy0000000001';
const COMPONENT = 'wxcomponentproxy1';
const SUITE = 'wwsuiteproxy00001';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const MEDIA = crypto.randomBytes(2 * 1024 * 1024 + 17);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const WechatAPI = require('wechat-api') as new (
  appid: string,
  secret: string,
  getToken: (cb: (e: unknown, t: unknown) => void) => void,
  saveToken: (t: unknown, cb: (e: unknown) => void) => void,
) => {
  endpoint: string;
  setOpts(o: unknown): void;
  getMenu(cb: (err: Error | null, result: any) => void): void;
};

/** The signed proxies (§7) on the fake platform. */
describe('token proxies', function () {
  this.timeout(30_000);
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let wc: FakeWecomTp;
  let node: TestNode;
  let caller: string;
  let seen: Array<{ path: string; query: Record<string, string[]>; method: string; body: string; type: string }> = [];

  const call = (path: string, init: RequestInit = {}, token: string | null = caller) =>
    fetch(`${node.url}${path}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) },
    });

  before(async () => {
    ({ fake, wx, wc } = await startFakes());
    fake.app(WX, 's');
    fake.app(CORP, 'cs');
    fake.app(COMPONENT, 'ts');
    wc.suite(SUITE, 'ss');
    // platform endpoints to proxy to: they insist on a live token of the kind the API takes and echo what they got
    const kinds: Record<string, string[]> = {
      '/cgi-bin/menu/get': ['AT', 'AAT'],
      '/cgi-bin/user/get': ['AT', 'AAT'],
      '/cgi-bin/component/api_get_authorizer_info': ['CT'],
      '/cgi-bin/service/get_auth_info': ['SUITE'],
      '/cgi-bin/agent/get': ['WT', 'CORP'],
    };
    const echo = (path: string) =>
      fake.route(path, (u, body, res, req) => {
        const query: Record<string, string[]> = {};
        for (const [k, v] of u.searchParams) (query[k] ??= []).push(v);
        seen.push({
          path: u.pathname,
          query,
          method: req.method ?? '',
          body,
          type: String(req.headers['content-type'] ?? ''),
        });
        fake.hit(`proxied:${u.pathname}`);
        const token =
          u.searchParams.get('access_token') ??
          u.searchParams.get('component_access_token') ??
          u.searchParams.get('suite_access_token') ??
          '';
        if (!kinds[path].includes(fake.tokenOf(token)?.kind ?? ''))
          return fake.json(res, {
            errcode: 40001,
            errmsg: 'invalid credential, access_token is invalid or not latest',
          });
        res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'x-platform': 'fake' });
        res.end(JSON.stringify({ errcode: 0, errmsg: 'ok', menu: { button: [{ name: '菜单' }] }, echo: body }));
      });
    for (const p of Object.keys(kinds)) echo(p);
    fake.route('/cgi-bin/media/get', (u, _b, res) => {
      if (!fake.isLive(u.searchParams.get('access_token') ?? '', 'AT', WX))
        return fake.json(res, { errcode: 40001, errmsg: 'invalid credential' });
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-disposition': 'attachment; filename="a.jpg"' });
      res.end(MEDIA);
    });
    node = await startNode({ dialect: 'sqlite', fake, env: { GATEHOUSE_PROXY_BODY_LIMIT: '65536' } });
    const admin = node.token('admin.*');
    await node.rpc(
      'admin.app.put',
      { platform: 'wechat_app', codeName: 'mp', config: { appId: WX, secret: 's', tokenMode: 'classic' } },
      admin,
    );
    await node.rpc(
      'admin.app.put',
      { platform: 'wecom_corp', codeName: 'hr', config: { corpId: CORP, agentId: 1000002, secret: 'cs' } },
      admin,
    );
    await node.rpc(
      'admin.app.put',
      { platform: 'wechat_tp', codeName: 'tp', config: { appId: COMPONENT, secret: 'ts', token: 'tk', aesKey: AES } },
      admin,
    );
    await node.rpc(
      'admin.app.put',
      { platform: 'wecom_tp', codeName: 'suite', config: { suiteId: SUITE, secret: 'ss', token: 'tk', aesKey: AES } },
      admin,
    );
    caller = node.token('proxy.*');
  });
  after(async () => {
    await node?.close();
    await fake?.stop();
  });
  beforeEach(() => {
    seen = [];
  });

  it("wechat-app: adds access_token, replaces the caller's, passes method, query, body, type; status, headers and body verbatim", async () => {
    const res = await call('/proxy/wechat-app/mp/cgi-bin/user/get?next_openid=o1&access_token=mine&x=1&x=2', {
      method: 'POST',
      body: '{"a":1}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).to.equal(201);
    expect(res.headers.get('x-platform')).to.equal('fake');
    const body = (await res.json()) as any;
    expect(body.echo).to.equal('{"a":1}');
    expect(seen).to.have.length(1);
    expect(seen[0].method).to.equal('POST');
    expect(seen[0].type).to.equal('application/json');
    expect(seen[0].query.next_openid).to.deep.equal(['o1']);
    expect(seen[0].query.x).to.deep.equal(['1', '2']);
    expect(seen[0].query.access_token).to.have.length(1);
    expect(seen[0].query.access_token[0]).to.not.equal('mine');
    expect(fake.isLive(seen[0].query.access_token[0])).to.equal(true);
  });

  it('streams a large binary answer through unchanged', async () => {
    const res = await call('/proxy/wechat-app/mp/cgi-bin/media/get?media_id=m1');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('image/jpeg');
    expect(Buffer.from(await res.arrayBuffer()).equals(MEDIA)).to.equal(true);
  });

  it('on 40001 invalidates exactly that token and retries once', async () => {
    const first = (await node.rpc('wechat.app.token', { codeName: 'mp' }, node.token('wechat.*'))).returnData.token;
    fake.expireAll();
    const before = fake.count('token');
    const res = await call('/proxy/wechat-app/mp/cgi-bin/menu/get');
    expect(res.status).to.equal(201);
    expect(fake.count('token')).to.equal(before + 1);
    expect(seen).to.have.length(2);
    expect(seen[0].query.access_token[0]).to.equal(first);
    expect(seen[1].query.access_token[0]).to.not.equal(first);
    // the refusing answer is counted with the errcode it carried
    expect(await (await fetch(`${node.url}/metrics`)).text()).to.match(
      /^gatehouse_upstream_requests_total\{platform="wechat",api="proxy",errcode="40001"\} [1-9]/m,
    );
  });

  it('proxied calls are counted in the upstream metrics like every other platform call (api "proxy")', async () => {
    const metrics = async () => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const counts: Record<string, number> = {};
      for (const m of text.matchAll(
        /^gatehouse_upstream_requests_total\{platform="wechat",api="proxy",errcode="([^"]+)"\} (\d+)$/gm,
      ))
        counts[m[1]] = Number(m[2]);
      return counts;
    };
    const before = await metrics();
    await call('/proxy/wechat-app/mp/cgi-bin/user/get');
    expect(seen).to.have.length(1);
    expect((await metrics())['0']).to.equal((before['0'] ?? 0) + 1);
    await call('/proxy/wechat-app/mp/cgi-bin/media/get?media_id=m1');
    // every platform call the proxy made is counted once (the binary answer streamed, not read)
    const after = await metrics();
    const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    expect(total(after) - total(before)).to.equal(2);
    expect(after['0']).to.equal((before['0'] ?? 0) + 2);
  });

  it('works with the wechat-api client library pointed at the proxy', async () => {
    const api = new WechatAPI(
      WX,
      'not-used',
      (cb) => cb(null, { accessToken: 'client-side-token', expireTime: Date.now() + 3_600_000 }),
      (_t, cb) => cb(null),
    );
    api.endpoint = `${node.url}/proxy/wechat-app/mp`;
    api.setOpts({ headers: { authorization: `Bearer ${caller}` }, timeout: 10_000 });
    const menu = await new Promise<any>((resolve, reject) => api.getMenu((err, r) => (err ? reject(err) : resolve(r))));
    expect(menu.menu.button[0].name).to.equal('菜单');
    expect(seen[0].query.access_token[0]).to.not.equal('client-side-token');
  });

  it('refuses: no or bad caller token 401, wrong scope or apps 403, unknown codeName 404, escaping paths 400, oversized 413', async () => {
    expect((await call('/proxy/wechat-app/mp/cgi-bin/menu/get', {}, null)).status).to.equal(401);
    const r401 = await call('/proxy/wechat-app/mp/cgi-bin/menu/get', {}, 'garbage');
    expect(r401.status).to.equal(401);
    expect(await r401.json()).to.deep.equal({ returnCode: 4001, returnMessage: 'UNAUTHENTICATED' });
    expect((await call('/proxy/wechat-app/mp/cgi-bin/menu/get', {}, node.token('proxy.wecom_corp'))).status).to.equal(
      403,
    );
    expect(
      (await call('/proxy/wechat-app/mp/cgi-bin/menu/get', {}, node.token('proxy.wechat_app', ['other']))).status,
    ).to.equal(403);
    expect(
      (await call('/proxy/wechat-app/mp/cgi-bin/menu/get', {}, node.token('proxy.wechat_app', [WX]))).status,
    ).to.equal(201);
    const r404 = await call('/proxy/wechat-app/nope/cgi-bin/menu/get');
    expect(r404.status).to.equal(404);
    expect(await r404.json()).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
    seen = [];
    const before = fake.count('unknown');
    for (const bad of [
      '/cgi-bin/../../etc/passwd',
      '/cgi-bin/%2e%2e/%2e%2e/x',
      '/cgi-bin%2fmenu%2fget',
      '/cgi-bin%5cmenu',
      '/http:%2f%2fevil.example.com/x',
      '/%2F%2Fevil.example.com/x',
    ]) {
      const r = await fetch(`${node.url}/proxy/wechat-app/mp${bad}`, {
        headers: { authorization: `Bearer ${caller}` },
      });
      expect([400, 404], bad).to.include(r.status);
    }
    expect(seen).to.deep.equal([]);
    expect(fake.count('unknown')).to.equal(before);
    const big = await call('/proxy/wechat-app/mp/cgi-bin/user/get', { method: 'POST', body: 'x'.repeat(70_000) });
    expect(big.status).to.equal(413);
  });

  it('a caller token verified once is cached, and refused at once (401) when its jti is revoked', async () => {
    const victim = node.token('proxy.*');
    const jti = JSON.parse(Buffer.from(victim.split('.')[1], 'base64url').toString('utf8')).jti as string;
    for (let i = 0; i < 3; i++)
      expect((await call('/proxy/wechat-app/mp/cgi-bin/menu/get', {}, victim)).status).to.equal(201);
    const revoked = await node.rpc('admin.caller.revoke', { jti }, node.token('admin.*'));
    expect(revoked.returnData).to.deep.equal({ revoked: true });
    const res = await call('/proxy/wechat-app/mp/cgi-bin/menu/get', {}, victim);
    expect(res.status).to.equal(401);
    expect(await res.json()).to.deep.equal({ returnCode: 4001, returnMessage: 'UNAUTHENTICATED' });
    expect((await call('/proxy/wechat-app/mp/cgi-bin/menu/get')).status).to.equal(201); // another caller still passes
  });

  it('wecom-corp, wechat-tp, wechat-tpauth, wecom-tp and wecom-tpauth add their own tokens; proxy.wechat_tp covers wechat-tpauth, proxy.wecom_tp wecom-tpauth', async () => {
    expect((await call('/proxy/wecom-corp/hr/cgi-bin/agent/get?agentid=1000002')).status).to.equal(201);
    expect(seen[0].query.access_token[0]).to.match(/^WT_/);
    // the third-party platforms need their tickets first
    expect(
      (await call('/proxy/wechat-tp/tp/cgi-bin/component/api_get_authorizer_info', { method: 'POST', body: '{}' }))
        .status,
    ).to.equal(503);
    wx.acceptTicket(COMPONENT, 'ticket@@@p');
    const p = signedPush(
      'tk',
      AES,
      COMPONENT,
      xml({
        AppId: COMPONENT,
        CreateTime: 1,
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: 'ticket@@@p',
      }),
    );
    await fetch(`${node.url}/wechat-tp/tp/events?${p.query}`, { method: 'POST', body: p.body });
    seen = [];
    expect(
      (await call('/proxy/wechat-tp/tp/cgi-bin/component/api_get_authorizer_info', { method: 'POST', body: '{}' }))
        .status,
    ).to.equal(201);
    expect(seen[0].query.component_access_token[0]).to.match(/^CT_/);
    const code = wx.authorizationCode(COMPONENT, 'wxauthorizedproxy');
    // the redirect carries the state nonce the authorization page put into redirect_uri (§7 trust)
    const wxPage = await (await fetch(`${node.url}/wechat-tp/tp/authorize`)).text();
    const redirectUri = new URL(
      new URL(/id="go" href="([^"]+)"/.exec(wxPage)![1].replace(/&amp;/g, '&')).searchParams.get('redirect_uri')!,
    );
    const wxState = redirectUri.searchParams.get('state')!;
    expect(
      (
        await fetch(`${node.url}/wechat-tp/tp/authorized?auth_code=${encodeURIComponent(code)}&state=${wxState}`, {
          redirect: 'manual',
        })
      ).status,
    ).to.equal(200);
    expect((await call('/proxy/wechat-tpauth/tp/wxauthorizedproxy/cgi-bin/menu/get')).status).to.equal(201);
    expect(seen[1].query.access_token[0]).to.match(/^AAT_wxauthorizedproxy_/);
    expect((await call('/proxy/wechat-tpauth/tp/wxnotauthorized/cgi-bin/menu/get')).status).to.equal(404);
    const st = signedPush(
      'tk',
      AES,
      SUITE,
      xml({ SuiteId: SUITE, InfoType: 'suite_ticket', TimeStamp: 1, SuiteTicket: wc.ticket(SUITE) }),
    );
    await fetch(`${node.url}/wecom-tp/suite/events?${st.query}`, { method: 'POST', body: st.body });
    seen = [];
    expect(
      (await call('/proxy/wecom-tp/suite/cgi-bin/service/get_auth_info', { method: 'POST', body: '{}' })).status,
    ).to.equal(201);
    expect(seen[0].query.suite_access_token).to.have.length(1);
    expect(fake.tokenOf(seen[0].query.suite_access_token[0])).to.deep.equal({ kind: 'SUITE', owner: SUITE });
    const auth = wc.authCode(SUITE, 'wwcorpproxy');
    const wcPage = await (await fetch(`${node.url}/wecom-tp/suite/install`)).text();
    const wcState = new URL(/id="go" href="([^"]+)"/.exec(wcPage)![1].replace(/&amp;/g, '&')).searchParams.get(
      'state',
    )!;
    expect(
      (await fetch(`${node.url}/wecom-tp/suite/installed?auth_code=${auth}&state=${wcState}`, { redirect: 'manual' }))
        .status,
    ).to.equal(200);
    expect((await call('/proxy/wecom-tpauth/suite/wwcorpproxy/cgi-bin/agent/get')).status).to.equal(201);
    expect(seen[1].query.access_token).to.have.length(1);
    expect(fake.tokenOf(seen[1].query.access_token[0])).to.deep.equal({ kind: 'CORP', owner: `${SUITE}.wwcorpproxy` });
    // the authorizer proxies fall under their platform's scope (there is no proxy.wechat_tpauth / proxy.wecom_tpauth)
    const status = async (path: string, scope: string) => (await call(path, {}, node.token(scope))).status;
    const wxAuth = '/proxy/wechat-tpauth/tp/wxauthorizedproxy/cgi-bin/menu/get';
    const wcAuth = '/proxy/wecom-tpauth/suite/wwcorpproxy/cgi-bin/agent/get';
    expect(await status(wxAuth, 'proxy.wechat_tp')).to.equal(201);
    expect(await status(wcAuth, 'proxy.wecom_tp')).to.equal(201);
    for (const scope of ['proxy.wechat_app', 'proxy.wecom_tp', 'proxy.wechat_tpauth', 'wechat.*'])
      expect(await status(wxAuth, scope), scope).to.equal(403);
    for (const scope of ['proxy.wecom_corp', 'proxy.wechat_tp', 'proxy.wecom_tpauth', 'wecom.*'])
      expect(await status(wcAuth, scope), scope).to.equal(403);
  });

  it('wecom-tp: a suite token WeCom refuses (40082 invalid, 42009 expired) is compare-and-refreshed and the call sent once more', async () => {
    const st = signedPush(
      'tk',
      AES,
      SUITE,
      xml({
        SuiteId: SUITE,
        InfoType: 'suite_ticket',
        TimeStamp: Math.floor(Date.now() / 1000),
        SuiteTicket: wc.ticket(SUITE),
      }),
    );
    expect(
      (await fetch(`${node.url}/wecom-tp/suite/events?${st.query}`, { method: 'POST', body: st.body })).status,
    ).to.equal(200);
    const used: string[] = [];
    const refuse: number[] = [];
    fake.route('/cgi-bin/service/get_admin_list', (u, _b, res) => {
      const token = u.searchParams.get('suite_access_token') ?? '';
      used.push(token);
      const errcode = refuse.shift();
      if (errcode !== undefined) return fake.json(res, { errcode, errmsg: 'suite token no good' });
      if (!fake.isLive(token, 'SUITE', SUITE)) return fake.json(res, { errcode: 40082, errmsg: 'invalid suite_token' });
      fake.json(res, { errcode: 0, errmsg: 'ok', admin: [] });
    });
    const adminList = () =>
      call('/proxy/wecom-tp/suite/cgi-bin/service/get_admin_list', {
        method: 'POST',
        body: '{"auth_corpid":"wwcorpproxy","agentid":1}',
        headers: { 'content-type': 'application/json' },
      });
    for (const errcode of [40082, 42009]) {
      // the shared refresh budget: the suite token's last forced refresh 30 s back
      await node.db.exec('UPDATE tokens SET forced_at = ?', [Date.now() - 60_000]);
      expect((await adminList()).status).to.equal(200);
      used.length = 0;
      const before = fake.count('get_suite_token');
      refuse.push(errcode);
      const res = await adminList();
      expect(res.status, String(errcode)).to.equal(200);
      expect(await res.json()).to.deep.equal({ errcode: 0, errmsg: 'ok', admin: [] });
      expect(used).to.have.length(2);
      expect(used[1]).to.not.equal(used[0]);
      expect(fake.isLive(used[1], 'SUITE', SUITE)).to.equal(true);
      expect(fake.count('get_suite_token')).to.equal(before + 1);
    }
  });
});
