import { expect } from 'chai';
import { FakePlatform } from '../fake/platform';
import { FakeWechatCode, qrBytes } from '../fake/wechat-code';
import { FakeWechatTp } from '../fake/wechat-tp';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { signedPush, xml } from '../helpers/push';

/** wechat.tpauth.code.*: code management of authorizer mini programs (issue 15, item 4) */

const COMPONENT = 'wxcomponent000001';
const SECRET = 'component-secret';
const TOKEN = 'push-token-1';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const AUTHORIZER = 'wxauthorizer00001';
const OTHER = 'wxauthorizer00002';
const INVALID = { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' };

const TEMPLATES = [
  {
    create_time: 1700000000,
    user_version: '1.0.0',
    user_desc: 'first',
    template_id: 7,
    draft_id: 3,
    template_type: 0,
    source_miniprogram_appid: 'wxdev000000000001',
    source_miniprogram: 'dev app',
    developer: 'dev',
    category_list: [],
  },
  { create_time: 1700000500, user_version: '2.0.0', user_desc: 'standard', template_id: 9, template_type: 1 },
];

/** the authorizer interfaces with a valid para each (for the claim, 1014 and 1012 checks) */
const AUTHORIZER_CALLS: Array<[string, Record<string, unknown>]> = [
  [
    'wechat.tpauth.code.commit',
    { templateId: 7, extJson: { extAppid: AUTHORIZER }, userVersion: '1.0.0', userDesc: 'd' },
  ],
  ['wechat.tpauth.code.qrcode', {}],
  ['wechat.tpauth.code.submit', {}],
  ['wechat.tpauth.code.status', {}],
  ['wechat.tpauth.code.status', { auditId: 1 }],
  ['wechat.tpauth.code.status', { source: 'pushes' }],
  ['wechat.tpauth.code.undo', {}],
  ['wechat.tpauth.code.release', {}],
  ['wechat.tpauth.code.versions', {}],
  ['wechat.tpauth.code.rollback', {}],
];

forEachDialect('WeChat third-party platform: authorizer mini-program code (wechat.tpauth.code.*)', (dialect) => {
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let code: FakeWechatCode;
  let node: TestNode;
  let tok: string;

  const rpc = (name: string, para: Record<string, unknown>, t = tok) => node.rpc(name, para, t);
  const on = (para: Record<string, unknown> = {}, authorizer = AUTHORIZER) => ({
    codeName: 'tp',
    authorizerAppId: authorizer,
    ...para,
  });
  const push = async (inner: string, path = '/wechat-tp/tp/events') => {
    const p = signedPush(TOKEN, AES, COMPONENT, inner);
    const res = await fetch(`${node.url}${path}?${p.query}`, { method: 'POST', body: p.body });
    expect(await res.text()).to.equal('success');
  };
  const authorized = async (authorizer: string, createTime: number) =>
    push(
      xml({
        AppId: COMPONENT,
        CreateTime: createTime,
        InfoType: 'authorized',
        AuthorizerAppid: authorizer,
        AuthorizationCode: wx.authorizationCode(COMPONENT, authorizer),
        AuthorizationCodeExpiredTime: 99,
        PreAuthCode: 'pre',
      }),
    );
  /** an audit result pushed to the platform's 消息与事件接收URL, as WeChat sends it */
  const auditPush = (authorizer: string, event: string, fields: Record<string, string | number>) =>
    push(
      xml({
        ToUserName: 'gh_fb9688c2a4b2',
        FromUserName: 'od1P50M-fNQI5Gcq-trm4a7apsU8',
        CreateTime: Number(Object.values(fields).find((v) => typeof v === 'number') ?? 1488856000),
        MsgType: 'event',
        Event: event,
        ...fields,
      }),
      `/wechat-tp/tp/messages/${authorizer}`,
    );
  const current = () => fake.lastIssued('AAT', AUTHORIZER);
  const commit = () =>
    rpc(
      'wechat.tpauth.code.commit',
      on({ templateId: 7, extJson: { extAppid: AUTHORIZER, ext: { shop: 12 } }, userVersion: '1.0.0', userDesc: 'v1' }),
    );
  const upstreamCalls = () =>
    code.calls.length + fake.count('api_authorizer_token') + fake.count('api_component_token');

  before(async () => {
    fake = await new FakePlatform().start();
    wx = new FakeWechatTp(fake);
    code = new FakeWechatCode(fake, wx);
    fake.app(COMPONENT, SECRET);
    code.templates.set(COMPONENT, TEMPLATES);
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    node = await startNode({ dialect, fake });
    tok = node.token('*');
    const config = { appId: COMPONENT, secret: SECRET, token: TOKEN, aesKey: AES };
    expect((await rpc('admin.app.put', { platform: 'wechat_tp', codeName: 'tp', config })).returnCode).to.equal(0);
    wx.acceptTicket(COMPONENT, 'ticket@@@code');
    await push(
      xml({
        AppId: COMPONENT,
        CreateTime: 1,
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: 'ticket@@@code',
      }),
    );
    await authorized(AUTHORIZER, 10);
    code.programs.clear();
    code.calls.length = 0;
    fake.reset();
  });
  afterEach(async () => node?.close());

  it('templates: gettemplatelist with the component token, answered in camelCase; templateType filters', async () => {
    const all = await rpc('wechat.tpauth.code.templates', { codeName: 'tp' });
    expect(all).to.deep.include({ returnCode: 0 });
    expect(all.returnData).to.deep.equal({
      templates: [
        {
          templateId: 7,
          userVersion: '1.0.0',
          userDesc: 'first',
          createTime: 1700000000,
          templateType: 0,
          sourceAppId: 'wxdev000000000001',
          sourceName: 'dev app',
          developer: 'dev',
        },
        { templateId: 9, userVersion: '2.0.0', userDesc: 'standard', createTime: 1700000500, templateType: 1 },
      ],
    });
    const [call] = code.of('gettemplatelist');
    expect(call.token).to.equal(fake.lastIssued('CT', COMPONENT));
    expect(call.query).to.deep.equal({ access_token: call.token });
    const standard = await rpc('wechat.tpauth.code.templates', { codeName: 'tp', templateType: 1 });
    expect(standard.returnData.templates.map((t: { templateId: number }) => t.templateId)).to.deep.equal([9]);
    expect(code.of('gettemplatelist')[1].query.template_type).to.equal('1');
    expect(fake.count('gettemplatelist')).to.equal(2);
  });

  it('commit → trial QR code → submit → status → release → versions → rollback, each call as WeChat documents it', async () => {
    expect(await commit()).to.deep.include({ returnCode: 0, returnData: {} });
    const [c] = code.of('commit');
    expect(c.token).to.equal(current());
    expect(c.contentType).to.match(/^application\/json/);
    expect(c.query).to.deep.equal({ access_token: current() });
    expect(c.body).to.deep.equal({
      template_id: 7,
      ext_json: JSON.stringify({ extAppid: AUTHORIZER, ext: { shop: 12 } }),
      user_version: '1.0.0',
      user_desc: 'v1',
    });

    const qr = await rpc('wechat.tpauth.code.qrcode', on({ path: 'page/index?action=1&x=中' }));
    expect(qr).to.deep.include({ returnCode: 0 });
    expect(qr.returnData).to.deep.equal({
      contentType: 'image/jpeg',
      image: qrBytes('page/index?action=1&x=中').toString('base64'),
    });
    expect(code.of('get_qrcode')[0].query).to.deep.equal({ access_token: current(), path: 'page/index?action=1&x=中' });
    const bare = await rpc('wechat.tpauth.code.qrcode', on());
    expect(bare.returnData.image).to.equal(qrBytes('').toString('base64'));
    expect(code.of('get_qrcode')[1].query).to.deep.equal({ access_token: current() });

    const submitted = await rpc(
      'wechat.tpauth.code.submit',
      on({
        itemList: [
          {
            address: 'pages/index',
            tag: '商城',
            firstClass: '电商平台',
            secondClass: '商家自营',
            firstId: 304,
            secondId: 305,
            title: '首页',
          },
        ],
        versionDesc: 'first release',
        feedbackInfo: 'test account: 1',
        previewInfo: { picIdList: ['media1'], videoIdList: [] },
        ugcDeclare: { scene: [0], hasAuditTeam: 0 },
        privacyApiNotUse: true,
      }),
    );
    expect(submitted).to.deep.include({ returnCode: 0 });
    expect(Object.keys(submitted.returnData)).to.deep.equal(['auditId']);
    const auditId = submitted.returnData.auditId as number;
    expect(code.of('submit_audit')[0].body).to.deep.equal({
      item_list: [
        {
          address: 'pages/index',
          tag: '商城',
          first_class: '电商平台',
          second_class: '商家自营',
          first_id: 304,
          second_id: 305,
          title: '首页',
        },
      ],
      version_desc: 'first release',
      feedback_info: 'test account: 1',
      preview_info: { pic_id_list: ['media1'], video_id_list: [] },
      ugc_declare: { scene: [0], has_audit_team: 0 },
      privacy_api_not_use: true,
    });
    expect(auditId).to.equal(code.program(AUTHORIZER).audits[0].auditid);

    const auditing = await rpc('wechat.tpauth.code.status', on({ auditId }));
    expect(auditing.returnData).to.deep.equal({ source: 'wechat', state: 'auditing', status: 2, auditId });
    expect(code.of('get_auditstatus')[0].body).to.deep.equal({ auditid: auditId });
    // released before the audit passed: WeChat's errcode, as every interface surfaces them
    expect(await rpc('wechat.tpauth.code.release', on())).to.deep.include({
      returnCode: 40029,
      returnMessage: 'UPSTREAM_ERROR',
      returnData: { platform: 'wechat', errcode: 85019, errmsg: 'no audited version' },
    });

    const a = code.decide(AUTHORIZER, 0);
    const latest = await rpc('wechat.tpauth.code.status', on());
    expect(latest.returnData).to.deep.equal({
      source: 'wechat',
      state: 'success',
      status: 0,
      auditId,
      userVersion: '1.0.0',
      userDesc: 'v1',
      submittedAt: a.submit_audit_time,
    });
    expect(code.of('get_latest_auditstatus')[0].query).to.deep.equal({ access_token: current() });

    expect(await rpc('wechat.tpauth.code.release', on())).to.deep.include({ returnCode: 0, returnData: {} });
    const [rel] = code.of('release');
    expect(rel.body).to.deep.equal({});
    expect(rel.contentType).to.match(/^application\/json/);
    expect((await rpc('wechat.tpauth.code.release', on())).returnData.errcode).to.equal(85052);

    // a second version, released too: the first becomes the one to roll back to
    await rpc('wechat.tpauth.code.commit', on({ templateId: 9, extJson: {}, userVersion: '2.0.0', userDesc: 'v2' }));
    expect(code.of('commit')[1].body!.ext_json).to.equal('{}');
    expect((await rpc('wechat.tpauth.code.submit', on())).returnCode).to.equal(0);
    expect(code.of('submit_audit')[1].body).to.deep.equal({});
    code.decide(AUTHORIZER, 0);
    expect((await rpc('wechat.tpauth.code.release', on())).returnCode).to.equal(0);
    const versions = await rpc('wechat.tpauth.code.versions', on());
    expect(versions.returnData).to.deep.equal({
      versions: [{ appVersion: '1', userVersion: '1.0.0', userDesc: 'v1', commitTime: a.submit_audit_time }],
    });
    expect(code.of('revertcoderelease')[0].query).to.deep.equal({
      access_token: current(),
      action: 'get_history_version',
    });
    expect(await rpc('wechat.tpauth.code.rollback', on({ appVersion: '1' }))).to.deep.include({
      returnCode: 0,
      returnData: {},
    });
    expect(code.of('revertcoderelease')[1].query).to.deep.equal({ access_token: current(), app_version: '1' });
    expect(code.program(AUTHORIZER).live!.user_version).to.equal('1.0.0');
    expect((await rpc('wechat.tpauth.code.rollback', on())).returnData.errcode).to.equal(87012);
    expect(code.of('revertcoderelease')[2].query).to.deep.equal({ access_token: current() });

    // every call went with the authorizer's current token, none refreshed it
    expect(code.calls.every((x) => x.api === 'gettemplatelist' || x.token === current())).to.equal(true);
    expect(fake.count('api_authorizer_token')).to.equal(0);
    expect(fake.count('commit', AUTHORIZER)).to.equal(2);
    expect(fake.count('release', AUTHORIZER)).to.equal(4);
  });

  it("undo withdraws the audit under way; a second undo is WeChat's error", async () => {
    await commit();
    const { auditId } = (await rpc('wechat.tpauth.code.submit', on())).returnData;
    expect((await rpc('wechat.tpauth.code.submit', on())).returnData.errcode).to.equal(85009);
    expect(await rpc('wechat.tpauth.code.undo', on())).to.deep.include({ returnCode: 0, returnData: {} });
    expect(code.of('undocodeaudit')[0]).to.deep.include({ body: null, query: { access_token: current() } });
    expect((await rpc('wechat.tpauth.code.status', on({ auditId }))).returnData).to.deep.include({
      state: 'withdrawn',
      status: 3,
    });
    expect((await rpc('wechat.tpauth.code.undo', on())).returnData).to.deep.equal({
      platform: 'wechat',
      errcode: 85012,
      errmsg: 'no audit to undo',
    });
  });

  it('a rejection read from WeChat: reason and the screenshots as a list', async () => {
    await commit();
    const { auditId } = (await rpc('wechat.tpauth.code.submit', on())).returnData;
    code.decide(AUTHORIZER, 1, '帐号信息不合规范', 'xxx|yyy|zzz');
    expect((await rpc('wechat.tpauth.code.status', on({ auditId }))).returnData).to.deep.equal({
      source: 'wechat',
      state: 'rejected',
      status: 1,
      auditId,
      reason: '帐号信息不合规范',
      screenshots: ['xxx', 'yyy', 'zzz'],
    });
    // get_latest_auditstatus spells it ScreenShot
    expect((await rpc('wechat.tpauth.code.status', on())).returnData.screenshots).to.deep.equal(['xxx', 'yyy', 'zzz']);
  });

  it('bad para → 1003 and nothing sent upstream', async () => {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['wechat.tpauth.code.templates', { codeName: 'tp', templateType: 2 }],
      ['wechat.tpauth.code.templates', { codeName: 'tp', authorizerAppId: AUTHORIZER }],
      ['wechat.tpauth.code.commit', on({ extJson: {}, userVersion: '1', userDesc: 'd' })],
      ['wechat.tpauth.code.commit', on({ templateId: '7', extJson: {}, userVersion: '1', userDesc: 'd' })],
      ['wechat.tpauth.code.commit', on({ templateId: 7, extJson: '{}', userVersion: '1', userDesc: 'd' })],
      ['wechat.tpauth.code.commit', on({ templateId: 7, extJson: {}, userVersion: '', userDesc: 'd' })],
      ['wechat.tpauth.code.commit', on({ templateId: -1, extJson: {}, userVersion: '1', userDesc: 'd' })],
      ['wechat.tpauth.code.qrcode', on({ path: 'x'.repeat(1025) })],
      ['wechat.tpauth.code.qrcode', { codeName: 'tp' }],
      [
        'wechat.tpauth.code.submit',
        on({ itemList: Array(6).fill({ firstClass: 'a', secondClass: 'b', firstId: 1, secondId: 2 }) }),
      ],
      ['wechat.tpauth.code.submit', on({ itemList: [{ secondClass: 'b', firstId: 1, secondId: 2 }] })],
      [
        'wechat.tpauth.code.submit',
        on({ itemList: [{ firstClass: 'a', secondClass: 'b', firstId: 1, secondId: 2, x: 1 }] }),
      ],
      ['wechat.tpauth.code.submit', on({ feedbackInfo: 'x'.repeat(201) })],
      ['wechat.tpauth.code.submit', on({ privacyApiNotUse: 'yes' })],
      ['wechat.tpauth.code.status', on({ auditId: 0 })],
      ['wechat.tpauth.code.status', on({ source: 'cache' })],
      ['wechat.tpauth.code.status', on({ source: 'pushes', auditId: 5 })],
      ['wechat.tpauth.code.undo', on({ auditId: 5 })],
      ['wechat.tpauth.code.release', { codeName: 'tp', authorizerAppId: '' }],
      ['wechat.tpauth.code.rollback', on({ appVersion: 'v1' })],
      ['wechat.tpauth.code.versions', on({ force: true })],
    ];
    for (const [name, para] of bad) {
      const r = await rpc(name, para);
      expect(r.returnCode, `${name} ${JSON.stringify(para).slice(0, 120)}`).to.equal(1003);
      expect(r.returnData.errors).to.be.an('array').that.is.not.empty;
    }
    expect(upstreamCalls()).to.equal(0);
  });

  it('the apps claim must cover the platform and the authorizer; a refused call sends nothing', async () => {
    const claims: Array<[string[], boolean]> = [
      [['tp'], false],
      [[COMPONENT], false],
      [[AUTHORIZER], false],
      [['tp', OTHER], false],
      [['tp', AUTHORIZER], true],
      [[COMPONENT, AUTHORIZER], true],
    ];
    for (const [apps, covered] of claims) {
      const t = node.token('wechat.*', apps);
      for (const [name, para] of AUTHORIZER_CALLS) {
        const before = upstreamCalls();
        const r = await rpc(name, on(para), t);
        if (covered) expect(r.returnCode, `${name} ${apps}`).to.not.be.oneOf([4001, 4003]);
        else {
          expect(r, `${name} ${apps}`).to.deep.include({
            returnCode: 4003,
            returnMessage: 'FORBIDDEN',
            returnData: '',
          });
          expect(upstreamCalls(), `${name} ${apps}`).to.equal(before);
        }
      }
    }
    // templates name no authorizer: the platform is enough
    expect(
      (await rpc('wechat.tpauth.code.templates', { codeName: 'tp' }, node.token('wechat.*', ['tp']))).returnCode,
    ).to.equal(0);
    expect(
      (await rpc('wechat.tpauth.code.templates', { codeName: 'tp' }, node.token('wechat.*', [AUTHORIZER]))).returnCode,
    ).to.equal(4003);
    // a scope without wechat.tpauth.code.* is refused too
    expect((await rpc('wechat.tpauth.code.release', on(), node.token('wechat.tpauth.token'))).returnCode).to.equal(
      4003,
    );
  });

  it('an authorizer that is no longer authorized → 1014, one never seen → 1012; nothing sent', async () => {
    await push(xml({ AppId: COMPONENT, CreateTime: 20, InfoType: 'unauthorized', AuthorizerAppid: AUTHORIZER }));
    for (const [name, para] of AUTHORIZER_CALLS) {
      expect(await rpc(name, on(para)), name).to.deep.include({ returnCode: 1014, returnMessage: 'NOT_READY' });
      expect(await rpc(name, on(para, 'wxnever0000000001')), name).to.deep.include({ returnCode: 1012 });
    }
    expect(upstreamCalls()).to.equal(0);
    // authorized again: served again
    await authorized(AUTHORIZER, 30);
    expect((await commit()).returnCode).to.equal(0);
  });

  it('an authorizer whose refresh token WeChat refused (61023) → 1014 though its token has not expired', async () => {
    wx.revoke(COMPONENT, AUTHORIZER);
    const forced = await rpc('wechat.tpauth.token', on({ force: true }));
    expect(forced.returnCode).to.equal(0); // served through the failure, the authorizer marked
    for (const [name, para] of AUTHORIZER_CALLS)
      expect(await rpc(name, on(para)), name).to.deep.include({ returnCode: 1014, returnMessage: 'NOT_READY' });
    expect(code.calls).to.deep.equal([]);
  });

  it('40001 on the authorizer token: compare-and-refreshed once, the call sent again with the new token', async () => {
    const before = current();
    fake.mode('commit', INVALID, 1);
    expect(await commit()).to.deep.include({ returnCode: 0, returnData: {} });
    const calls = code.of('commit');
    expect(calls).to.have.length(2);
    expect(calls[0].token).to.equal(before);
    expect(calls[1].token).to.equal(current()).and.not.equal(before);
    expect(fake.count('api_authorizer_token')).to.equal(1);
    expect(calls[1].body).to.deep.equal(calls[0].body);
    // within the refresh window (§5.3) another refusal refreshes nothing: WeChat's error stands, sent once
    fake.mode('release', INVALID, 1);
    expect((await rpc('wechat.tpauth.code.release', on())).returnData).to.deep.equal({
      platform: 'wechat',
      ...INVALID,
    });
    expect(fake.count('release')).to.equal(1);
    expect(fake.count('api_authorizer_token')).to.equal(1);
  });

  it('40001 on the QR code (JSON instead of the image): refreshed, the image relayed', async () => {
    await commit();
    const before = current();
    fake.mode('get_qrcode', INVALID, 1);
    const qr = await rpc('wechat.tpauth.code.qrcode', on());
    expect(qr.returnData).to.deep.equal({ contentType: 'image/jpeg', image: qrBytes('').toString('base64') });
    expect(code.of('get_qrcode').map((c) => c.token)).to.deep.equal([before, current()]);
    expect(before).to.not.equal(current());
    expect(fake.count('api_authorizer_token')).to.equal(1);
  });

  it("refused again after the refresh: sent twice, refreshed once, then WeChat's error", async () => {
    fake.mode('release', INVALID, 2);
    expect(await rpc('wechat.tpauth.code.release', on())).to.deep.include({
      returnCode: 40029,
      returnData: { platform: 'wechat', ...INVALID },
    });
    expect(fake.count('release')).to.equal(2);
    expect(fake.count('api_authorizer_token')).to.equal(1);
  });

  it("every token dead (the component's too): both refreshed on the way, the call sent again", async () => {
    fake.expireAll();
    expect((await rpc('wechat.tpauth.code.versions', on())).returnData).to.deep.equal({ versions: [] });
    expect(fake.count('revertcoderelease')).to.equal(2);
    expect(fake.count('api_component_token')).to.equal(1);
    expect(fake.count('api_authorizer_token')).to.equal(2);
    expect(code.of('revertcoderelease')[1].token).to.equal(current());
    expect(fake.isLive(current()!, 'AAT', AUTHORIZER)).to.equal(true);
  });

  it('the template list on a refused component token is retried with a refreshed one', async () => {
    const before = fake.lastIssued('CT', COMPONENT);
    fake.mode('gettemplatelist', INVALID, 1);
    expect((await rpc('wechat.tpauth.code.templates', { codeName: 'tp' })).returnCode).to.equal(0);
    expect(code.of('gettemplatelist').map((c) => c.token)).to.deep.equal([before, fake.lastIssued('CT', COMPONENT)]);
    expect(fake.count('api_component_token')).to.equal(1);
  });

  it('the QR code: a non-image answer is 1007, an HTTP error 1005, a WeChat errcode 40029', async () => {
    await commit();
    fake.mode('get_qrcode', 'garbage', 1);
    expect((await rpc('wechat.tpauth.code.qrcode', on())).returnCode).to.equal(1007);
    fake.mode('get_qrcode', { http: 502 }, 1);
    expect((await rpc('wechat.tpauth.code.qrcode', on())).returnCode).to.equal(1005);
    code.programs.clear();
    expect((await rpc('wechat.tpauth.code.qrcode', on())).returnData).to.deep.equal({
      platform: 'wechat',
      errcode: 86001,
      errmsg: 'no trial version',
    });
  });

  it('audit pushes → status from the push log (source "pushes"), newest by the time they name, per authorizer', async () => {
    await authorized(OTHER, 11);
    const pushed = (authorizer = AUTHORIZER) => rpc('wechat.tpauth.code.status', on({ source: 'pushes' }, authorizer));
    expect((await pushed()).returnData).to.deep.equal({ source: 'pushes', state: 'none' });

    await auditPush(AUTHORIZER, 'weapp_audit_fail', {
      Reason: '1:账号信息不符合规范:<br>(1):包含色情因素<br>',
      FailTime: 1488856591,
      ScreenShot: 'xxx|yyy|zzz',
    });
    expect((await pushed()).returnData).to.deep.equal({
      source: 'pushes',
      state: 'rejected',
      status: 1,
      reason: '1:账号信息不符合规范:<br>(1):包含色情因素<br>',
      screenshots: ['xxx', 'yyy', 'zzz'],
      at: 1488856591,
    });
    expect((await pushed(OTHER)).returnData).to.deep.equal({ source: 'pushes', state: 'none' });

    await auditPush(AUTHORIZER, 'weapp_audit_success', { SuccTime: 1488856741 });
    expect((await pushed()).returnData).to.deep.equal({
      source: 'pushes',
      state: 'success',
      status: 0,
      at: 1488856741,
    });
    // a late push of an earlier result changes nothing
    await auditPush(AUTHORIZER, 'weapp_audit_delay', { Reason: 'later', DelayTime: 1488856700 });
    expect((await pushed()).returnData).to.deep.include({ state: 'success', at: 1488856741 });
    await auditPush(OTHER, 'weapp_audit_delay', { Reason: '审核延后', DelayTime: 1488857000 });
    expect((await pushed(OTHER)).returnData).to.deep.equal({
      source: 'pushes',
      state: 'delayed',
      status: 4,
      reason: '审核延后',
      at: 1488857000,
    });
    expect((await pushed()).returnData.state).to.equal('success');
    expect(upstreamCalls()).to.equal(0);
    // the pushes are in the push log as any message
    const log = (await rpc('admin.push.list', { platform: 'wechat_tp', infoType: 'weapp_audit_success' })).returnData
      .pushes;
    expect(log).to.have.length(1);
    expect(log[0]).to.deep.include({ appId: AUTHORIZER, codeName: 'tp' });
  });
});
