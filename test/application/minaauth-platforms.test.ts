import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openMigratedStore } from '../../application';
import { configFromEnv } from '../../system/config';
import { FakePlatform } from '../fake/platform';
import { FakeAlipay } from '../fake/alipay';
import { installQq } from '../fake/qq';
import { installToutiao, type ToutiaoFake } from '../fake/toutiao';
import { forEachDialect, freshDatabase } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { DATA_CRYPT as WX } from '../helpers/vectors';

/**
 * One session server for every mini-program platform (issue 17): qcloud.cam.* for WeChat,
 * ByteDance, QQ and Alipay mini programs, a session per platform and app. The encrypted user data
 * is test/fixtures/miniprogram-vectors.json, made by Python `cryptography`
 * (test/fixtures/miniprogram-vectors.py); WeChat's is the official WXBizDataCrypt sample.
 */
const VECTORS = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../fixtures/miniprogram-vectors.json'), 'utf8'),
) as Record<'toutiao' | 'qq', Record<string, string>> & { alipay: Record<string, string> };
const TT = VECTORS.toutiao;
const QQ = VECTORS.qq;
const QQ_SECRET = 'qq-secret-of-the-qq-app';
const ALI = VECTORS.alipay;
/** the Alipay app's own key pair (its private key signs gatehouse's requests) */
const ALI_APP_KEYS = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ALI_PRIVATE = ALI_APP_KEYS.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const ALI_PUBLIC = ALI_APP_KEYS.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const TT_SECRET = 'toutiao-secret-of-tt';
const WX_SECRET = 'wechat-secret-of-wx';
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const sha1 = (s: string) => crypto.createHash('sha1').update(s).digest('hex');

