import { expect } from 'chai';
import crypto from 'node:crypto';
import http from 'node:http';
// an independent implementation of WeCom's message crypto, to build what WeCom would push
import { encrypt as wecomEncrypt, getSignature } from '@wecom/crypto';
import { configFromEnv } from '../../system/config';
import { startFakes, type Fakes } from '../helpers/fakes';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { signedPush, xml } from '../helpers/push';

/*
 * The varys-compatible routes (GATEHOUSE_VARYS_COMPAT=true) driven the way varys's drivers drive
 * them. Each request below is the one a driver builds, from its source:
 *   - varys-java-driver, impl/Query.java (@Mapping paths, @PathVar, @Parameter), resp/*.java (the
 *     fields it reads), config/VarysConfig.java (proxy-wechat-app, proxy-wechat-tp, proxy-wechat-tp-auth,
 *     proxy-wechat-corp, proxy-fengniao-app, proxy-shansong-app-developer / -merchant / -file under
 *     the address)
 *   - varys-go-driver, query_cache.go (GET /query-…/{codeName}[/{id}]), proxy.go (WechatApp, WechatTp,
 *     WechatCorp: Config.Path(prefix, codeName, path) with the caller's method, params and body)
 * and each answer is compared, key for key and type for type, with what varys's handlers wrote
 * (CharLemAznable/varys: wechat/app, wechat/apptp, wechat/corp, wechat/corptp, toutiao/app,
 * fengniao/app, shansong/app handle.go / cache.go; wechat/jsapi/elf.go JsConfig).
 */

const BASE = '/varys';
const WX = 'wxapp000000000001';
const WX_SECRET = 'wechat-app-secret-01';
const COMPONENT = 'wxcomponent000001';
const COMPONENT_SECRET = 'component-secret-01';
const TP_TOKEN = 'push-token-1';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const AUTHORIZER = 'wxauthorizer00001';
const CORP = 'wwcorp00000000001';
const CORP_SECRET = 'corp-secret-000001';
const SUITE = 'wwsuite000000001';
const SUITE_SECRET = 'suite-secret-0001';
const SUITE_TOKEN = 'suitePushToken1';
const SUITE_CORP = 'wwcorp000000000c9';
const TT = 'tt0000000000000001';
const TT_SECRET = 'toutiao-secret-01';
const FN = '3000001';
const FN_SECRET = 'fengniao-secret-01';
const FN_MERCHANT = '555001';
const SS = 'ss0000000001';
const SS_SECRET = 'shansong-secret-01';
const SS_MERCHANT = 'M001';
const PUBLIC = 'https://gh.example.test';

/** a JSON value's shape: each key with its JSON type */
function shape(v: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Array.isArray(x) ? 'array' : typeof x]));
}

