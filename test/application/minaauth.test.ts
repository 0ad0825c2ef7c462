import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { DATA_CRYPT as V } from '../helpers/vectors';

const APPID = 'wx1111111111111111';
const SECRET = 'secret-of-app-one';
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const sha1 = (s: string) => crypto.createHash('sha1').update(s).digest('hex');

forEachDialect('qcloud.cam.* sessions', (dialect) => {
  let fake: FakePlatform;
  let node: TestNode;
  let admin: string;

  const putApp = (codeName: string, config: Record<string, unknown>) =>
    node.rpc('admin.app.put', { platform: 'wechat_app', codeName, config }, admin);
  const sessions = () => node.db.query('SELECT * FROM sessions');
  const login = async (para: Record<string, unknown> = {}) => {
    const c = fake.code({ appid: (para.appid as string) ?? APPID });
    const res = await node.rpc('qcloud.cam.id_skey', { code: c.code, ...para });
    return { ...c, res };
  };

  before(async () => {
    fake = await new FakePlatform().start();
    fake.app(APPID, SECRET);
    fake.app(V.appId, SECRET);
    fake.app('wx2222222222222222', 's2');
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    node = await startNode({ dialect, fake });
    admin = node.token('admin.*');
    expect((await putApp('one', { appId: APPID, secret: SECRET })).returnCode).to.equal(0);
    fake.reset();
  });
  afterEach(async () => node?.close());

  describe('id_skey', () => {
    it('logs in through jscode2session and stores only a hash of the skey', async () => {
      const { res, openid } = await login();
      expect(res).to.include({ returnCode: 0, returnMessage: 'OK', version: 1, componentName: 'MA' });
      const d = res.returnData;
      expect(Object.keys(d).sort()).to.deep.equal(['appid', 'duration', 'id', 'platform', 'skey', 'unionid']);
      expect(d.id).to.match(/^[0-9a-f]{32}$/);
      expect(d.skey).to.match(/^[0-9a-f]{32}$/);
      expect(d).to.include({ duration: 2592000, appid: APPID, platform: 'wechat', unionid: null });
      expect(fake.count('jscode2session', APPID)).to.equal(1);
      const rows = await sessions();
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ id: d.id, platform: 'wechat', appid: APPID, openid, skey_hash: sha256(d.skey) });
      expect(JSON.stringify(rows)).to.not.include(d.skey);
    });

    it('decrypts user info with the official vector and stores it', async () => {
      await putApp('one', { appId: V.appId, secret: SECRET });
      const c = fake.code({ sessionKey: V.sessionKey, openid: V.openId });
      const res = await node.rpc('qcloud.cam.id_skey', {
        code: c.code,
        encrypt_data: V.encryptedData,
        iv: V.iv,
        appid: V.appId,
      });
      expect(res.returnCode).to.equal(0);
      expect(res.returnData.user_info).to.include({ openId: V.openId, nickName: V.nickName, unionId: V.unionId });
      expect(res.returnData.unionid).to.equal(V.unionId);
      const auth = await node.rpc('qcloud.cam.auth', { id: res.returnData.id, skey: res.returnData.skey });
      expect(auth.returnData).to.deep.include({ appid: V.appId, openid: V.openId, unionid: V.unionId });
      expect(auth.returnData.user_info.nickName).to.equal(V.nickName);
    });

    it('answers 60021 and writes nothing when the watermark is another app', async () => {
      const c = fake.code({ sessionKey: V.sessionKey });
      const res = await node.rpc('qcloud.cam.id_skey', { code: c.code, encrypt_data: V.encryptedData, iv: V.iv });
      expect(res).to.include({ returnCode: 60021, returnMessage: 'DECRYPT_FAIL', returnData: '' });
      expect(await sessions()).to.have.length(0);
    });

    it('keeps the id and replaces the skey on a new login', async () => {
      const openid = 'o_same_user';
      const a = await node.rpc('qcloud.cam.id_skey', { code: fake.code({ openid }).code });
      const b = await node.rpc('qcloud.cam.id_skey', { code: fake.code({ openid }).code });
      expect(b.returnData.id).to.equal(a.returnData.id);
      expect(b.returnData.skey).to.not.equal(a.returnData.skey);
      expect((await node.rpc('qcloud.cam.auth', { id: a.returnData.id, skey: a.returnData.skey })).returnCode).to.equal(
        60012,
      );
      expect((await node.rpc('qcloud.cam.auth', { id: b.returnData.id, skey: b.returnData.skey })).returnCode).to.equal(
        0,
      );
    });

    it('passes unionid from jscode2session', async () => {
      const c = fake.code({ unionid: 'union-42' });
      const res = await node.rpc('qcloud.cam.id_skey', { code: c.code });
      expect(res.returnData.unionid).to.equal('union-42');
    });

    const failures: Array<[string, number, unknown]> = [
      ['fail:40029', 40029, { platform: 'wechat', errcode: 40029, errmsg: 'fake error 40029' }],
      ['fail:-1', 40029, { platform: 'wechat', errcode: -1, errmsg: 'fake error -1' }],
      ['fail:45011', 40029, { platform: 'wechat', errcode: 45011, errmsg: 'fake error 45011' }],
      ['not-a-known-code', 40029, { platform: 'wechat', errcode: 40029, errmsg: 'invalid code' }],
      ['http:500', 1005, ''],
      ['stall', 1005, ''],
      ['garbage', 1007, ''],
    ];
    for (const [code, rc, data] of failures) {
      it(`maps jscode2session "${code}" to ${rc} and writes nothing`, async () => {
        const res = await node.rpc('qcloud.cam.id_skey', { code });
        expect(res.returnCode).to.equal(rc);
        expect(res.returnData).to.deep.equal(data);
        expect(fake.count('jscode2session')).to.equal(1);
        expect(await sessions()).to.have.length(0);
      });
    }

    it('a code used twice fails the second time (40163)', async () => {
      const c = fake.code();
      expect((await node.rpc('qcloud.cam.id_skey', { code: c.code })).returnCode).to.equal(0);
      const again = await node.rpc('qcloud.cam.id_skey', { code: c.code });
      expect(again.returnCode).to.equal(40029);
      expect(again.returnData.errcode).to.equal(40163);
    });

    it('sends the configured secret (a wrong one gets 40125)', async () => {
      await putApp('one', { appId: APPID, secret: 'wrong' });
      const res = await node.rpc('qcloud.cam.id_skey', { code: fake.code().code });
      expect(res.returnData).to.deep.equal({ platform: 'wechat', errcode: 40125, errmsg: 'invalid appsecret' });
    });

    it('requires encrypt_data and iv together', async () => {
      for (const para of [
        { code: 'x', iv: V.iv },
        { code: 'x', encrypt_data: V.encryptedData },
      ]) {
        const res = await node.rpc('qcloud.cam.id_skey', para);
        expect(res.returnCode).to.equal(1003);
        expect(res.returnData.errors).to.be.an('array').that.is.not.empty;
      }
      expect(fake.count('jscode2session')).to.equal(0);
    });
  });

  describe('appid defaulting', () => {
    it('needs appid when two mini programs are configured and none is default', async () => {
      await putApp('two', { appId: 'wx2222222222222222', secret: 's2' });
      const res = await node.rpc('qcloud.cam.id_skey', { code: fake.code().code });
      expect(res.returnCode).to.equal(1003);
      expect(res.returnData.errors[0].path).to.equal('/appid');
      expect((await login({ appid: APPID })).res.returnCode).to.equal(0);
    });

    it('uses the app marked default', async () => {
      await putApp('two', { appId: 'wx2222222222222222', secret: 's2', default: true });
      const c = fake.code({ appid: 'wx2222222222222222' });
      const res = await node.rpc('qcloud.cam.id_skey', { code: c.code });
      expect(res.returnCode).to.equal(0);
      expect(res.returnData.appid).to.equal('wx2222222222222222');
    });

    it('answers 1012 for an unknown or disabled appid', async () => {
      expect((await node.rpc('qcloud.cam.id_skey', { code: 'x', appid: 'wxnope' })).returnCode).to.equal(1012);
      await putApp('one', { appId: APPID, secret: SECRET, enabled: false });
      expect((await node.rpc('qcloud.cam.id_skey', { code: 'x', appid: APPID })).returnCode).to.equal(1012);
      expect(fake.count('jscode2session')).to.equal(0);
    });
  });

  describe('auth and expiry', () => {
    it('returns the session user; wrong skey, unknown id or other appid → 60012', async () => {
      const { res, openid } = await login();
      const { id, skey } = res.returnData;
      const ok = await node.rpc('qcloud.cam.auth', { id, skey });
      expect(ok.returnData).to.deep.equal({ user_info: null, appid: APPID, platform: 'wechat', openid, unionid: null });
      expect((await node.rpc('qcloud.cam.auth', { id, skey, appid: APPID })).returnCode).to.equal(0);
      expect((await node.rpc('qcloud.cam.auth', { id, skey: 'f'.repeat(32) })).returnCode).to.equal(60012);
      expect((await node.rpc('qcloud.cam.auth', { id: 'e'.repeat(32), skey })).returnCode).to.equal(60012);
      expect((await node.rpc('qcloud.cam.auth', { id, skey, appid: 'wx2222222222222222' })).returnCode).to.equal(60012);
    });

    it('expires after loginDurationDays since login → 60011', async () => {
      await putApp('one', { appId: APPID, secret: SECRET, loginDurationDays: 1 });
      const { id, skey } = (await login()).res.returnData;
      const now = Date.now();
      await node.gh.services.store.touchSession(id, now, now + 1); // keep it active
      await setTimes(id, now - 2 * 86_400_000, now);
      expect((await node.rpc('qcloud.cam.auth', { id, skey })).returnCode).to.equal(60011);
    });

    it('expires after sessionDurationSeconds idle → 60011', async () => {
      await putApp('one', { appId: APPID, secret: SECRET, sessionDurationSeconds: 60 });
      const { id, skey, duration } = (await login()).res.returnData;
      expect(duration).to.equal(60);
      await setTimes(id, Date.now() - 120_000, Date.now() - 61_000);
      expect((await node.rpc('qcloud.cam.auth', { id, skey })).returnCode).to.equal(60011);
    });

    it('moves last_visit at most once a minute', async () => {
      const { id, skey } = (await login()).res.returnData;
      const [before] = await sessions();
      await node.rpc('qcloud.cam.auth', { id, skey });
      await node.rpc('qcloud.cam.auth', { id, skey });
      const [same] = await sessions();
      expect(Number(same.last_visit)).to.equal(Number(before.last_visit));
      const old = Date.now() - 61_000;
      await setTimes(id, old, old);
      await node.rpc('qcloud.cam.auth', { id, skey });
      const [moved] = await sessions();
      expect(Number(moved.last_visit)).to.be.greaterThan(Date.now() - 5000);
      await node.rpc('qcloud.cam.auth', { id, skey });
      const [again] = await sessions();
      expect(Number(again.last_visit)).to.equal(Number(moved.last_visit));
    });

    async function setTimes(id: string, createdAt: number, lastVisit: number) {
      // only through the store interface's own SQL connection: write via a direct statement
      const store = node.gh.services.store as unknown as { run(sql: string, p: unknown[]): Promise<number> };
      await store.run('UPDATE sessions SET created_at = ?, last_visit = ? WHERE id = ?', [createdAt, lastVisit, id]);
      node.gh.services.sessions.forget(id);
    }
  });

  describe('userinfo, decrypt, check_signature, logout', () => {
    let id: string;
    let skey: string;
    beforeEach(async () => {
      await putApp('one', { appId: V.appId, secret: SECRET });
      const c = fake.code({ sessionKey: V.sessionKey, openid: V.openId });
      ({ id, skey } = (await node.rpc('qcloud.cam.id_skey', { code: c.code })).returnData);
    });

    it('userinfo decrypts, stores, and auth returns it afterwards', async () => {
      expect((await node.rpc('qcloud.cam.auth', { id, skey })).returnData.user_info).to.equal(null);
      const res = await node.rpc('qcloud.cam.userinfo', { id, skey, encrypt_data: V.encryptedData, iv: V.iv });
      expect(res.returnCode).to.equal(0);
      expect(res.returnData).to.deep.include({ id, skey, appid: V.appId });
      expect(res.returnData.user_info.nickName).to.equal(V.nickName);
      const auth = await node.rpc('qcloud.cam.auth', { id, skey });
      expect(auth.returnData.user_info.openId).to.equal(V.openId);
      expect(auth.returnData.unionid).to.equal(V.unionId);
    });

    it('decrypt returns the decrypted object and 60021 for bad data', async () => {
      const res = await node.rpc('qcloud.cam.decrypt', { id, skey, encrypt_data: V.encryptedData, iv: V.iv });
      expect(res.returnData).to.include({ openId: V.openId, nickName: V.nickName });
      const bad = await node.rpc('qcloud.cam.decrypt', {
        id,
        skey,
        encrypt_data: V.encryptedData,
        iv: crypto.randomBytes(16).toString('base64'),
      });
      expect(bad.returnCode).to.equal(60021);
      expect((await node.rpc('qcloud.cam.decrypt', { id, skey: 'x', encrypt_data: 'a', iv: 'b' })).returnCode).to.equal(
        60012,
      );
    });

    it('check_signature is sha1(raw_data + session_key)', async () => {
      const raw = '{"nickName":"Band"}';
      const good = await node.rpc('qcloud.cam.check_signature', {
        id,
        skey,
        raw_data: raw,
        signature: sha1(raw + V.sessionKey),
      });
      expect(good.returnData).to.deep.equal({ valid: true });
      const bad = await node.rpc('qcloud.cam.check_signature', { id, skey, raw_data: raw, signature: sha1(raw) });
      expect(bad.returnData).to.deep.equal({ valid: false });
    });

    it('logout ends the session', async () => {
      expect((await node.rpc('qcloud.cam.logout', { id, skey: 'f'.repeat(32) })).returnCode).to.equal(60012);
      expect(await node.rpc('qcloud.cam.logout', { id, skey })).to.include({ returnCode: 0 });
      expect((await node.rpc('qcloud.cam.logout', { id, skey })).returnData).to.equal('');
      expect((await node.rpc('qcloud.cam.auth', { id, skey })).returnCode).to.equal(60012);
    });

    it('never returns or logs the session key or skey', async () => {
      const all = [
        await node.rpc('qcloud.cam.auth', { id, skey }),
        await node.rpc('qcloud.cam.userinfo', { id, skey, encrypt_data: V.encryptedData, iv: V.iv }),
        await node.rpc('qcloud.cam.check_signature', { id, skey, raw_data: 'x', signature: 'y' }),
      ];
      expect(JSON.stringify(all)).to.not.include(V.sessionKey);
      const log = fs.readFileSync(node.logFile, 'utf8');
      expect(log).to.include('rpc');
      expect(log).to.not.include(V.sessionKey);
      expect(log).to.not.include(skey);
      expect(log).to.not.include(SECRET);
    });
  });
});
