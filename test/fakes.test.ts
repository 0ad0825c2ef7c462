import { expect } from 'chai';
import crypto from 'node:crypto';
import { type FakePlatform } from './fake/platform';
import { type FakeWechatTp } from './fake/wechat-tp';
import type { FakeWecomTp } from './fake/wecom-tp';
import { type FakeFengniao, FN } from './fake/fengniao';
import { FakeShansong, SS_ERRORS } from './fake/shansong';
import { startFakes } from './helpers/fakes';

/**
 * The fakes themselves: every API refuses a token of the wrong kind, owner or app, and every app's
 * secret is checked (an app never registered is unknown). Called directly, as a buggy gatehouse would.
 */
describe('fake platforms refuse wrong-kind tokens and wrong secrets', function () {
  this.timeout(20_000);
  const APP = 'wxfakesapp0000001';
  const OTHER_APP = 'wxfakesapp0000002';
  const CORP = 'wwfakescorp000001';
  const COMPONENT = 'wxfakescomponent1';
  const OTHER_COMPONENT = 'wxfakescomponent2';
  const AUTHORIZER = 'wxfakesauthorizer';
  const SUITE = 'wwfakessuite00001';
  const TT = 'ttfakes0000000001';
  const FN_APP = '3900001';
  const FN_MID = '77001';
  const SS_CLIENT = 'ssfakes000001';
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let wc: FakeWecomTp;
  let fn: FakeFengniao;
  let ss: FakeShansong;
  /** one live token of every kind */
  const t: Record<'AT' | 'OTHER_AT' | 'WT' | 'CT' | 'OTHER_CT' | 'AAT' | 'SUITE' | 'CORP', string> = {} as never;

  const get = async (path: string, q: Record<string, string>) =>
    (await fetch(`${fake.url}${path}?${new URLSearchParams(q)}`)).json() as Promise<any>;
  const post = async (path: string, q: Record<string, string>, body: unknown) =>
    (
      await fetch(`${fake.url}${path}?${new URLSearchParams(q)}`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      })
    ).json() as Promise<any>;
  const form = async (path: string, f: Record<string, string>) =>
    (
      await fetch(`${fake.url}${path}`, {
        method: 'POST',
        body: new URLSearchParams(f).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
    ).json() as Promise<any>;
  const sha256 = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

  before(async () => {
    ({ fake, wx, wc, fn, ss } = await startFakes());
    fake.app(APP, 'app-secret');
    fake.app(OTHER_APP, 'other-secret');
    fake.app(CORP, 'hr-secret');
    fake.agent(CORP, 'fi-secret');
    fake.app(COMPONENT, 'component-secret');
    fake.app(OTHER_COMPONENT, 'other-component-secret');
    fake.app(TT, 'tt-secret');
    wc.suite(SUITE, 'suite-secret');
    fn.app(FN_APP, 'fn-secret');
    ss.client(SS_CLIENT, 'ss-secret');

    t.AT = (
      await get('/cgi-bin/token', { grant_type: 'client_credential', appid: APP, secret: 'app-secret' })
    ).access_token;
    t.OTHER_AT = (
      await get('/cgi-bin/token', { grant_type: 'client_credential', appid: OTHER_APP, secret: 'other-secret' })
    ).access_token;
    t.WT = (await get('/cgi-bin/gettoken', { corpid: CORP, corpsecret: 'hr-secret' })).access_token;
    for (const [c, secret] of [
      [COMPONENT, 'component-secret'],
      [OTHER_COMPONENT, 'other-component-secret'],
    ]) {
      wx.acceptTicket(c, `ticket@@@${c}`);
      const ct = await post(
        '/cgi-bin/component/api_component_token',
        {},
        { component_appid: c, component_appsecret: secret, component_verify_ticket: `ticket@@@${c}` },
      );
      if (c === COMPONENT) t.CT = ct.component_access_token;
      else t.OTHER_CT = ct.component_access_token;
    }
    const auth = await post(
      '/cgi-bin/component/api_query_auth',
      { component_access_token: t.CT },
      { component_appid: COMPONENT, authorization_code: wx.authorizationCode(COMPONENT, AUTHORIZER) },
    );
    t.AAT = auth.authorization_info.authorizer_access_token;
    t.SUITE = (
      await post(
        '/cgi-bin/service/get_suite_token',
        {},
        { suite_id: SUITE, suite_secret: 'suite-secret', suite_ticket: wc.ticket(SUITE) },
      )
    ).suite_access_token;
    t.CORP = (
      await post(
        '/cgi-bin/service/get_permanent_code',
        { suite_access_token: t.SUITE },
        { auth_code: wc.authCode(SUITE, 'wwfakesinstalled1') },
      )
    ).access_token;
    expect(
      Object.values(t).every((v) => typeof v === 'string' && fake.isLive(v)),
      JSON.stringify(t),
    ).to.equal(true);
    expect(fake.tokenOf(t.AAT)).to.deep.equal({ kind: 'AAT', owner: AUTHORIZER });
  });
  after(async () => fake?.stop());

  it('WeChat token, stable_token and jscode2session: an unknown appid 40013, a wrong secret 40125', async () => {
    const token = (appid: string, secret: string) =>
      get('/cgi-bin/token', { grant_type: 'client_credential', appid, secret });
    expect(await token('wxneverregistered', 'anything')).to.deep.equal({ errcode: 40013, errmsg: 'invalid appid' });
    expect(await token(APP, 'other-secret')).to.deep.equal({ errcode: 40125, errmsg: 'invalid appsecret' });
    const stable = (appid: string, secret: string) =>
      post('/cgi-bin/stable_token', {}, { grant_type: 'client_credential', appid, secret });
    expect(await stable('wxneverregistered', 'anything')).to.deep.equal({ errcode: 40013, errmsg: 'invalid appid' });
    expect(await stable(APP, '')).to.deep.equal({ errcode: 40125, errmsg: 'invalid appsecret' });
    const code = fake.code({ appid: APP }).code;
    const session = (appid: string, secret: string) =>
      get('/sns/jscode2session', { appid, secret, js_code: code, grant_type: 'authorization_code' });
    expect(await session('wxneverregistered', 'x')).to.deep.equal({ errcode: 40013, errmsg: 'invalid appid' });
    expect(await session(APP, 'other-secret')).to.deep.equal({ errcode: 40125, errmsg: 'invalid appsecret' });
    expect(await session(APP, 'app-secret')).to.have.property('openid');
  });

  it('WeCom gettoken: an unknown corp 40013, a wrong secret 40001; every agent secret registered works', async () => {
    expect(await get('/cgi-bin/gettoken', { corpid: 'wwneverregistered', corpsecret: 'hr-secret' })).to.deep.equal({
      errcode: 40013,
      errmsg: 'invalid corpid',
    });
    expect(await get('/cgi-bin/gettoken', { corpid: CORP, corpsecret: 'component-secret' })).to.deep.equal({
      errcode: 40001,
      errmsg: 'invalid secret',
    });
    expect(await get('/cgi-bin/gettoken', { corpid: CORP, corpsecret: 'fi-secret' })).to.include({ errcode: 0 });
  });

  it('WeChat getticket takes an app or authorizer token only (component, corp, suite tokens: 40001)', async () => {
    for (const kind of ['CT', 'WT', 'SUITE', 'CORP'] as const) {
      expect(await get('/cgi-bin/ticket/getticket', { access_token: t[kind], type: 'jsapi' }), kind).to.deep.equal({
        errcode: 40001,
        errmsg: 'invalid credential, access_token is invalid or not latest',
      });
    }
    for (const kind of ['AT', 'AAT'] as const) {
      const r = await get('/cgi-bin/ticket/getticket', { access_token: t[kind], type: 'jsapi' });
      expect(r.errcode, kind).to.equal(0);
      expect(fake.tokenOf(r.ticket)).to.deep.equal({ kind: 'TKjsapi', owner: kind === 'AT' ? APP : AUTHORIZER });
    }
  });

  it('WeCom get_jsapi_ticket and ticket/get take a corp token only (app, component, suite tokens: 40014)', async () => {
    for (const kind of ['AT', 'CT', 'AAT', 'SUITE'] as const) {
      expect(await get('/cgi-bin/get_jsapi_ticket', { access_token: t[kind] }), kind).to.deep.equal({
        errcode: 40014,
        errmsg: 'invalid access_token',
      });
      expect(await get('/cgi-bin/ticket/get', { access_token: t[kind], type: 'agent_config' }), kind).to.deep.equal({
        errcode: 40014,
        errmsg: 'invalid access_token',
      });
    }
    for (const kind of ['WT', 'CORP'] as const) {
      expect((await get('/cgi-bin/get_jsapi_ticket', { access_token: t[kind] })).errcode, kind).to.equal(0);
      expect(
        (await get('/cgi-bin/ticket/get', { access_token: t[kind], type: 'agent_config' })).errcode,
        kind,
      ).to.equal(0);
    }
  });

  it("component APIs take that component's component token only (authorizer, app, another component's: 40001); an unregistered component 40013", async () => {
    const dead = { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' };
    const calls: Array<[string, Record<string, unknown>]> = [
      ['api_create_preauthcode', { component_appid: COMPONENT }],
      [
        'api_query_auth',
        { component_appid: COMPONENT, authorization_code: wx.authorizationCode(COMPONENT, AUTHORIZER) },
      ],
      [
        'api_authorizer_token',
        {
          component_appid: COMPONENT,
          authorizer_appid: AUTHORIZER,
          authorizer_refresh_token: wx.authorizations.get(`${COMPONENT}:${AUTHORIZER}`)!.refreshToken,
        },
      ],
      ['api_get_authorizer_list', { component_appid: COMPONENT, offset: 0, count: 100 }],
    ];
    for (const [api, body] of calls) {
      for (const kind of ['AAT', 'AT', 'OTHER_CT', 'SUITE'] as const) {
        expect(
          await post(`/cgi-bin/component/${api}`, { component_access_token: t[kind] }, body),
          `${api} with ${kind}`,
        ).to.deep.equal(dead);
      }
    }
    expect(
      await post(
        '/cgi-bin/component/api_create_preauthcode',
        { component_access_token: t.CT },
        { component_appid: COMPONENT },
      ),
    ).to.have.property('pre_auth_code');
    wx.acceptTicket('wxneverregistered', 'ticket@@@n');
    expect(
      await post(
        '/cgi-bin/component/api_component_token',
        {},
        { component_appid: 'wxneverregistered', component_appsecret: 'x', component_verify_ticket: 'ticket@@@n' },
      ),
    ).to.deep.equal({ errcode: 40013, errmsg: 'invalid appid' });
    expect(
      await post(
        '/cgi-bin/component/api_component_token',
        {},
        {
          component_appid: COMPONENT,
          component_appsecret: 'other-component-secret',
          component_verify_ticket: `ticket@@@${COMPONENT}`,
        },
      ),
    ).to.deep.equal({ errcode: 40125, errmsg: 'invalid appsecret' });
  });

  it("component jscode2session: that component's token (else 40001), for one of its authorizers (else 61003)", async () => {
    const q = (token: string, component = COMPONENT, appid = AUTHORIZER) => ({
      appid,
      js_code: 'tpcode_1',
      grant_type: 'authorization_code',
      component_appid: component,
      component_access_token: token,
    });
    for (const kind of ['AAT', 'AT', 'OTHER_CT'] as const) {
      expect(await get('/sns/component/jscode2session', q(t[kind])), kind).to.deep.equal({
        errcode: 40001,
        errmsg: 'invalid credential',
      });
    }
    expect(await get('/sns/component/jscode2session', q(t.CT, OTHER_COMPONENT))).to.deep.equal({
      errcode: 40001,
      errmsg: 'invalid credential',
    });
    expect(await get('/sns/component/jscode2session', q(t.CT, COMPONENT, APP))).to.deep.equal({
      errcode: 61003,
      errmsg: 'component is not authorized by this account',
    });
    expect(await get('/sns/component/jscode2session', q(t.CT))).to.include({ openid: 'o_tpcode_1' });
  });

  it('WeCom suite APIs take a suite token only (corp, app, component tokens: 40082); suite secret checked (40083, 40080)', async () => {
    for (const kind of ['CORP', 'WT', 'AT', 'CT'] as const) {
      expect(await post('/cgi-bin/service/get_pre_auth_code', { suite_access_token: t[kind] }, {}), kind).to.deep.equal(
        { errcode: 40082, errmsg: 'invalid suite_token' },
      );
      expect(
        await post(
          '/cgi-bin/service/get_corp_token',
          { suite_access_token: t[kind] },
          { auth_corpid: 'wwfakesinstalled1', permanent_code: wc.permanentCode(SUITE, 'wwfakesinstalled1') },
        ),
        kind,
      ).to.deep.equal({ errcode: 40082, errmsg: 'invalid suite_token' });
      expect(
        await post(
          '/cgi-bin/service/get_permanent_code',
          { suite_access_token: t[kind] },
          { auth_code: wc.authCode(SUITE, 'wwfakesother00001') },
        ),
        kind,
      ).to.deep.equal({ errcode: 40082, errmsg: 'invalid suite_token' });
    }
    expect((await post('/cgi-bin/service/get_pre_auth_code', { suite_access_token: t.SUITE }, {})).errcode).to.equal(0);
    expect(
      await post(
        '/cgi-bin/service/get_suite_token',
        {},
        { suite_id: 'wwneverregistered', suite_secret: 'suite-secret', suite_ticket: wc.ticket(SUITE) },
      ),
    ).to.deep.equal({ errcode: 40083, errmsg: 'invalid suiteid' });
    expect(
      await post(
        '/cgi-bin/service/get_suite_token',
        {},
        { suite_id: SUITE, suite_secret: 'hr-secret', suite_ticket: wc.ticket(SUITE) },
      ),
    ).to.deep.equal({ errcode: 40080, errmsg: 'invalid suitesecret' });
  });

  it('ByteDance token and jscode2session: an unknown appid 40015, a wrong secret 40017', async () => {
    for (const api of ['token', 'jscode2session']) {
      const body = (appid: string, secret: string) => ({
        appid,
        secret,
        grant_type: 'client_credential',
        code: 'tt_1',
      });
      expect(await post(`/api/apps/v2/${api}`, {}, body('ttneverregistered', 'tt-secret')), api).to.deep.equal({
        err_no: 40015,
        err_tips: 'invalid appid',
        data: {},
      });
      expect(await post(`/api/apps/v2/${api}`, {}, body(TT, 'app-secret')), api).to.deep.equal({
        err_no: 40017,
        err_tips: 'invalid appsecret',
        data: {},
      });
      expect((await post(`/api/apps/v2/${api}`, {}, body(TT, 'tt-secret'))).err_no, api).to.equal(0);
    }
  });

  it("Fengniao invoke: the merchant's current access token of that app only (refresh token, WeChat token: A0005); an unknown app A0001, a wrong secret A0002", async () => {
    const ts = () => String(Date.now());
    const tsa = ts();
    const code = fn.authCode(FN_APP, FN_MID);
    const grant = await post(
      '/anubis-webapi/openapi/token',
      {},
      {
        grant_type: 'authorization_code',
        code,
        app_id: FN_APP,
        merchant_id: FN_MID,
        timestamp: tsa,
        signature: sha256(
          `fn-secretapp_id=${FN_APP}&code=${code}&grant_type=authorization_code&merchant_id=${FN_MID}&timestamp=${tsa}`,
        ),
      },
    );
    expect(grant.code).to.equal(FN.OK);
    const { access_token: at, refresh_token: rt } = JSON.parse(grant.business_data);
    const invoke = (token: string, secret = 'fn-secret', appId = FN_APP) => {
      const timestamp = ts();
      const bd = '{"x":1}';
      const signature = sha256(
        `${secret}access_token=${token}&app_id=${appId}&business_data=${bd}&merchant_id=${FN_MID}&timestamp=${timestamp}&version=1.0`,
      );
      return post(
        '/anubis-webapi/v3/invoke/getAmount',
        {},
        {
          app_id: appId,
          merchant_id: FN_MID,
          timestamp,
          version: '1.0',
          access_token: token,
          business_data: bd,
          signature,
        },
      );
    };
    for (const token of [rt, t.AT, `fnat_${FN_MID}_${'0'.repeat(24)}`])
      expect((await invoke(token)).code).to.equal(FN.ACCESS_TOKEN_INVALID);
    expect((await invoke(at, 'wrong-secret')).code).to.equal(FN.SIGN_ERROR);
    expect((await invoke(at, 'fn-secret', '3900099')).code).to.equal(FN.PARAM_ERROR);
    expect((await invoke(at)).code).to.equal(FN.OK);
  });

  it("Shansong developer APIs: the client's own access token only (refresh token, another platform's live token: 401); an unknown client, a wrong secret refused", async () => {
    const grant = await form('/openapi/oauth/token', { clientId: SS_CLIENT, code: ss.code(SS_CLIENT, 'm1') });
    expect(grant.status).to.equal(200);
    const call = (accessToken: string, secret = 'ss-secret', clientId = SS_CLIENT) => {
      const f: Record<string, string> = { clientId, accessToken, timestamp: String(Date.now()), data: '{}' };
      f.sign = FakeShansong.sign(secret, f);
      return form('/openapi/developer/v5/orderInfo', f);
    };
    const refused = (e: { status: number; msg: string }) => ({ status: e.status, msg: e.msg, data: null });
    for (const token of [grant.data.refresh_token, t.AT, t.WT])
      expect(await call(token)).to.deep.equal(refused(SS_ERRORS.badAccessToken));
    expect(await call(grant.data.access_token, 'wrong-secret')).to.deep.equal(refused(SS_ERRORS.badSign));
    expect(await call(grant.data.access_token, 'ss-secret', 'ssneverregistered')).to.deep.equal(
      refused(SS_ERRORS.badClient),
    );
    expect((await call(grant.data.access_token)).status).to.equal(200);
  });
});