forEachDialect('qcloud.cam.* on every mini-program platform', (dialect) => {
  let fake: FakePlatform;
  /** QQ on a fake of its own: its jscode2session speaks WeChat's format, counted apart */
  let qq: FakePlatform;
  let tt: ToutiaoFake;
  let alipay: FakeAlipay;
  let node: TestNode;
  let admin: string;

  const putApp = (platform: string, codeName: string, config: Record<string, unknown>) =>
    node.rpc('admin.app.put', { platform, codeName, config }, admin);
  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para);
  const sessions = () => node.db.query('SELECT platform, appid, openid, unionid FROM sessions ORDER BY platform');

  before(async () => {
    fake = await new FakePlatform().start();
    tt = installToutiao(fake);
    fake.app(WX.appId, WX_SECRET);
    fake.app(TT.appId, TT_SECRET);
    qq = await new FakePlatform().start();
    installQq(qq);
    qq.app(QQ.appId, QQ_SECRET);
    alipay = new FakeAlipay(fake);
    alipay.app(ALI.appId, ALI_PUBLIC);
  });
  after(async () => {
    await fake?.stop();
    await qq?.stop();
  });
  beforeEach(async () => {
    node = await startNode({
      dialect,
      fake,
      env: { GATEHOUSE_TOUTIAO_API: fake.url, GATEHOUSE_QQ_API: qq.url, GATEHOUSE_ALIPAY_GATEWAY: alipay.url },
    });
    admin = node.token('admin.*');
    expect((await putApp('wechat_app', 'wx', { appId: WX.appId, secret: WX_SECRET })).returnCode).to.equal(0);
    expect((await putApp('toutiao_app', 'tt', { appId: TT.appId, secret: TT_SECRET })).returnCode).to.equal(0);
    expect((await putApp('qq_app', 'qq', { appId: QQ.appId, secret: QQ_SECRET })).returnCode).to.equal(0);
    const ali = {
      appId: ALI.appId,
      privateKey: ALI_PRIVATE,
      alipayPublicKey: alipay.alipayPublicKeyPem,
      aesKey: ALI.aesKey,
    };
    expect((await putApp('alipay_app', 'ali', ali)).returnCode).to.equal(0);
    alipay.answer = 'signed';
    fake.reset();
    qq.reset();
  });
  afterEach(async () => node?.close());

  /** the session's whole life: auth, decrypt, check_signature, other app / platform refused, logout */
  async function lifecycle(
    platform: string,
    appid: string,
    otherAppid: string,
    login: { id: string; skey: string },
    vector: { encrypt_data: string; iv?: string; expect: Record<string, unknown> },
    signature?: { raw_data: string; signature: string },
  ) {
    const { id, skey } = login;
    const auth = await rpc('qcloud.cam.auth', { id, skey });
    expect(auth.returnCode).to.equal(0);
    expect(auth.returnData).to.include({ appid, platform });
    expect((await rpc('qcloud.cam.auth', { id, skey, appid })).returnCode).to.equal(0);
    expect((await rpc('qcloud.cam.auth', { id, skey, platform })).returnCode).to.equal(0);
    // another app's or another platform's appid, or another platform, is refused
    expect((await rpc('qcloud.cam.auth', { id, skey, appid: otherAppid })).returnCode).to.equal(60012);
    const otherPlatform = platform === 'wechat' ? 'toutiao' : 'wechat';
    expect((await rpc('qcloud.cam.auth', { id, skey, platform: otherPlatform })).returnCode).to.equal(60012);
    const dec = await rpc('qcloud.cam.decrypt', { id, skey, encrypt_data: vector.encrypt_data, iv: vector.iv });
    expect(dec.returnCode).to.equal(0);
    expect(dec.returnData).to.include(vector.expect);
    if (signature) {
      const ok = await rpc('qcloud.cam.check_signature', { id, skey, ...signature });
      expect(ok.returnData).to.deep.equal({ valid: true });
      const bad = await rpc('qcloud.cam.check_signature', {
        id,
        skey,
        ...signature,
        raw_data: signature.raw_data + ' ',
      });
      expect(bad.returnData).to.deep.equal({ valid: false });
    }
    expect((await rpc('qcloud.cam.logout', { id, skey })).returnCode).to.equal(0);
    expect((await rpc('qcloud.cam.auth', { id, skey })).returnCode).to.equal(60012);
  }

  it('WeChat: the Wafer flow as before, its session marked wechat', async () => {
    const c = fake.code({ sessionKey: WX.sessionKey, openid: WX.openId, appid: WX.appId });
    const res = await rpc('qcloud.cam.id_skey', { code: c.code, appid: WX.appId });
    expect(res.returnCode).to.equal(0);
    expect(res.returnData).to.include({ appid: WX.appId, platform: 'wechat' });
    expect(fake.count('jscode2session', WX.appId)).to.equal(1);
    expect(fake.count('toutiao_jscode2session')).to.equal(0);
    expect(await sessions()).to.deep.equal([{ platform: 'wechat', appid: WX.appId, openid: WX.openId, unionid: null }]);
    const raw = '{"nickName":"Band"}';
    await lifecycle(
      'wechat',
      WX.appId,
      TT.appId,
      res.returnData,
      { encrypt_data: WX.encryptedData, iv: WX.iv, expect: { openId: WX.openId, nickName: WX.nickName } },
      { raw_data: raw, signature: sha1(raw + WX.sessionKey) },
    );
  });

  it('ByteDance: tt.login code → session; user info decrypted (independent vector), rawData signature, logout', async () => {
    const code = tt.code({ openid: TT.openId, sessionKey: TT.sessionKey, appid: TT.appId });
    const res = await rpc('qcloud.cam.id_skey', {
      code,
      appid: TT.appId,
      encrypt_data: TT.encryptedData,
      iv: TT.iv,
    });
    expect(res.returnCode).to.equal(0);
    expect(Object.keys(res.returnData).sort()).to.deep.equal([
      'appid',
      'duration',
      'id',
      'platform',
      'skey',
      'unionid',
      'user_info',
    ]);
    expect(res.returnData).to.include({ appid: TT.appId, platform: 'toutiao', duration: 2592000 });
    expect(res.returnData.user_info).to.include({ openId: TT.openId, nickName: TT.nickName });
    expect(fake.count('toutiao_jscode2session', TT.appId)).to.equal(1);
    expect(fake.count('jscode2session')).to.equal(0);
    const rows = await node.db.query('SELECT * FROM sessions');
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({
      platform: 'toutiao',
      appid: TT.appId,
      openid: TT.openId,
      skey_hash: sha256(res.returnData.skey),
    });
    const auth = await rpc('qcloud.cam.auth', { id: res.returnData.id, skey: res.returnData.skey });
    expect(auth.returnData).to.deep.include({ openid: TT.openId, platform: 'toutiao', appid: TT.appId });
    expect(auth.returnData.user_info.nickName).to.equal(TT.nickName);
    const raw = '{"nickName":"抖音用户","avatarUrl":""}';
    await lifecycle(
      'toutiao',
      TT.appId,
      WX.appId,
      res.returnData,
      { encrypt_data: TT.encryptedData, iv: TT.iv, expect: { openId: TT.openId, unionId: TT.unionId } },
      { raw_data: raw, signature: sha1(raw + TT.sessionKey) },
    );
  });

  it('QQ: qq.login code → session; user info decrypted (independent vector), rawData signature, logout', async () => {
    const c = qq.code({ sessionKey: QQ.sessionKey, openid: QQ.openId, appid: QQ.appId });
    const res = await rpc('qcloud.cam.id_skey', { code: c.code, appid: QQ.appId });
    expect(res.returnCode).to.equal(0);
    expect(res.returnData).to.include({ appid: QQ.appId, platform: 'qq', unionid: null });
    expect(qq.count('jscode2session', QQ.appId)).to.equal(1);
    expect(fake.count('jscode2session') + fake.count('toutiao_jscode2session')).to.equal(0);
    expect(await sessions()).to.deep.equal([{ platform: 'qq', appid: QQ.appId, openid: QQ.openId, unionid: null }]);
    // userinfo stores what it decrypts (the unionid in it too), auth answers it
    const { id, skey } = res.returnData;
    const ui = await rpc('qcloud.cam.userinfo', { id, skey, encrypt_data: QQ.encryptedData, iv: QQ.iv });
    expect(ui.returnData.user_info).to.include({ nickName: QQ.nickName, unionId: QQ.unionId });
    const auth = await rpc('qcloud.cam.auth', { id: res.returnData.id, skey: res.returnData.skey });
    expect(auth.returnData).to.deep.include({ platform: 'qq', openid: QQ.openId, unionid: QQ.unionId });
    const raw = '{"nickName":"QQ用户"}';
    await lifecycle(
      'qq',
      QQ.appId,
      TT.appId,
      res.returnData,
      { encrypt_data: QQ.encryptedData, iv: QQ.iv, expect: { openId: QQ.openId, nickName: QQ.nickName } },
      { raw_data: raw, signature: sha1(raw + QQ.sessionKey) },
    );
    // a vector of another app (watermark) is 60021
    const again = await rpc('qcloud.cam.id_skey', {
      code: qq.code({ sessionKey: TT.sessionKey }).code,
      appid: QQ.appId,
    });
    const bad = await rpc('qcloud.cam.decrypt', {
      id: again.returnData.id,
      skey: again.returnData.skey,
      encrypt_data: TT.encryptedData,
      iv: TT.iv,
    });
    expect(bad.returnCode).to.equal(60021);
  });

  it("QQ: its errcodes → 40029 with QQ's errcode; no iv is 1003 before the code is spent; nothing stored", async () => {
    const bad = await rpc('qcloud.cam.id_skey', { code: 'fail:40029', appid: QQ.appId });
    expect(bad.returnCode).to.equal(40029);
    expect(bad.returnData).to.deep.equal({ platform: 'qq', errcode: 40029, errmsg: 'fake error 40029' });
    const noIv = await rpc('qcloud.cam.id_skey', { code: 'x', appid: QQ.appId, encrypt_data: QQ.encryptedData });
    expect(noIv.returnCode).to.equal(1003);
    expect(noIv.returnData.errors[0].path).to.equal('/iv');
    expect(qq.count('jscode2session')).to.equal(1);
    expect(await sessions()).to.have.length(0);
  });

  it('QQ: qq.app.token through the token engine (one getToken for concurrent callers, force bounded)', async () => {
    const tok = node.token('qq.*');
    qq.latencyMs = 100;
    const all = await Promise.all(Array.from({ length: 30 }, () => node.rpc('qq.app.token', { codeName: 'qq' }, tok)));
    qq.latencyMs = 0;
    expect(qq.count('qq_getToken', QQ.appId)).to.equal(1);
    expect(new Set(all.map((r) => r.returnData.token)).size).to.equal(1);
    expect(all[0].returnData.appId).to.equal(QQ.appId);
    expect(qq.isLive(all[0].returnData.token, 'QQ', QQ.appId)).to.equal(true);
    const forced = await node.rpc('qq.app.token', { codeName: 'qq', force: true }, tok);
    expect(forced.returnData.token).to.not.equal(all[0].returnData.token);
    // a second force right after answers the fresh token again
    const twice = await node.rpc('qq.app.token', { codeName: 'qq', force: true }, tok);
    expect(twice.returnData.token).to.equal(forced.returnData.token);
    expect(qq.count('qq_getToken')).to.equal(2);
    // another app whose secret QQ refuses: QQ's errcode, in the envelope
    qq.app('1109876544', 'the-right-secret');
    await putApp('qq_app', 'bad', { appId: '1109876544', secret: 'wrong' });
    const refused = await node.rpc('qq.app.token', { codeName: 'bad' }, tok);
    expect(refused.returnCode).to.equal(40029);
    expect(refused.returnData).to.deep.equal({ platform: 'qq', errcode: 40125, errmsg: 'invalid appsecret' });
    // a caller without the scope
    expect((await node.rpc('qq.app.token', { codeName: 'qq' }, node.token('toutiao.*'))).returnCode).to.equal(4003);
  });

  /** what my.getPhoneNumber gives the mini program: Alipay's encrypted, signed response (the vector's ciphertext) */
  const phoneResponse = () =>
    JSON.stringify({
      response: ALI.response,
      sign: alipay.sign(`"${ALI.response}"`),
      sign_type: 'RSA2',
      encrypt_type: 'AES',
      charset: 'UTF-8',
    });

  it('Alipay: my.getAuthCode authCode → session of the open_id; phone number decrypted (independent vector), signature, logout', async () => {
    const code = alipay.authCode({
      userId: '2088000000000001',
      openId: '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5',
      appId: ALI.appId,
    });
    const res = await rpc('qcloud.cam.id_skey', { code, appid: ALI.appId });
    expect(res.returnCode).to.equal(0);
    expect(res.returnData).to.include({ appid: ALI.appId, platform: 'alipay', unionid: '2088000000000001' });
    expect(fake.count('alipay_alipay.system.oauth.token', ALI.appId)).to.equal(1);
    const sent = alipay.received[alipay.received.length - 1];
    expect(sent).to.include({
      method: 'alipay.system.oauth.token',
      grant_type: 'authorization_code',
      code,
      app_id: ALI.appId,
    });
    expect(await sessions()).to.deep.equal([
      {
        platform: 'alipay',
        appid: ALI.appId,
        openid: '074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5',
        unionid: '2088000000000001',
      },
    ]);
    // no session key is kept: Alipay's content is opened with the app's keys
    const [row] = await node.db.query('SELECT session_key FROM sessions');
    expect(row.session_key).to.equal('');
    const info = JSON.stringify({ code: '10000', msg: 'Success', nickName: '支付宝用户' });
    await lifecycle(
      'alipay',
      ALI.appId,
      QQ.appId,
      res.returnData,
      { encrypt_data: phoneResponse(), expect: { mobile: ALI.mobile, code: '10000' } },
      { raw_data: info, signature: alipay.sign(info) },
    );
  });

  it('Alipay: content not signed by Alipay, or badly, is 60021; user_id is the openid when no open_id is given', async () => {
    const code = alipay.authCode({ userId: '2088000000000002' });
    const res = await rpc('qcloud.cam.id_skey', { code, appid: ALI.appId });
    expect(res.returnData).to.include({ platform: 'alipay', unionid: null });
    const { id, skey } = res.returnData;
    expect((await rpc('qcloud.cam.auth', { id, skey })).returnData.openid).to.equal('2088000000000002');
    const decrypt = (encrypt_data: string) => rpc('qcloud.cam.decrypt', { id, skey, encrypt_data });
    expect((await decrypt(phoneResponse())).returnData).to.include({ mobile: ALI.mobile });
    const unsigned = JSON.stringify({ response: ALI.response });
    const forged = JSON.stringify({ response: ALI.response, sign: alipay.sign(ALI.response) });
    for (const bad of [unsigned, forged, ALI.response, '{"response":"x","sign":"y"}', '[]']) {
      const r = await decrypt(bad);
      expect(r.returnCode, bad).to.equal(60021);
      expect(r.returnData).to.equal('');
    }
  });

  it("Alipay: an invalid auth code → 40029 with Alipay's sub_code; an unsigned or badly signed answer → 1007; nothing stored", async () => {
    const bad = await rpc('qcloud.cam.id_skey', { code: 'not-a-code', appid: ALI.appId });
    expect(bad.returnCode).to.equal(40029);
    expect(bad.returnData).to.deep.equal({ platform: 'alipay', errcode: 'isv.code-invalid', errmsg: '授权码code无效' });
    for (const answer of ['unsigned', 'badly-signed'] as const) {
      alipay.answer = answer;
      const r = await rpc('qcloud.cam.id_skey', {
        code: alipay.authCode({ userId: '2088000000000003' }),
        appid: ALI.appId,
      });
      expect(r.returnCode, answer).to.equal(1007);
      expect(r.returnData).to.equal('');
    }
    expect(fake.count('alipay_alipay.system.oauth.token')).to.equal(3);
    expect(await sessions()).to.have.length(0);
  });

  it('ByteDance: anonymous_code alone logs in as the anonymous openid; WeChat refuses it', async () => {
    const res = await rpc('qcloud.cam.id_skey', { anonymous_code: 'anon1', appid: TT.appId });
    expect(res.returnCode).to.equal(0);
    expect(await sessions()).to.deep.equal([
      { platform: 'toutiao', appid: TT.appId, openid: 'ao_anon1', unionid: null },
    ]);
    const wx = await rpc('qcloud.cam.id_skey', { anonymous_code: 'anon1', appid: WX.appId });
    expect(wx.returnCode).to.equal(1003);
    expect(wx.returnData.errors[0].path).to.equal('/code');
    expect(fake.count('jscode2session')).to.equal(0);
    // only a login that declares anonymousCode takes one: QQ and Alipay refuse it before any call
    for (const appid of [QQ.appId, ALI.appId]) {
      const r = await rpc('qcloud.cam.id_skey', { anonymous_code: 'anon1', appid });
      expect(r.returnCode).to.equal(1003);
      expect(r.returnData.errors[0].path).to.equal('/code');
    }
    expect(qq.count('jscode2session') + fake.count('alipay_alipay.system.oauth.token')).to.equal(0);
    const none = await rpc('qcloud.cam.id_skey', { appid: TT.appId });
    expect(none.returnCode).to.equal(1003);
  });

  it("ByteDance: an invalid or used code → 40029 with ByteDance's err_no, nothing stored", async () => {
    const bad = await rpc('qcloud.cam.id_skey', { code: 'not-a-tt-code', appid: TT.appId });
    expect(bad.returnCode).to.equal(40029);
    expect(bad.returnData).to.deep.equal({ platform: 'toutiao', errcode: 40018, errmsg: 'bad code' });
    const code = tt.code({ appid: TT.appId });
    expect((await rpc('qcloud.cam.id_skey', { code, appid: TT.appId })).returnCode).to.equal(0);
    const again = await rpc('qcloud.cam.id_skey', { code, appid: TT.appId });
    expect(again.returnData).to.deep.equal({ platform: 'toutiao', errcode: 40018, errmsg: 'code used' });
    expect(fake.count('toutiao_jscode2session')).to.equal(3);
    expect(await sessions()).to.have.length(1);
  });

  it('one openid on two platforms is two sessions; the default app is WeChat’s', async () => {
    const wx = await rpc('qcloud.cam.id_skey', { code: fake.code({ openid: 'same-user', appid: WX.appId }).code });
    expect(wx.returnData).to.include({ appid: WX.appId, platform: 'wechat' });
    const t = await rpc('qcloud.cam.id_skey', { code: tt.code({ openid: 'same-user' }), appid: TT.appId });
    expect(t.returnData.id).to.not.equal(wx.returnData.id);
    expect((await sessions()).map((r) => r.platform)).to.deep.equal(['toutiao', 'wechat']);
    // a WeChat session's skey does not open the ByteDance one
    expect((await rpc('qcloud.cam.auth', { id: t.returnData.id, skey: wx.returnData.skey })).returnCode).to.equal(
      60012,
    );
  });

  it('without appid: WeChat’s default; with no WeChat mini program, the one platform’s single app; platform picks one', async () => {
    // WeChat's single app wins over the other platforms' single apps (the Wafer SDK names no app)
    const wx = await rpc('qcloud.cam.id_skey', { code: fake.code({ appid: WX.appId }).code });
    expect(wx.returnData).to.include({ platform: 'wechat', appid: WX.appId });
    // platform without appid: that platform's single app
    const q = await rpc('qcloud.cam.id_skey', { code: qq.code().code, platform: 'qq' });
    expect(q.returnData).to.include({ platform: 'qq', appid: QQ.appId });
    // two WeChat apps and no default: 1003, never another platform's app
    fake.app('wx2222222222222222', 's2');
    expect((await putApp('wechat_app', 'wx2', { appId: 'wx2222222222222222', secret: 's2' })).returnCode).to.equal(0);
    const none = await rpc('qcloud.cam.id_skey', { code: 'x' });
    expect(none.returnCode).to.equal(1003);
    expect(none.returnData.errors[0].path).to.equal('/appid');
    // naming the platform still finds its single app
    const q2 = await rpc('qcloud.cam.id_skey', { code: qq.code().code, platform: 'qq' });
    expect(q2.returnData).to.include({ platform: 'qq', appid: QQ.appId });
    // no WeChat app at all: several platforms with one app each are ambiguous; one platform left is the default
    for (const c of ['wx', 'wx2']) await node.rpc('admin.app.delete', { platform: 'wechat_app', codeName: c }, admin);
    expect((await rpc('qcloud.cam.id_skey', { code: 'x' })).returnCode).to.equal(1003);
    for (const [k, c] of [
      ['toutiao_app', 'tt'],
      ['alipay_app', 'ali'],
    ])
      await node.rpc('admin.app.delete', { platform: k, codeName: c }, admin);
    const only = await rpc('qcloud.cam.id_skey', { code: qq.code().code });
    expect(only.returnData).to.include({ platform: 'qq', appid: QQ.appId });
    // the next such login reads no app rows: the answer is cached (an app write flushes it)
    const store = node.gh.services.store;
    const listApps = store.listApps.bind(store);
    let reads = 0;
    store.listApps = (platform?: string) => {
      reads++;
      return listApps(platform);
    };
    const again = await rpc('qcloud.cam.id_skey', { code: qq.code().code });
    expect(again.returnData).to.include({ platform: 'qq', appid: QQ.appId });
    expect(reads).to.equal(0);
    expect(qq.count('jscode2session')).to.equal(4);
    expect(fake.count('jscode2session')).to.equal(1);
  });

  it('an appid configured on two platforms needs platform; a platform not serving it answers 1012', async () => {
    // the same appid string as a ByteDance app too (a mistake, but allowed: identities are per platform)
    expect((await putApp('toutiao_app', 'twin', { appId: WX.appId, secret: WX_SECRET })).returnCode).to.equal(0);
    const res = await rpc('qcloud.cam.id_skey', { code: 'x', appid: WX.appId });
    expect(res.returnCode).to.equal(1003);
    expect(res.returnData.errors[0]).to.include({ path: '/platform' });
    const c = fake.code({ appid: WX.appId });
    const ok = await rpc('qcloud.cam.id_skey', { code: c.code, appid: WX.appId, platform: 'wechat' });
    expect(ok.returnData).to.include({ platform: 'wechat', appid: WX.appId });
    expect((await rpc('qcloud.cam.id_skey', { code: 'x', appid: TT.appId, platform: 'wechat' })).returnCode).to.equal(
      1012,
    );
    expect((await rpc('qcloud.cam.id_skey', { code: 'x', platform: 'weibo' })).returnCode).to.equal(1003);
    expect(fake.count('jscode2session') + fake.count('toutiao_jscode2session')).to.equal(1);
  });
});

