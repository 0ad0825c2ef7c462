import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openMigratedStore } from '../../application';
import { configFromEnv } from '../../system/config';
import { FakePlatform } from '../fake/platform';
import { cli } from '../helpers/cli';
import { forEachDialect, freshDatabase } from '../helpers/db';
import { JWT_SECRET, startNode, type TestNode } from '../helpers/gatehouse';

/** An app's identity belongs to exactly one codeName per platform (§6, trust). */

const SHOP = 'wxshop000000001';
const MINE = 'wxmine000000001';
const CORP = 'wwcorp000000001';

forEachDialect('security: one app identity, one codeName', (dialect) => {
  let fake: FakePlatform;
  let node: TestNode;
  let admin: string;

  const put = (platform: string, codeName: string, config: Record<string, unknown>, tok = admin) =>
    node.rpc('admin.app.put', { platform, codeName, config }, tok);
  const rows = async () =>
    (await node.db.query('SELECT platform, code_name, app_id, config FROM apps ORDER BY platform, code_name')).map(
      (r) => ({
        platform: r.platform,
        codeName: r.code_name,
        appId: r.app_id,
        config: String(r.config),
      }),
    );

  before(async () => {
    fake = await new FakePlatform().start();
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    node = await startNode({ dialect, fake });
    admin = node.token('admin.*');
    fake.app(SHOP, 'shop-secret');
    expect(
      (await put('wechat_app', 'shop', { appId: SHOP, secret: 'shop-secret', loginDurationDays: 30 })).returnCode,
    ).to.equal(0);
  });
  afterEach(async () => node?.close());

  it("the attack: a caller limited to 'mine' cannot put 'mine' with shop's appId, and shop stays untouched", async () => {
    const attacker = node.token('admin.app.put wechat.app.* qcloud.mimi.* proxy.wechat_app', ['mine']);
    const before = await rows();
    const r = await put('wechat_app', 'mine', { appId: SHOP, secret: 'wrong-secret', loginDurationDays: 1 }, attacker);
    expect(r).to.deep.equal({
      returnCode: 1003,
      returnMessage: 'PARA_ERROR',
      returnData: {
        errors: [{ path: '/config/appId', message: `appId ${SHOP} is already configured as codeName "shop"` }],
      },
      version: 1,
      componentName: 'MA',
    });
    expect(await rows()).to.deep.equal(before);
    // nothing of shop's reachable under 'mine'
    expect((await node.rpc('wechat.app.token', { codeName: 'mine' }, attacker)).returnCode).to.equal(1012);
    expect((await node.rpc('qcloud.mimi.access_token', { appid: SHOP }, attacker)).returnCode).to.equal(4003);
    const proxied = await fetch(`${node.url}/proxy/wechat-app/mine/cgi-bin/get_api_domain_ip`, {
      headers: { authorization: `Bearer ${attacker}` },
    });
    expect(proxied.status).to.equal(404);
    expect(fake.count('stable_token')).to.equal(0);
    // shop's logins still go upstream with shop's own secret
    const { code } = fake.code({ appid: SHOP });
    const login = await node.rpc('qcloud.cam.id_skey', { code, appid: SHOP });
    expect(login.returnCode).to.equal(0);
    expect(login.returnData.appid).to.equal(SHOP);
  });

  it('a codeName may keep, change or give up its own identity; afterwards the old one is free', async () => {
    expect((await put('wechat_app', 'shop', { appId: SHOP, secret: 'shop-secret-2' })).returnData).to.deep.equal({
      platform: 'wechat_app',
      codeName: 'shop',
      created: false,
    });
    expect((await put('wechat_app', 'shop', { appId: MINE, secret: 'shop-secret-2' })).returnCode).to.equal(0);
    expect((await put('wechat_app', 'mine', { appId: SHOP, secret: 'mine-secret' })).returnCode).to.equal(0);
    expect((await put('wechat_app', 'other', { appId: MINE, secret: 'x' })).returnData.errors[0].message).to.equal(
      `appId ${MINE} is already configured as codeName "shop"`,
    );
    // deleting the owner frees the identity
    expect(
      (await node.rpc('admin.app.delete', { platform: 'wechat_app', codeName: 'shop' }, admin)).returnData,
    ).to.deep.equal({ deleted: true });
    expect((await put('wechat_app', 'other', { appId: MINE, secret: 'x' })).returnCode).to.equal(0);
  });

  it('identities are per platform; a disabled owner still owns its identity', async () => {
    expect((await put('toutiao_app', 'shop-tt', { appId: SHOP, secret: 's' })).returnCode).to.equal(0);
    expect(
      (await put('wechat_app', 'shop', { appId: SHOP, secret: 'shop-secret', enabled: false })).returnCode,
    ).to.equal(0);
    expect((await put('wechat_app', 'mine', { appId: SHOP, secret: 's' })).returnCode).to.equal(1003);
  });

  it('WeCom: corpId + agentId is one identity (other agents of the corp are other apps), over RPC and qcloud.work.initagent', async () => {
    expect((await put('wecom_corp', 'hr', { corpId: CORP, agentId: 1000002, secret: 'hr' })).returnCode).to.equal(0);
    expect(
      (await put('wecom_corp', 'finance', { corpId: CORP, agentId: '1000003', secret: 'fi' })).returnCode,
    ).to.equal(0);
    const dup = await put('wecom_corp', 'hr-copy', { corpId: CORP, agentId: '1000002', secret: 'bad' });
    expect(dup.returnData).to.deep.equal({
      errors: [
        { path: '/config/corpId', message: `corpId:agentId ${CORP}:1000002 is already configured as codeName "hr"` },
      ],
    });
    const init = await node.rpc('qcloud.work.initagent', { corpid: CORP, agentid: 1000002, agentsecret: 'bad' }, admin);
    expect(init.returnCode).to.equal(1003);
    expect(init.returnData.errors[0].message).to.match(/codeName "hr"/);
    expect((await rows()).filter((r) => r.platform === 'wecom_corp').map((r) => r.codeName)).to.deep.equal([
      'finance',
      'hr',
    ]);
    const proxied = await fetch(`${node.url}/proxy/wecom-corp/hr-copy/cgi-bin/user/list`, {
      headers: { authorization: `Bearer ${node.token('proxy.wecom_corp', ['hr-copy'])}` },
    });
    expect(proxied.status).to.equal(404);
  });

  it('COS: appId + secretId is one identity; wecom_tp: suiteId; wechat_tp, toutiao, fengniao, shansong: appId', async () => {
    const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, string]> = [
      [
        'cos',
        { appId: '1250000000', secretId: 'AKIDone', secretKey: 'k1' },
        { appId: '1250000000', secretId: 'AKIDtwo', secretKey: 'k2' },
        'appId:secretId 1250000000:AKIDone',
      ],
      [
        'wecom_tp',
        { suiteId: 'wwsuite1', secret: 's', token: 't', aesKey: AES },
        { suiteId: 'wwsuite2', secret: 's', token: 't', aesKey: AES },
        'suiteId wwsuite1',
      ],
      [
        'wechat_tp',
        { appId: 'wxtp1', secret: 's', token: 't', aesKey: AES },
        { appId: 'wxtp2', secret: 's', token: 't', aesKey: AES },
        'appId wxtp1',
      ],
      ['toutiao_app', { appId: 'tt1', secret: 's' }, { appId: 'tt2', secret: 's' }, 'appId tt1'],
      [
        'fengniao_app',
        { appId: 'fn1', devId: 'd', secret: 's' },
        { appId: 'fn2', devId: 'd', secret: 's' },
        'appId fn1',
      ],
      ['shansong_app', { appId: 'ss1', secret: 's' }, { appId: 'ss2', secret: 's' }, 'appId ss1'],
    ];
    for (const [platform, first, other, label] of cases) {
      expect((await put(platform, 'a', first)).returnCode, platform).to.equal(0);
      expect((await put(platform, 'b', other)).returnCode, platform).to.equal(0);
      const r = await put(platform, 'c', first);
      expect(r.returnCode, platform).to.equal(1003);
      expect(r.returnData.errors[0].message, platform).to.equal(`${label} is already configured as codeName "a"`);
    }
  });

  it('apps file and CLI: refused with one line naming the owner, and nothing of the file is written', async function () {
    this.timeout(60_000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-ident-'));
    const env = { GATEHOUSE_DATABASE_URL: node.db.url, GATEHOUSE_JWT_SECRET: JWT_SECRET };
    const before = await rows();
    const againstStore = path.join(dir, 'store.json');
    fs.writeFileSync(
      againstStore,
      JSON.stringify([
        { platform: 'toutiao_app', codeName: 'fine', appId: 'tt9', secret: 's' },
        { platform: 'wechat_app', codeName: 'mine', appId: SHOP, secret: 's' },
      ]),
    );
    let r = cli(['app', 'put', '--file', againstStore], env);
    expect(r.status).to.equal(1);
    expect(r.stderr.trim()).to.equal(
      `${againstStore}[1].appId: appId ${SHOP} is already configured as codeName "shop"`,
    );
    const inFile = path.join(dir, 'file.json');
    fs.writeFileSync(
      inFile,
      JSON.stringify([
        { platform: 'wechat_app', codeName: 'one', appId: MINE, secret: 's' },
        { platform: 'wechat_app', codeName: 'two', appId: MINE, secret: 's' },
      ]),
    );
    r = cli(['app', 'put', '--file', inFile], env);
    expect(r.status).to.equal(1);
    expect(r.stderr.trim()).to.equal(
      `${inFile}[1].appId: appId ${MINE} is also given to codeName "one" in this file (one identity, one codeName)`,
    );
    r = cli(['app', 'put', '--platform', 'wechat_app', '--code-name', 'mine', '--app-id', SHOP, '--secret', 's'], env);
    expect(r.status).to.equal(1);
    expect(r.stderr.trim()).to.equal(
      `app put --code-name mine: appId ${SHOP} is already configured as codeName "shop"`,
    );
    expect(await rows()).to.deep.equal(before);
  });
});