describe('varys-compatible routes', () => {
  let f: Fakes;
  let node: TestNode;
  let admin: string;

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${node.url}${BASE}${path}`, { headers, redirect: 'manual' });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text, headers: res.headers };
  };
  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${node.url}${BASE}${path}`, { method: 'POST', body, headers, redirect: 'manual' });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json, text };
  };
  const put = async (platform: string, codeName: string, config: Record<string, unknown>) => {
    const r = await node.rpc('admin.app.put', { platform, codeName, config }, admin);
    expect(r.returnCode, JSON.stringify(r)).to.equal(0);
  };

  /** a WeChat 授权事件 push, encrypted and signed as WeChat sends it, to varys's accept-wechat-tp-info */
  const tpPush = (fields: Record<string, string | number>) => {
    const p = signedPush(TP_TOKEN, AES, COMPONENT, xml(fields));
    return post(`/accept-wechat-tp-info/tp?${p.query}`, p.body, { 'content-type': 'text/xml' });
  };
  /** a WeCom suite push (receiver id = suite id) to varys's accept-wechat-corp-tp-info */
  const suitePush = (fields: Record<string, string | number>) => {
    const inner = xml(fields);
    const enc = wecomEncrypt(AES, inner, SUITE);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = crypto.randomBytes(5).toString('hex');
    const q = new URLSearchParams({
      msg_signature: getSignature(SUITE_TOKEN, timestamp, nonce, enc),
      timestamp,
      nonce,
    });
    const body = `<xml><ToUserName><![CDATA[${SUITE}]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt></xml>`;
    return post(`/accept-wechat-corp-tp-info/suite?${q}`, body, { 'content-type': 'text/xml' });
  };

  before(async () => {
    f = await startFakes();
    f.fake.app(WX, WX_SECRET);
    f.fake.app(COMPONENT, COMPONENT_SECRET);
    f.fake.app(CORP, CORP_SECRET);
    f.fake.app(TT, TT_SECRET);
    f.wc.suite(SUITE, SUITE_SECRET);
    f.fn.app(FN, FN_SECRET);
    f.ss.client(SS, SS_SECRET);
    const url = f.fake.url;
    node = await startNode({
      dialect: 'sqlite',
      fake: f.fake,
      env: {
        GATEHOUSE_VARYS_COMPAT: 'true',
        GATEHOUSE_VARYS_BASE_PATH: BASE,
        GATEHOUSE_PUBLIC_URL: PUBLIC,
        GATEHOUSE_WECHAT_MP: url,
        GATEHOUSE_WECOM_OPEN: url,
        GATEHOUSE_TOUTIAO_API: url,
        GATEHOUSE_FENGNIAO_API: url,
        GATEHOUSE_FENGNIAO_OPEN: url,
        GATEHOUSE_SHANSONG_API: url,
      },
    });
    admin = node.token('admin.*');
    await put('wechat_app', 'shop', { appId: WX, secret: WX_SECRET, tokenMode: 'classic' });
    await put('wechat_tp', 'tp', { appId: COMPONENT, secret: COMPONENT_SECRET, token: TP_TOKEN, aesKey: AES });
    await put('wecom_corp', 'corp', { corpId: CORP, agentId: 1000002, secret: CORP_SECRET });
    await put('wecom_tp', 'suite', { suiteId: SUITE, secret: SUITE_SECRET, token: SUITE_TOKEN, aesKey: AES });
    await put('toutiao_app', 'tt', { appId: TT, secret: TT_SECRET });
    await put('fengniao_app', 'fn', { appId: FN, devId: 'dev001', secret: FN_SECRET });
    await put('shansong_app', 'ss', { appId: SS, secret: SS_SECRET });

    // state through the platform routes, under varys's paths: the component_verify_ticket and an
    // authorization (accept-wechat-tp-info), a suite_ticket and an install (accept-wechat-corp-tp-info),
    // a Fengniao merchant (fengniao-app-auth-callback), a Shansong merchant (shansong-app-auth …)
    const now = Math.floor(Date.now() / 1000);
    f.wx.acceptTicket(COMPONENT, 'ticket@@@varys');
    const t = await tpPush({
      AppId: COMPONENT,
      CreateTime: now,
      InfoType: 'component_verify_ticket',
      ComponentVerifyTicket: 'ticket@@@varys',
    });
    expect(t).to.deep.include({ status: 200, text: 'success' });
    const auth = await tpPush({
      AppId: COMPONENT,
      CreateTime: now + 1,
      InfoType: 'authorized',
      AuthorizerAppid: AUTHORIZER,
      AuthorizationCode: f.wx.authorizationCode(COMPONENT, AUTHORIZER),
      AuthorizationCodeExpiredTime: now + 3600,
      PreAuthCode: 'preauthcode@@@1',
    });
    expect(auth).to.deep.include({ status: 200, text: 'success' });
    const st = await suitePush({
      SuiteId: SUITE,
      InfoType: 'suite_ticket',
      TimeStamp: now,
      SuiteTicket: f.wc.ticket(SUITE),
    });
    expect(st).to.deep.include({ status: 200, text: 'success' });
    const ca = await suitePush({
      SuiteId: SUITE,
      AuthCode: f.wc.authCode(SUITE, SUITE_CORP),
      InfoType: 'create_auth',
      TimeStamp: now + 1,
    });
    expect(ca).to.deep.include({ status: 200, text: 'success' });
    const fn = await post(
      '/fengniao-app-auth-callback/fn',
      JSON.stringify({ code: f.fn.authCode(FN, FN_MERCHANT), merchant_id: FN_MERCHANT, scope: 'all' }),
      { 'content-type': 'application/json' },
    );
    expect(fn.status).to.equal(200);
    // Shansong: varys's authorize page → Shansong's page → back to the redirect
    const page = await get(`/shansong-app-auth/ss/${SS_MERCHANT}`);
    expect(page.status).to.equal(200);
    const target = /id="go" href="([^"]+)"/.exec(page.text)![1].replace(/&amp;/g, '&');
    f.ss.loginAs = SS_MERCHANT;
    const login = await (await fetch(target)).text();
    const approve = new URL(/id="approve" href="([^"]+)"/.exec(login)![1].replace(/&amp;/g, '&'));
    const back = await fetch(`${node.url}${approve.pathname}${approve.search}`, { redirect: 'manual' });
    expect(back.status).to.equal(200);
    f.fake.reset();
  });
  after(async () => {
    await node?.close();
    await f?.fake.stop();
  });

  describe('query routes: the drivers\u2019 requests, varys\u2019s answers', () => {
    it('GET /query-wechat-app-token/{codeName} → {appId, token, ticket} (Java wechatAppToken, Go wechatAppTokenLoader)', async () => {
      const r = await get('/query-wechat-app-token/shop');
      expect(r.status).to.equal(200);
      expect(shape(r.body)).to.deep.equal({ appId: 'string', token: 'string', ticket: 'string' });
      expect(r.body.appId).to.equal(WX);
      expect(f.fake.isLive(r.body.token)).to.equal(true);
      expect(f.fake.isLive(r.body.ticket)).to.equal(true);
      // the same engine: the RPC interface answers the same token, no second fetch
      const rpc = await node.rpc('wechat.app.token', { codeName: 'shop' }, node.token('wechat.*'));
      expect(rpc.returnData.token).to.equal(r.body.token);
      expect(f.fake.count('token')).to.equal(1);
    });

    it('a ticket the platform could not give for a moment (HTTP 503) is asked for again on the next call, not hidden for minutes', async () => {
      const appId = 'wx00000000000000b2';
      const secret = 'b2'.repeat(16);
      f.fake.app(appId, secret);
      await put('wechat_app', 'shop2', { appId, secret, tokenMode: 'classic' });
      f.fake.mode('getticket', { http: 503 });
      const first = await get('/query-wechat-app-token/shop2');
      f.fake.mode('getticket', null);
      expect(first.body.ticket).to.equal('');
      expect(f.fake.isLive(first.body.token)).to.equal(true);
      const again = await get('/query-wechat-app-token/shop2');
      expect(f.fake.isLive(again.body.ticket)).to.equal(true);
    });

    it('GET /query-wechat-app-js-config/{codeName}?url= → {appId, nonceStr, timestamp (a number), signature}', async () => {
      const url = 'https://shop.example.com/page?a=1';
      const r = await get(`/query-wechat-app-js-config/shop?url=${encodeURIComponent(url)}`);
      expect(shape(r.body)).to.deep.equal({
        appId: 'string',
        nonceStr: 'string',
        timestamp: 'number',
        signature: 'string',
      });
      const ticket = (await get('/query-wechat-app-token/shop')).body.ticket as string;
      const plain = `jsapi_ticket=${ticket}&noncestr=${r.body.nonceStr}&timestamp=${r.body.timestamp}&url=${url}`;
      expect(r.body.signature).to.equal(crypto.createHash('sha1').update(plain).digest('hex'));
      expect((await get('/query-wechat-app-js-config/shop')).body).to.deep.equal({ error: 'url is Empty' });
    });

    it('GET /proxy-wechat-app-mp-login/{codeName}?js_code= → WeChat\u2019s {openid, session_key, unionid} or {errcode, errmsg}', async () => {
      const c = f.fake.code({ appid: WX, unionid: 'union-1' });
      const r = await get(`/proxy-wechat-app-mp-login/shop?js_code=${c.code}`);
      expect(r.body).to.deep.equal({ openid: c.openid, session_key: c.sessionKey, unionid: 'union-1' });
      const bad = await get('/proxy-wechat-app-mp-login/shop?js_code=fail:40163');
      expect(shape(bad.body)).to.deep.equal({ errcode: 'number', errmsg: 'string' });
      expect(bad.body.errcode).to.equal(40163);
      expect((await get('/proxy-wechat-app-mp-login/shop')).body).to.deep.equal({ error: 'js_code is Empty' });
      // the older Java driver's path
      const c2 = f.fake.code({ appid: WX });
      expect((await get(`/proxy-wechat-mp-login/shop?js_code=${c2.code}`)).body).to.deep.equal({
        openid: c2.openid,
        session_key: c2.sessionKey,
      });
    });

    it('GET /query-wechat-tp-token/{codeName} → {appId, token}', async () => {
      const r = await get('/query-wechat-tp-token/tp');
      expect(r.body).to.deep.equal({ appId: COMPONENT, token: r.body.token });
      expect(f.fake.isLive(r.body.token, 'CT')).to.equal(true);
    });

    it('GET /query-wechat-tp-auth-token/{codeName}/{authorizerAppId} → {appId, authorizerAppId, token, ticket}', async () => {
      const r = await get(`/query-wechat-tp-auth-token/tp/${AUTHORIZER}`);
      expect(shape(r.body)).to.deep.equal({
        appId: 'string',
        authorizerAppId: 'string',
        token: 'string',
        ticket: 'string',
      });
      expect(r.body).to.include({ appId: COMPONENT, authorizerAppId: AUTHORIZER });
      expect(f.fake.isLive(r.body.token)).to.equal(true);
      // the Go driver's older path
      const old = await get(`/query-wechat-app-authorizer-token/tp/${AUTHORIZER}`);
      expect(old.body.token).to.equal(r.body.token);
      expect((await get('/query-wechat-tp-auth-token/tp')).body).to.deep.equal({
        error: 'Missing param codeName/authorizerAppId',
      });
      expect((await get('/query-wechat-tp-auth-token/')).body).to.deep.equal({ error: 'Path Params is Empty' });
    });

    it('GET /query-wechat-tp-auth-js-config/{codeName}/{authorizerAppId}?url= → the authorizer\u2019s JsConfig', async () => {
      const r = await get(
        `/query-wechat-tp-auth-js-config/tp/${AUTHORIZER}?url=${encodeURIComponent('https://a.example/')}`,
      );
      expect(shape(r.body)).to.deep.equal({
        appId: 'string',
        nonceStr: 'string',
        timestamp: 'number',
        signature: 'string',
      });
      expect(r.body.appId).to.equal(AUTHORIZER);
    });

    it('GET /proxy-wechat-tp-auth-mp-login/{codeName}/{authorizerAppId}?js_code= → WeChat\u2019s answer', async () => {
      const c = { code: `tpcode_${crypto.randomBytes(4).toString('hex')}` };
      const r = await get(`/proxy-wechat-tp-auth-mp-login/tp/${AUTHORIZER}?js_code=${c.code}`);
      expect(shape(r.body)).to.deep.equal({ openid: 'string', session_key: 'string' });
      expect(r.body.openid).to.equal(`o_${c.code}`);
      // varys asked for a third segment (SplitN 3): that form is taken too
      expect((await get(`/proxy-wechat-tp-auth-mp-login/tp/${AUTHORIZER}/?js_code=${c.code}x`)).body.openid).to.equal(
        `o_${c.code}x`,
      );
    });

    it('GET /query-wechat-corp-token/{codeName} → {corpId, token}', async () => {
      const r = await get('/query-wechat-corp-token/corp');
      expect(r.body).to.deep.equal({ corpId: CORP, token: r.body.token });
      expect(f.fake.isLive(r.body.token)).to.equal(true);
    });

    it('GET /query-wechat-corp-tp-auth-token/{codeName}/{corpId} → {suiteId, corpId, token}', async () => {
      const r = await get(`/query-wechat-corp-tp-auth-token/suite/${SUITE_CORP}`);
      expect(r.body).to.deep.equal({ suiteId: SUITE, corpId: SUITE_CORP, token: r.body.token });
      expect(r.body.token).to.be.a('string').and.not.equal('');
    });

    it('GET /query-toutiao-app-token/{codeName} → {appId, token}', async () => {
      const r = await get('/query-toutiao-app-token/tt');
      expect(r.body).to.deep.equal({ appId: TT, token: r.body.token });
      expect(f.fake.isLive(r.body.token)).to.equal(true);
    });

    it('GET /query-fengniao-app-token/{codeName}/{merchantId} → {appId, merchantId, token}', async () => {
      const r = await get(`/query-fengniao-app-token/fn/${FN_MERCHANT}`);
      expect(r.body).to.deep.equal({
        appId: FN,
        merchantId: FN_MERCHANT,
        token: f.fn.merchant(FN, FN_MERCHANT)!.accessToken,
      });
      // the Go driver's older form (no merchant): varys's own answer to it
      expect((await get('/query-fengniao-app-token/fn')).body).to.deep.equal({
        error: 'Missing param codeName/merchantId',
      });
    });

    it('GET /query-shansong-app-token/{codeName}/{merchantCode} → {appId, merchantCode, token}', async () => {
      const r = await get(`/query-shansong-app-token/ss/${SS_MERCHANT}`);
      expect(r.body).to.deep.equal({ appId: SS, merchantCode: SS_MERCHANT, token: r.body.token });
      expect(r.body.token).to.be.a('string').and.not.equal('');
    });

    it('errors are varys\u2019s {"error": …} with HTTP 200: unknown app, empty codeName, platform not ready', async () => {
      const unknown = await get('/query-wechat-app-token/nope');
      expect(unknown.status).to.equal(200);
      expect(shape(unknown.body)).to.deep.equal({ error: 'string' });
      expect(unknown.body.error).to.match(/^NO_APP/);
      expect((await get('/query-wechat-app-token/')).body).to.deep.equal({ error: 'codeName is Empty' });
      expect((await get('/query-fengniao-app-token/fn/999')).body.error).to.match(/^NOT_READY/);
    });
  });

  describe('proxies: the request goes through with the token added, the platform\u2019s answer comes back', () => {
    it('Go WechatApp(codeName, "/cgi-bin/…").Get() and .Post(): /proxy-wechat-app/{codeName}/{path}', async () => {
      const hits: { url: string; body: string }[] = [];
      f.fake.route('/cgi-bin/menu/get', (u, body, res) => {
        hits.push({ url: u.toString(), body });
        f.fake.json(res, { menu: { button: [] }, token: u.searchParams.get('access_token') });
      });
      const r = await get('/proxy-wechat-app/shop/cgi-bin/menu/get?lang=zh_CN');
      expect(r.status).to.equal(200);
      expect(r.body.menu).to.deep.equal({ button: [] });
      expect(f.fake.isLive(r.body.token)).to.equal(true);
      expect(new URL(hits[0].url).searchParams.get('lang')).to.equal('zh_CN');
      const p = await post('/proxy-wechat-app/shop/cgi-bin/menu/get', '{"x":1}', {
        'content-type': 'application/json',
      });
      expect(hits[1].body).to.equal('{"x":1}');
      expect(p.status).to.equal(200);
      expect((await get('/proxy-wechat-app/shop')).body).to.deep.equal({ error: 'Missing param codeName/proxy-path' });
      expect((await get('/proxy-wechat-app/shop/')).body).to.deep.equal({ error: 'proxy PATH is Empty' });
      expect((await get('/proxy-wechat-app/nope/cgi-bin/menu/get')).body).to.deep.equal({ error: 'NO_APP' });
    });

    it('/proxy-wechat-tp/{codeName}/{path} adds component_access_token; /proxy-wechat-tp-auth/{codeName}/{appid}/{path} the authorizer\u2019s', async () => {
      f.fake.route('/cgi-bin/component/varys_test', (u, _b, res) =>
        f.fake.json(res, { token: u.searchParams.get('component_access_token') }),
      );
      f.fake.route('/cgi-bin/get_current_selfmenu_info', (u, _b, res) =>
        f.fake.json(res, { token: u.searchParams.get('access_token') }),
      );
      const tp = await post('/proxy-wechat-tp/tp/cgi-bin/component/varys_test', '{}');
      expect(f.fake.isLive(tp.body.token, 'CT')).to.equal(true);
      const auth = await get(`/proxy-wechat-tp-auth/tp/${AUTHORIZER}/cgi-bin/get_current_selfmenu_info`);
      expect(auth.body.token).to.equal((await get(`/query-wechat-tp-auth-token/tp/${AUTHORIZER}`)).body.token);
    });

    it('/proxy-wechat-corp/{codeName}/{path} (Go WechatCorp(…).Params(…).Post())', async () => {
      f.fake.route('/cgi-bin/user/get', (u, body, res) =>
        f.fake.json(res, { errcode: 0, token: u.searchParams.get('access_token'), body }),
      );
      const r = await post('/proxy-wechat-corp/corp/cgi-bin/user/get', 'a=b', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(r.body).to.deep.equal({
        errcode: 0,
        token: (await get('/query-wechat-corp-token/corp')).body.token,
        body: 'a=b',
      });
    });

    it('/proxy-fengniao-app/{codeName}/{merchantId}/{path}: the body is the business data, signed with the merchant token', async () => {
      f.fn.invokeReply = (api, businessData) => ({
        code: '200',
        msg: 'success',
        business_data: { api, echo: businessData },
      });
      const r = await post(`/proxy-fengniao-app/fn/${FN_MERCHANT}/getAmount`, '{"order":1}', {
        'content-type': 'application/json',
      });
      expect(r.status).to.equal(200);
      expect(r.body.code).to.equal('200');
      f.fn.invokeReply = undefined;
    });

    it('/proxy-shansong-app-developer/{codeName}/{merchantCode}/{path}: data form-signed with the merchant token', async () => {
      const r = await post(`/proxy-shansong-app-developer/ss/${SS_MERCHANT}/openCitiesLists`, '');
      expect(r.status).to.equal(200);
      expect(r.body.status).to.equal(200);
      expect(f.ss.calls.at(-1)!.form.accessToken).to.equal(
        (await get(`/query-shansong-app-token/ss/${SS_MERCHANT}`)).body.token,
      );
    });
  });

  describe('platform routes: gatehouse\u2019s own under varys\u2019s paths', () => {
    it('accept-wechat-tp-info answers success; a forged push is not taken', async () => {
      const forged = signedPush(
        'not-the-token',
        AES,
        COMPONENT,
        xml({ AppId: COMPONENT, CreateTime: 1, InfoType: 'x' }),
      );
      const r = await post(`/accept-wechat-tp-info/tp?${forged.query}`, forged.body, { 'content-type': 'text/xml' });
      expect(r.status).to.not.equal(200);
    });

    it('wechat-tp-authorize-scan / -link go to WeChat\u2019s page; fengniao-app-auth to Fengniao\u2019s', async () => {
      const scan = await get('/wechat-tp-authorize-scan/tp');
      expect(scan.status).to.equal(200);
      expect(scan.text).to.include('componentloginpage');
      const link = await get('/wechat-tp-authorize-link/tp');
      expect(link.text).to.include('bindcomponent');
      const fn = await get('/fengniao-app-auth/fn');
      expect(fn.text).to.include('app-auth');
      const suite = await get('/wechat-corp-tp-authorize-component/suite?state=s1');
      expect(suite.status).to.equal(200);
    });

    it('a redirect without gatehouse\u2019s state nonce is refused (400), nothing exchanged', async () => {
      const r = await get('/wechat-tp-authorize-redirect/tp?auth_code=x');
      expect(r.status).to.equal(400);
    });
  });

  describe('who may call: caller token when sent, else GATEHOUSE_VARYS_ALLOW', () => {
    it('a bad caller token is refused 401 even from an allowed address; a good one is checked for scope and apps', async () => {
      const bad = await get('/query-wechat-app-token/shop', { authorization: 'Bearer not-a-token' });
      expect(bad.status).to.equal(401);
      expect(shape(bad.body)).to.deep.equal({ error: 'string' });
      const ok = await get('/query-wechat-app-token/shop', {
        authorization: `Bearer ${node.token('wechat.app.*', ['shop'])}`,
      });
      expect(ok.status).to.equal(200);
      expect(ok.body.appId).to.equal(WX);
      const scope = await get('/query-wechat-app-token/shop', { authorization: `Bearer ${node.token('toutiao.*')}` });
      expect(scope.status).to.equal(403);
      // a caller token's apps claim must cover the app the path names
      const other = await get('/query-wechat-app-token/shop', { authorization: `Bearer ${node.token('*', ['tt'])}` });
      expect(other.status).to.equal(403);
      const tt = await get('/query-toutiao-app-token/tt', { authorization: `Bearer ${node.token('*', ['tt'])}` });
      expect(tt.status).to.equal(200);
      // …and the subject below it
      const authorizer = await get(`/query-wechat-tp-auth-token/tp/${AUTHORIZER}`, {
        authorization: `Bearer ${node.token('*', ['tp'])}`,
      });
      expect(authorizer.status).to.equal(403);
      // proxies: scope proxy.<platform>
      const px = await get('/proxy-wechat-app/shop/cgi-bin/menu/get', {
        authorization: `Bearer ${node.token('wechat.*')}`,
      });
      expect(px.status).to.equal(403);
      expect(shape(px.body)).to.deep.equal({ error: 'string' });
      const pxOk = await get('/proxy-wechat-app/shop/cgi-bin/menu/get', {
        authorization: `Bearer ${node.token('proxy.wechat_app', ['shop'])}`,
      });
      expect(pxOk.status).to.equal(200);
    });

    it('an absolute-form request target (GET http://host/…) reads the same path parameters as the router', async () => {
      const u = new URL(node.url);
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.request({
          host: u.hostname,
          port: u.port,
          path: `http://gatehouse${BASE}/query-wechat-app-token/shop`,
        });
        req.on('response', (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString()));
          res.on('end', () => resolve(t));
        });
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(body).appId).to.equal(WX);
    });

    it('a narrow caller token reaches no subject its claim does not cover through a rewritten proxy or the merchant API', async () => {
      const hits = f.fake.count('getticket');
      const tpOnly = { authorization: `Bearer ${node.token('*', ['tp'])}` };
      // the authorizer below the covered platform, through the re-dispatched /proxy/wechat-tpauth route
      const px = await get(`/proxy-wechat-tp-auth/tp/${AUTHORIZER}/cgi-bin/ticket/getticket?type=jsapi`, tpOnly);
      expect(px.status).to.equal(403);
      expect(shape(px.body)).to.deep.equal({ error: 'string' });
      const encoded = await get(`/proxy-wechat-tp-auth/t%70/${AUTHORIZER}/cgi-bin/ticket/getticket?type=jsapi`, tpOnly);
      expect(encoded.status).to.equal(403);
      expect(f.fake.count('getticket')).to.equal(hits);
      // Shansong's merchant registration, signed with the app's own secret
      const ss = await post('/proxy-shansong-app-merchant/ss/register', 'data=1', {
        authorization: `Bearer ${node.token('*', ['tt'])}`,
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(ss.status).to.equal(403);
      expect(JSON.parse(ss.text)).to.deep.equal({ error: 'caller token apps claim does not cover the app' });
      // without a token and from outside the allowlist nothing is reached either: see the allowlist tests
    });

    it('from loopback with a forwarding header and GATEHOUSE_TRUST_PROXY off: refused (a local proxy forwards everyone)', async () => {
      const r = await get('/query-wechat-app-token/shop', { 'x-forwarded-for': '127.0.0.1' });
      expect(r.status).to.equal(403);
    });
  });
});