/** the sessions table as migrations 001-009 left it */
const OLD_SESSIONS = {
  sqlite: `CREATE TABLE sessions (
    id TEXT NOT NULL PRIMARY KEY, appid TEXT NOT NULL, openid TEXT NOT NULL, unionid TEXT,
    skey_hash TEXT NOT NULL, session_key TEXT NOT NULL, user_info TEXT,
    created_at INTEGER NOT NULL, last_visit INTEGER NOT NULL, UNIQUE (appid, openid))`,
  mariadb: `CREATE TABLE sessions (
    id CHAR(32) NOT NULL PRIMARY KEY, appid VARCHAR(128) NOT NULL, openid VARCHAR(128) NOT NULL,
    unionid VARCHAR(128) NULL, skey_hash CHAR(64) NOT NULL, session_key TEXT NOT NULL, user_info MEDIUMTEXT NULL,
    created_at BIGINT NOT NULL, last_visit BIGINT NOT NULL, UNIQUE KEY sessions_app_openid (appid, openid)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
};

forEachDialect('migration 010: sessions per platform', (dialect) => {
  it('a WeChat session from before keeps working; migrating again changes nothing', async () => {
    const db = await freshDatabase(dialect);
    const fake = await new FakePlatform().start();
    try {
      const config = configFromEnv({ GATEHOUSE_DATABASE_URL: db.url });
      await (await openMigratedStore(config)).close();
      await db.exec('DROP TABLE sessions');
      await db.exec(OLD_SESSIONS[dialect]);
      await db.exec("UPDATE meta SET v = '9' WHERE k = 'schema_version'");
      const id = 'a'.repeat(32);
      const skey = 'b'.repeat(32);
      const now = Date.now();
      await db.exec(
        'INSERT INTO sessions (id, appid, openid, unionid, skey_hash, session_key, user_info, created_at, last_visit) VALUES (?, ?, ?, NULL, ?, ?, NULL, ?, ?)',
        [id, WX.appId, WX.openId, sha256(skey), WX.sessionKey, now, now],
      );
      const node = await startNode({ dialect, fake, db });
      try {
        await node.rpc(
          'admin.app.put',
          { platform: 'wechat_app', codeName: 'wx', config: { appId: WX.appId, secret: WX_SECRET } },
          node.token('admin.*'),
        );
        const auth = await node.rpc('qcloud.cam.auth', { id, skey });
        expect(auth.returnData).to.deep.equal({
          user_info: null,
          appid: WX.appId,
          platform: 'wechat',
          openid: WX.openId,
          unionid: null,
        });
        // its session key came through: the official vector decrypts
        const dec = await node.rpc('qcloud.cam.decrypt', { id, skey, encrypt_data: WX.encryptedData, iv: WX.iv });
        expect(dec.returnData).to.include({ nickName: WX.nickName });
        // a ByteDance session beside it, then the store set back to 9 migrates again without a change
        await db.exec(
          "INSERT INTO sessions (id, platform, appid, openid, skey_hash, session_key, created_at, last_visit) VALUES (?, 'toutiao', ?, ?, ?, 'k', 1, 1)",
          ['c'.repeat(32), WX.appId, WX.openId, sha256(skey)],
        );
      } finally {
        await node.close();
      }
      await db.exec("UPDATE meta SET v = '9' WHERE k = 'schema_version'");
      const again = await openMigratedStore(config);
      expect(await again.schemaVersion()).to.be.at.least(10);
      await again.close();
      const rows = await db.query('SELECT id, platform FROM sessions ORDER BY id');
      expect(rows).to.deep.equal([
        { id, platform: 'wechat' },
        { id: 'c'.repeat(32), platform: 'toutiao' },
      ]);
    } finally {
      await fake.stop();
      await db.drop();
    }
  });
});