forEachDialect('security: a store with one identity under two codeNames is not migrated', (dialect) => {
  it('migration 006 refuses, names both codeNames, and changes nothing', async () => {
    const db = await freshDatabase(dialect);
    try {
      const config = configFromEnv({ GATEHOUSE_DATABASE_URL: db.url });
      // a store as the versions before identities left it: two codeNames on one appId
      const store = await openMigratedStore(config);
      await store.close();
      await db.exec('DROP INDEX apps_identity' + (dialect === 'mariadb' ? ' ON apps' : ''));
      await db.exec('ALTER TABLE apps DROP COLUMN identity');
      await db.exec("UPDATE meta SET v = '5' WHERE k = 'schema_version'");
      for (const code of ['shop', 'mine']) {
        await db.exec(
          'INSERT INTO apps (platform, code_name, app_id, enabled, is_default, config, created_at, updated_at) VALUES (?, ?, ?, 1, 0, ?, 1, 1)',
          ['wechat_app', code, SHOP, JSON.stringify({ appId: SHOP, secret: code })],
        );
      }
      for (const [code, agent] of [
        ['hr', '1000002'],
        ['hr-copy', 1000002],
        ['fi', '1000003'],
      ]) {
        await db.exec(
          'INSERT INTO apps (platform, code_name, app_id, enabled, is_default, config, created_at, updated_at) VALUES (?, ?, ?, 1, 0, ?, 1, 1)',
          ['wecom_corp', code, CORP, JSON.stringify({ corpId: CORP, agentId: agent, secret: 's' })],
        );
      }
      const err = await openMigratedStore(config).catch((e: unknown) => e as Error);
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).message).to.include(
        'migration 006_app_identity: one app identity is configured under several codeNames',
      );
      expect((err as Error).message).to.include(`wechat_app ${SHOP} → mine,shop`);
      expect((err as Error).message).to.include(`wecom_corp ${CORP}:1000002 → hr,hr-copy`);
      expect((err as Error).message).to.not.include('1000003');
      expect((await db.query("SELECT v FROM meta WHERE k = 'schema_version'"))[0].v).to.equal('5');
      expect((await db.query('SELECT * FROM apps'))[0]).to.not.have.property('identity');
      // once the operator keeps one codeName each, it migrates
      await db.exec("DELETE FROM apps WHERE code_name IN ('mine', 'hr-copy')");
      const ok = await openMigratedStore(config);
      expect(await ok.schemaVersion()).to.be.at.least(6);
      expect((await ok.appByIdentity('wecom_corp', `${CORP}:1000002`))?.codeName).to.equal('hr');
      await ok.close();
    } finally {
      await db.drop();
    }
  });
});