describe('varys-compatible routes: the network allowlist', () => {
  let node: TestNode;
  const get = (n: TestNode, path: string, headers: Record<string, string> = {}) =>
    fetch(`${n.url}${path}`, { headers }).then(async (r) => ({ status: r.status, body: await r.json() }));
  afterEach(async () => node?.close());

  it('off by default: no varys route', async () => {
    node = await startNode({ dialect: 'sqlite' });
    expect((await fetch(`${node.url}/query-wechat-app-token/shop`)).status).to.equal(404);
  });

  it('a client outside GATEHOUSE_VARYS_ALLOW is refused 403 on every caller route; X-Forwarded-For is not trusted', async () => {
    node = await startNode({
      dialect: 'sqlite',
      env: { GATEHOUSE_VARYS_COMPAT: 'true', GATEHOUSE_VARYS_ALLOW: '10.0.0.0/8' },
    });
    for (const p of [
      '/query-wechat-app-token/shop',
      '/query-wechat-tp-auth-token/tp/wx1',
      '/query-fengniao-app-token/fn/1',
      '/proxy-wechat-app/shop/cgi-bin/menu/get',
      '/proxy-wechat-app-mp-login/shop?js_code=x',
    ]) {
      const r = await get(node, p);
      expect(r.status, p).to.equal(403);
      expect(Object.keys(r.body)).to.deep.equal(['error']);
      expect((await get(node, p, { 'x-forwarded-for': '10.1.2.3' })).status, p).to.equal(403);
    }
    // a caller token admits whatever the address
    const ok = await get(node, '/query-wechat-app-token/shop', { authorization: `Bearer ${node.token('*')}` });
    expect(ok.status).to.equal(200);
    expect(ok.body.error).to.match(/^NO_APP/);
  });

  it('with GATEHOUSE_TRUST_PROXY=true the forwarded address is the one judged', async () => {
    node = await startNode({
      dialect: 'sqlite',
      env: { GATEHOUSE_VARYS_COMPAT: 'true', GATEHOUSE_VARYS_ALLOW: '10.0.0.0/8', GATEHOUSE_TRUST_PROXY: 'true' },
    });
    expect((await get(node, '/query-wechat-app-token/shop', { 'x-forwarded-for': '10.1.2.3' })).status).to.equal(200);
    expect((await get(node, '/query-wechat-app-token/shop', { 'x-forwarded-for': '192.0.2.1' })).status).to.equal(403);
    expect((await get(node, '/query-wechat-app-token/shop')).status).to.equal(403);
    // a gateway that appends (nginx's $proxy_add_x_forwarded_for) keeps the client's own entry on the left:
    // only the entry the gateway added, the last, is judged
    const forged = { 'x-forwarded-for': '10.1.2.3, 192.0.2.1' };
    expect((await get(node, '/query-wechat-app-token/shop', forged)).status).to.equal(403);
    expect((await get(node, '/proxy-wechat-app/shop/cgi-bin/menu/get', forged)).status).to.equal(403);
    expect(
      (await get(node, '/query-wechat-app-token/shop', { 'x-forwarded-for': '192.0.2.1, 10.1.2.3' })).status,
    ).to.equal(200);
  });

  it('GATEHOUSE_VARYS_ALLOW and GATEHOUSE_VARYS_BASE_PATH are checked at start-up', () => {
    expect(() => configFromEnv({ GATEHOUSE_VARYS_ALLOW: '10.0.0.0/33' })).to.throw(/GATEHOUSE_VARYS_ALLOW/);
    expect(() => configFromEnv({ GATEHOUSE_VARYS_ALLOW: 'example.com' })).to.throw(/GATEHOUSE_VARYS_ALLOW/);
    expect(() => configFromEnv({ GATEHOUSE_VARYS_BASE_PATH: 'varys/' })).to.throw(/GATEHOUSE_VARYS_BASE_PATH/);
    expect(configFromEnv({}).varys).to.deep.equal({
      enabled: false,
      basePath: '',
      allow: ['127.0.0.0/8', '::1/128'],
    });
    expect(configFromEnv({ GATEHOUSE_VARYS_ALLOW: '10.0.0.0/8, 192.168.1.5 ::1' }).varys.allow).to.deep.equal([
      '10.0.0.0/8',
      '192.168.1.5/32',
      '::1/128',
    ]);
  });
});
