import { expect } from 'chai';
import { openStore } from '../../db';
import type { AppRow, Store } from '../../db/store';
import { tokenKey } from '../../db/store';
import { forEachDialect, freshDatabase, type TestDatabase } from '../helpers/db';

const app = (over: Partial<AppRow> = {}): AppRow => ({
  platform: 'wechat_app',
  codeName: 'main',
  appId: 'wx0001',
  enabled: true,
  isDefault: false,
  config: '{"appId":"wx0001"}',
  createdAt: 1000,
  updatedAt: 1000,
  ...over,
});

forEachDialect('store contract', (dialect) => {
  let db: TestDatabase;
  let store: Store;

  beforeEach(async () => {
    db = await freshDatabase(dialect);
    store = openStore(db.url);
    await store.migrate();
  });
  afterEach(async () => {
    await store?.close();
    await db?.drop();
  });

  describe('migrations and meta', () => {
    it('applies every migration once and records the schema version', async () => {
      const v = await store.migrate();
      expect(v).to.be.greaterThan(0);
      expect(await store.schemaVersion()).to.equal(v);
      expect(await store.migrate()).to.equal(v);
      const rows = await db.query("SELECT v FROM meta WHERE k = 'schema_version'");
      expect(rows.map((r) => String(r.v))).to.deep.equal([String(v)]);
    });

    it('migrates concurrently from several connections without error', async () => {
      const other = await freshDatabase(dialect);
      const stores = [0, 1, 2].map(() => openStore(other.url));
      try {
        const versions = await Promise.all(stores.map((s) => s.migrate()));
        expect(new Set(versions).size).to.equal(1);
      } finally {
        for (const s of stores) await s.close();
        await other.drop();
      }
    });

    it('initMeta keeps the first value written', async () => {
      expect(await store.initMeta('jwt', 'a')).to.equal('a');
      expect(await store.initMeta('jwt', 'b')).to.equal('a');
      await store.setMeta('jwt', 'c');
      expect(await store.getMeta('jwt')).to.equal('c');
      expect(await store.getMeta('missing')).to.equal(null);
    });
  });

  describe('apps', () => {
    it('creates, replaces, finds, lists and deletes', async () => {
      expect(await store.putApp(app())).to.deep.equal({ created: true });
      expect(
        await store.putApp(app({ appId: 'wx0002', enabled: false, updatedAt: 2000, createdAt: 2000 })),
      ).to.deep.equal({ created: false });
      const got = await store.getApp('wechat_app', 'main');
      expect(got).to.include({ appId: 'wx0002', enabled: false, createdAt: 1000, updatedAt: 2000 });
      expect(await store.findApps('wechat_app', 'wx0002')).to.have.length(1);
      expect(await store.findApps('wechat_app', 'wx0001')).to.have.length(0);
      await store.putApp(app({ platform: 'cos', codeName: 'files', appId: '1250000000' }));
      expect((await store.listApps()).map((a) => `${a.platform}/${a.codeName}`)).to.deep.equal([
        'cos/files',
        'wechat_app/main',
      ]);
      expect(await store.listApps('cos')).to.have.length(1);
      expect(await store.deleteApp('wechat_app', 'main')).to.equal(true);
      expect(await store.deleteApp('wechat_app', 'main')).to.equal(false);
      expect(await store.getApp('wechat_app', 'main')).to.equal(null);
    });

    it('stores config text verbatim (unicode included)', async () => {
      const config = JSON.stringify({ appId: 'wx0001', note: '中文 ✓ \u{1F600}' });
      await store.putApp(app({ config }));
      expect((await store.getApp('wechat_app', 'main'))!.config).to.equal(config);
    });
  });

  describe('sessions', () => {
    const login = (over: Record<string, unknown> = {}) => ({
      newId: 'a'.repeat(32),
      appid: 'wx0001',
      openid: 'openid-1',
      unionid: null as string | null,
      skeyHash: '1'.repeat(64),
      sessionKey: 'sk1',
      userInfo: null as string | null,
      now: 1000,
      ...over,
    });

    it('keeps the id stable per (appid, openid) and replaces the skey', async () => {
      expect(await store.saveLogin(login())).to.equal('a'.repeat(32));
      const id = await store.saveLogin(
        login({ newId: 'b'.repeat(32), skeyHash: '2'.repeat(64), sessionKey: 'sk2', now: 5000 }),
      );
      expect(id).to.equal('a'.repeat(32));
      const s = (await store.getSession(id))!;
      expect(s).to.include({
        skeyHash: '2'.repeat(64),
        sessionKey: 'sk2',
        createdAt: 5000,
        lastVisit: 5000,
        userInfo: null,
      });
      expect(await store.saveLogin(login({ newId: 'c'.repeat(32), openid: 'openid-2' }))).to.equal('c'.repeat(32));
      expect(await store.saveLogin(login({ newId: 'd'.repeat(32), appid: 'wx0002' }))).to.equal('d'.repeat(32));
      expect(await db.query('SELECT id FROM sessions')).to.have.length(3);
    });

    it('keeps known user info and unionid when a later login has none', async () => {
      await store.saveLogin(login({ userInfo: '{"nickName":"Band"}', unionid: 'u1' }));
      await store.saveLogin(login({ newId: 'b'.repeat(32), now: 2000 }));
      const s = (await store.getSession('a'.repeat(32)))!;
      expect(s.userInfo).to.equal('{"nickName":"Band"}');
      expect(s.unionid).to.equal('u1');
      await store.setSessionUserInfo(s.id, '{"nickName":"New"}', null);
      expect((await store.getSession(s.id))!).to.include({ userInfo: '{"nickName":"New"}', unionid: 'u1' });
    });

    it('touches last_visit only when older than the threshold', async () => {
      const id = await store.saveLogin(login());
      await store.touchSession(id, 1500, 1000);
      expect((await store.getSession(id))!.lastVisit).to.equal(1000);
      await store.touchSession(id, 70000, 10000);
      expect((await store.getSession(id))!.lastVisit).to.equal(70000);
    });

    it('logs out only with the current skey hash', async () => {
      const id = await store.saveLogin(login());
      expect(await store.logoutSession(id, '9'.repeat(64))).to.equal(false);
      expect(await store.logoutSession(id, '1'.repeat(64))).to.equal(true);
      expect((await store.getSession(id))!.skeyHash).to.equal('');
      expect(await store.getSession('f'.repeat(32))).to.equal(null);
    });
  });

  it('matches keys exactly (MariaDB PAD SPACE collations ignore trailing spaces)', async () => {
    await store.putApp(app());
    expect(await store.getApp('wechat_app', 'main ')).to.equal(null);
    expect(await store.findApps('wechat_app', 'wx0001 ')).to.deep.equal([]);
    const id = await store.saveLogin({
      newId: 'a'.repeat(32),
      appid: 'wx0001',
      openid: 'o',
      unionid: null,
      skeyHash: 'h',
      sessionKey: 'k',
      userInfo: null,
      now: 1,
    });
    expect(await store.getSession(`${id} `)).to.equal(null);
    await store.initMeta('k', 'v');
    expect(await store.getMeta('k ')).to.equal(null);
    await store.ensureToken({ key: 'tk', platform: 'p', codeName: 'c', subject: 's', kind: 'k' });
    expect(await store.getToken('tk ')).to.equal(null);
  });

  describe('tokens', () => {
    const ident = {
      key: tokenKey('wechat_app', 'main', 'wx0001', 'access_token'),
      platform: 'wechat_app',
      codeName: 'main',
      subject: 'wx0001',
      kind: 'access_token',
    };

    it('ensureToken creates an empty row once', async () => {
      const a = await store.ensureToken(ident);
      const b = await store.ensureToken(ident);
      expect(a).to.deep.equal(b);
      expect(a).to.include({ value: null, version: 0, leaseOwner: null });
    });

    it('gives the lease to one owner until it expires', async () => {
      await store.ensureToken(ident);
      expect(await store.tryLease(ident.key, 'n1', 1000, 16000)).to.equal(true);
      expect(await store.tryLease(ident.key, 'n2', 2000, 17000)).to.equal(false);
      expect(await store.tryLease(ident.key, 'n1', 2000, 17000)).to.equal(true);
      expect(await store.tryLease(ident.key, 'n2', 17001, 32000)).to.equal(true);
      expect((await store.getToken(ident.key))!.leaseOwner).to.equal('n2');
    });

    it('concurrent lease attempts have exactly one winner', async () => {
      await store.ensureToken(ident);
      const wins = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.tryLease(ident.key, `n${i}`, 1000, 16000)),
      );
      expect(wins.filter(Boolean)).to.have.length(1);
    });

    it('saves only for the lease holder, bumping the version and freeing the lease', async () => {
      await store.ensureToken(ident);
      await store.tryLease(ident.key, 'n1', 1000, 16000);
      expect(
        await store.saveToken(ident.key, 'n2', { value: 'bad', expiresAt: 9, refreshedAt: 1, refreshAt: 5 }),
      ).to.equal(false);
      expect(
        await store.saveToken(ident.key, 'n1', {
          value: 'T1',
          expiresAt: 7200000,
          refreshedAt: 1000,
          refreshAt: 6600000,
          forced: true,
          aux: 'rt',
        }),
      ).to.equal(true);
      const t = (await store.getToken(ident.key))!;
      expect(t).to.include({
        value: 'T1',
        expiresAt: 7200000,
        version: 1,
        refreshedAt: 1000,
        refreshAt: 6600000,
        forcedAt: 1000,
        aux: 'rt',
        leaseOwner: null,
        leaseUntil: null,
      });
      expect(
        await store.saveToken(ident.key, 'n1', { value: 'T2', expiresAt: 1, refreshedAt: 1, refreshAt: 1 }),
      ).to.equal(false);
    });

    it('records the last error on release and clears it on the next save', async () => {
      await store.ensureToken(ident);
      await store.tryLease(ident.key, 'n1', 1000, 16000);
      await store.releaseLease(ident.key, 'n1', 'wechat errcode -1', 1500);
      let t = (await store.getToken(ident.key))!;
      expect(t).to.include({ lastError: 'wechat errcode -1', lastErrorAt: 1500, leaseOwner: null });
      await store.tryLease(ident.key, 'n2', 2000, 17000);
      await store.saveToken(ident.key, 'n2', { value: 'T', expiresAt: 5, refreshedAt: 2000, refreshAt: 3 });
      t = (await store.getToken(ident.key))!;
      expect(t).to.include({ lastError: null, lastErrorAt: null, aux: null, forcedAt: null });
      await store.clearToken(ident.key);
      expect((await store.getToken(ident.key))!).to.include({ value: null, version: 2 });
    });

    it('lists due tokens: refresh time come, not leased, no recent error', async () => {
      const other = { ...ident, key: 'k2', subject: 's2' };
      const third = { ...ident, key: 'k3', subject: 's3' };
      for (const t of [ident, other, third]) {
        await store.ensureToken(t);
        await store.tryLease(t.key, 'n1', 0, 10);
        await store.saveToken(t.key, 'n1', { value: 'v', expiresAt: 5000, refreshedAt: 0, refreshAt: 1000 });
      }
      await store.tryLease(other.key, 'n2', 1500, 9000);
      await store.tryLease(third.key, 'n2', 1500, 1600);
      await store.releaseLease(third.key, 'n2', 'boom', 1600);
      expect((await store.dueTokens(999, 30000, 10)).map((t) => t.key)).to.deep.equal([]);
      expect((await store.dueTokens(2000, 30000, 10)).map((t) => t.key)).to.deep.equal([ident.key]);
      expect((await store.dueTokens(40000, 30000, 10)).map((t) => t.key).sort()).to.deep.equal(
        [ident.key, 'k2', 'k3'].sort(),
      );
      expect(await store.dueTokens(40000, 30000, 1)).to.have.length(1);
    });

    it('lists tokens filtered by platform and codeName', async () => {
      await store.ensureToken(ident);
      await store.ensureToken({
        ...ident,
        key: tokenKey('wecom_corp', 'c', 'ww1', 'access_token'),
        platform: 'wecom_corp',
        codeName: 'c',
        subject: 'ww1',
      });
      expect(await store.listTokens()).to.have.length(2);
      expect(await store.listTokens({ platform: 'wecom_corp' })).to.have.length(1);
      expect(await store.listTokens({ codeName: 'main' })).to.have.length(1);
    });
  });

  describe('pushed tickets', () => {
    it('keeps the newest CreateTime: older and equal pushes never replace it', async () => {
      await store.putTicket('wechat_tp', 'wxc1', 't100', 100, 1);
      await store.putTicket('wechat_tp', 'wxc1', 't90', 90, 2);
      await store.putTicket('wechat_tp', 'wxc1', 't100-replay', 100, 3);
      expect(await store.getTicket('wechat_tp', 'wxc1')).to.deep.equal({
        value: 't100',
        createTime: 100,
        updatedAt: 1,
      });
      await store.putTicket('wechat_tp', 'wxc1', 't110', 110, 4);
      expect(await store.getTicket('wechat_tp', 'wxc1')).to.deep.equal({
        value: 't110',
        createTime: 110,
        updatedAt: 4,
      });
      await store.putTicket('wechat_tp', 'wxc1', 't105', 105, 5);
      expect(await store.getTicket('wechat_tp', 'wxc1')).to.deep.equal({
        value: 't110',
        createTime: 110,
        updatedAt: 4,
      });
    });

    it('concurrent pushes of one app (out of order): the newest CreateTime is stored, whole', async () => {
      const times = [7, 3, 9, 1, 8, 2, 6, 4, 5];
      await Promise.all(times.map((t) => store.putTicket('wechat_tp', 'wxrace', `t${t}`, t, 100 + t)));
      expect(await store.getTicket('wechat_tp', 'wxrace')).to.deep.equal({
        value: 't9',
        createTime: 9,
        updatedAt: 109,
      });
    });

    it('keeps tickets apart per platform and app', async () => {
      await store.putTicket('wechat_tp', 'wxc1', 'a', 1, 1);
      await store.putTicket('wechat_tp', 'wxc2', 'b', 1, 1);
      await store.putTicket('wecom_tp', 'wxc1', 'c', 1, 1);
      expect((await store.getTicket('wechat_tp', 'wxc1'))!.value).to.equal('a');
      expect((await store.getTicket('wechat_tp', 'wxc2'))!.value).to.equal('b');
      expect((await store.getTicket('wecom_tp', 'wxc1'))!.value).to.equal('c');
      expect(await store.getTicket('wecom_tp', 'wxc2')).to.equal(null);
    });
  });

  describe('authorizers', () => {
    const a = {
      platform: 'wechat_tp',
      ownerId: 'wxc1',
      authorizerId: 'wxa1',
      refreshToken: 'rt1',
      authorized: true,
      needsReauth: false,
      info: '{"x":1}',
      createdAt: 1,
      updatedAt: 1,
    };

    it('puts, updates and lists per owner', async () => {
      await store.putAuthorizer(a);
      await store.putAuthorizer({ ...a, authorizerId: 'wxa2' });
      await store.putAuthorizer({ ...a, ownerId: 'wxc2' });
      await store.putAuthorizer({ ...a, refreshToken: 'rt2', info: null, createdAt: 5, updatedAt: 5 });
      expect(await store.getAuthorizer('wechat_tp', 'wxc1', 'wxa1')).to.deep.equal({
        ...a,
        refreshToken: 'rt2',
        createdAt: 1,
        updatedAt: 5,
      });
      expect((await store.listAuthorizers('wechat_tp', 'wxc1')).map((r) => r.authorizerId)).to.deep.equal([
        'wxa1',
        'wxa2',
      ]);
      expect(
        await store.updateAuthorizer('wechat_tp', 'wxc1', 'wxa1', { authorized: false, needsReauth: true }, 9),
      ).to.equal(true);
      expect(await store.getAuthorizer('wechat_tp', 'wxc1', 'wxa1')).to.include({
        authorized: false,
        needsReauth: true,
        refreshToken: 'rt2',
        updatedAt: 9,
      });
      await store.updateAuthorizer('wechat_tp', 'wxc1', 'wxa1', { refreshToken: 'rt3' }, 10);
      expect((await store.getAuthorizer('wechat_tp', 'wxc1', 'wxa1'))!.refreshToken).to.equal('rt3');
      expect(await store.updateAuthorizer('wechat_tp', 'wxc1', 'nope', { authorized: true }, 11)).to.equal(false);
      expect(await store.getAuthorizer('wechat_tp', 'wxc1', 'wxa1 ')).to.equal(null);
    });
  });

  describe('pushes', () => {
    it('lists newest first with filters and a limit, and prunes old ones', async () => {
      for (let i = 1; i <= 5; i++) {
        await store.addPush({
          at: i * 1000,
          platform: i % 2 ? 'wechat_tp' : 'wecom_tp',
          codeName: 'c',
          infoType: i === 5 ? 'unauthorized' : 'component_verify_ticket',
          appId: 'wxc1',
          verified: true,
          body: `{"n":${i}}`,
        });
      }
      expect((await store.listPushes({ limit: 10 })).map((p) => p.at)).to.deep.equal([5000, 4000, 3000, 2000, 1000]);
      expect((await store.listPushes({ platform: 'wecom_tp', limit: 10 })).map((p) => p.at)).to.deep.equal([
        4000, 2000,
      ]);
      expect((await store.listPushes({ infoType: 'unauthorized', limit: 10 }))[0]).to.include({
        at: 5000,
        body: '{"n":5}',
        verified: true,
      });
      expect(await store.listPushes({ limit: 2 })).to.have.length(2);
      expect(await store.prunePushes(3000)).to.equal(2);
      expect(await store.listPushes({ limit: 10 })).to.have.length(3);
    });

    it('addPushes writes several pushes in one statement, each row whole (the group commit)', async () => {
      const rows = Array.from({ length: 64 }, (_, i) => ({
        at: 10_000 + i,
        platform: 'wechat_tp',
        codeName: `c${i % 3}`,
        infoType: 'component_verify_ticket',
        appId: `wxc${i}`,
        verified: i % 2 === 0,
        body: `{"n":${i},"s":"'); DROP TABLE pushes; --"}`,
      }));
      await store.addPushes(rows);
      await store.addPushes([]);
      const back = await store.listPushes({ platform: 'wechat_tp', infoType: 'component_verify_ticket', limit: 100 });
      const mine = back.filter((p) => p.at >= 10_000).sort((a, b) => a.at - b.at);
      expect(
        mine.map(({ at, platform, codeName, infoType, appId, verified, body }) => ({
          at,
          platform,
          codeName,
          infoType,
          appId,
          verified,
          body,
        })),
      ).to.deep.equal(rows);
    });
  });
});
