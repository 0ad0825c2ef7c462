import { expect } from 'chai';
import crypto from 'node:crypto';
import { SecretBox } from '../../system/secretbox';
import { startFakes, type Fakes } from '../helpers/fakes';
import { cli } from '../helpers/cli';
import { loadDdl } from '../helpers/sources';
import { freshDatabase, requireMariadb, type TestDatabase } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';

/**
 * `gatehouse import varys`: a varys database built from varys's DDL (test/fixtures/sources/varys.sql,
 * reconstructed from the repository: see its header) in MariaDB with the rows varys writes, imported
 * into a gatehouse store, then used: the imported authorizer's token is refreshed with its imported
 * refresh token at the fake WeChat, the component token with the imported ticket, and a varys
 * driver's request gets varys's answer.
 */

const MASTER = crypto.randomBytes(32).toString('base64');
const COMPONENT = 'wxcomponentvarys1';
const AUTH1 = 'wxauthorizervary1';
const AUTH2 = 'wxauthorizervary2';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** a DATETIME / TIMESTAMP value (the driver writes it in the session's time zone and reads it back so) */
const at = (ms: number) => new Date(ms);

describe('gatehouse import varys', function () {
  this.timeout(120_000);
  let src: TestDatabase;
  let gh: TestDatabase;
  let f: Fakes;
  let node: TestNode | undefined;
  let refresh1: string;
  const env = () => ({ GATEHOUSE_DATABASE_URL: gh.url, GATEHOUSE_MASTER_KEY: MASTER });
  /** every secret, token, ticket and code the source holds: none may reach the report or stderr */
  const secrets = () => [
    refresh1,
    AES,
    'shop-secret-0001',
    'old-secret-00001',
    'x-secret-000001',
    'component-secret-varys',
    'ticket@@@varys',
    'varys-push-token',
    'varys-access-token-not-imported',
    'varys-authorizer-access',
    'refreshtoken@@@gone',
    'corp-secret-0001',
    'suite-secret-0001',
    'suite-ticket-varys',
    'suite-push-token',
    'permanent-code-varys-1',
    'tt-secret-000001',
    'fengniao-secret-1',
    'fn-refresh-token-555',
    'fn-refresh-token-556',
    'shansong-secret-1',
    'ss-refresh-token-m001',
  ];
  const run = (...more: string[]) =>
    cli(['import', 'varys', '--from', src.url, '--agent-id', 'corp=1000002', ...more], env());

  before(async function () {
    await requireMariadb(this);
    f = await startFakes();
    f.fake.app(COMPONENT, 'component-secret-varys');
    f.wx.preexisting(COMPONENT, AUTH1);
    refresh1 = f.wx.authorizations.get(`${COMPONENT}:${AUTH1}`)!.refreshToken;
    src = await freshDatabase('mariadb');
    gh = await freshDatabase('sqlite');
    await loadDdl(src, 'varys.sql');
    const now = Date.now();
    const q = (sql: string, p: unknown[]) => src.exec(sql, p);
    await q('INSERT INTO wechat_app_config VALUES (?, ?, ?, ?)', ['shop', 'wxshopvarys000001', 'shop-secret-0001', 1]);
    await q('INSERT INTO wechat_app_config VALUES (?, ?, ?, ?)', ['old', 'wxoldvarys0000001', 'old-secret-00001', 0]);
    await q('INSERT INTO wechat_app_config VALUES (?, ?, ?, ?)', [
      'bad name!',
      'wxbadvarys0000001',
      'x-secret-000001',
      1,
    ]);
    await q(
      'INSERT INTO wechat_app_token (code_name, app_id, access_token, updated, expire_time) VALUES (?, ?, ?, 1, ?)',
      ['shop', 'wxshopvarys000001', 'varys-access-token-not-imported', at(now + 3_600_000)],
    );
    await q('INSERT INTO wechat_app_third_platform_config VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      'tp',
      COMPONENT,
      'component-secret-varys',
      'varys-push-token',
      AES,
      'http://127.0.0.1:9/auth',
      null,
      'https://admin.example.com/done',
      1,
    ]);
    await q('INSERT INTO wechat_app_third_platform_ticket VALUES (?, ?, ?, ?)', [
      'tp',
      COMPONENT,
      'ticket@@@varys',
      at(now - 60_000),
    ]);
    for (const [id, state] of [
      [AUTH1, 1],
      [AUTH2, 0],
    ] as const) {
      await q(
        'INSERT INTO wechat_app_third_platform_authorizer (code_name, app_id, authorizer_app_id, authorization_state) VALUES (?, ?, ?, ?)',
        ['tp', COMPONENT, id, state],
      );
    }
    await q(
      'INSERT INTO wechat_app_third_platform_authorizer_token (code_name, app_id, authorizer_app_id, authorizer_access_token, authorizer_refresh_token, updated, expire_time) VALUES (?, ?, ?, ?, ?, 1, ?)',
      ['tp', COMPONENT, AUTH1, 'varys-authorizer-access', refresh1, at(now + 600_000)],
    );
    await q(
      'INSERT INTO wechat_app_third_platform_authorizer_token (code_name, app_id, authorizer_app_id, authorizer_refresh_token) VALUES (?, ?, ?, ?)',
      ['tp', COMPONENT, AUTH2, 'refreshtoken@@@gone'],
    );
    await q('INSERT INTO wechat_corp_config VALUES (?, ?, ?, ?)', ['corp', 'wwcorpvarys000001', 'corp-secret-0001', 1]);
    await q('INSERT INTO wechat_corp_third_platform_config VALUES (?, ?, ?, ?, ?, ?, ?)', [
      'suite',
      'wwsuitevarys00001',
      'suite-secret-0001',
      'suite-push-token',
      AES,
      null,
      1,
    ]);
    await q('INSERT INTO wechat_corp_third_platform_ticket VALUES (?, ?, ?, ?)', [
      'suite',
      'wwsuitevarys00001',
      'suite-ticket-varys',
      at(now - 120_000),
    ]);
    await q(
      'INSERT INTO wechat_corp_third_platform_authorizer (code_name, suite_id, corp_id, state, permanent_code) VALUES (?, ?, ?, ?, ?)',
      ['suite', 'wwsuitevarys00001', 'wwinstalledcorp01', 1, 'permanent-code-varys-1'],
    );
    await q('INSERT INTO toutiao_app_config VALUES (?, ?, ?, ?)', ['tt', 'ttvarys0000000001', 'tt-secret-000001', 1]);
    await q('INSERT INTO fengniao_app_config VALUES (?, ?, ?, ?, ?, ?)', [
      'fn',
      'dev001',
      '3000777',
      'fengniao-secret-1',
      'https://example.com/fn',
      1,
    ]);
    await q(
      'INSERT INTO fengniao_app_token (code_name, app_id, merchant_id, refresh_token, re_expire_time) VALUES (?, ?, ?, ?, ?)',
      ['fn', '3000777', '555', 'fn-refresh-token-555', at(now + 30 * 86_400_000)],
    );
    await q(
      'INSERT INTO fengniao_app_token (code_name, app_id, merchant_id, refresh_token, re_expire_time) VALUES (?, ?, ?, ?, ?)',
      ['fn', '3000777', '556', 'fn-refresh-token-556', at(now - 86_400_000)],
    );
    await q('INSERT INTO shansong_app_config VALUES (?, ?, ?, ?, ?, ?)', [
      'ss',
      'ssvarys00001',
      'shansong-secret-1',
      'https://example.com/ss',
      null,
      1,
    ]);
    await q('INSERT INTO shansong_app_token (code_name, app_id, merchant_code, refresh_token) VALUES (?, ?, ?, ?)', [
      'ss',
      'ssvarys00001',
      'M001',
      'ss-refresh-token-m001',
    ]);
  });
  after(async () => {
    await node?.close();
    await src?.drop();
    await gh?.drop();
    await f?.fake.stop();
  });

  it('a dry run prints what it would do and writes nothing', async () => {
    const r = run();
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    const line = (s: string) => lines.find((l) => l.replace(/\s+/g, ' ').startsWith(s));
    expect(line('create wechat_app app shop')).to.include('appId wxshopvarys000001');
    expect(line('create wechat_app app old')).to.include('disabled');
    expect(line('skip wechat_app app bad name!')).to.include('codeName must match');
    expect(line('create wechat_tp ticket tp')).to.not.equal(undefined);
    expect(line(`create wechat_tp authorizer tp/${AUTH1}`)).to.not.equal(undefined);
    expect(line(`skip wechat_tp authorizer tp/${AUTH2}`)).to.include('unauthorized in varys');
    expect(line('create wecom_corp app corp')).to.not.equal(undefined);
    expect(line('create wecom_tp corp suite/wwinstalledcorp01')).to.not.equal(undefined);
    expect(line('create fengniao_app merchant fn/555')).to.not.equal(undefined);
    expect(line('skip fengniao_app merchant fn/556')).to.include('expired');
    expect(line('create shansong_app merchant ss/M001')).to.not.equal(undefined);
    expect(r.stdout).to.match(
      /varys: dry run, nothing written \(--apply writes it\): 14 create, 0 update, 0 unchanged, 0 conflict, 3 skip/,
    );
    // never a secret
    for (const secret of secrets()) expect(r.stdout + r.stderr, secret).to.not.include(secret);
    expect(await gh.query('SELECT * FROM apps')).to.deep.equal([]);
    expect(await gh.query('SELECT * FROM authorizers')).to.deep.equal([]);
  });

  it('without --agent-id a WeCom app is skipped with what to give', () => {
    const r = cli(['import', 'varys', '--from', src.url], env());
    expect(r.stdout).to.match(
      /skip\s+wecom_corp\s+app\s+corp \(varys keeps no agent id: give --agent-id corp=<agentid>\)/,
    );
  });

  it('--apply writes each platform in one transaction, secrets sealed; a second run changes nothing', async () => {
    const r = run('--apply');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/varys: applied in 7 transaction\(s\): 14 create/);
    for (const secret of secrets()) expect(r.stdout + r.stderr, secret).to.not.include(secret);
    const apps = await gh.query(
      'SELECT platform, code_name, app_id, enabled, config FROM apps ORDER BY platform, code_name',
    );
    expect(apps.map((a) => `${a.platform} ${a.code_name} ${a.app_id} ${a.enabled}`)).to.deep.equal([
      'fengniao_app fn 3000777 1',
      'shansong_app ss ssvarys00001 1',
      'toutiao_app tt ttvarys0000000001 1',
      'wechat_app old wxoldvarys0000001 0',
      'wechat_app shop wxshopvarys000001 1',
      'wechat_tp tp wxcomponentvarys1 1',
      'wecom_corp corp wwcorpvarys000001 1',
      'wecom_tp suite wwsuitevarys00001 1',
    ]);
    for (const a of apps) expect(String(a.config)).to.not.include('secret-');
    const box = new SecretBox(Buffer.from(MASTER, 'base64'));
    const auths = await gh.query(
      'SELECT platform, owner_id, authorizer_id, refresh_token, authorized, info FROM authorizers ORDER BY platform',
    );
    expect(auths.map((a) => `${a.platform} ${a.owner_id} ${a.authorizer_id} ${a.authorized}`)).to.deep.equal([
      'fengniao_app 3000777 555 1',
      'shansong_app ssvarys00001 M001 1',
      `wechat_tp ${COMPONENT} ${AUTH1} 1`,
      'wecom_tp wwsuitevarys00001 wwinstalledcorp01 1',
    ]);
    expect(auths.map((a) => box.open(String(a.refresh_token)))).to.deep.equal([
      'fn-refresh-token-555',
      'ss-refresh-token-m001',
      refresh1,
      'permanent-code-varys-1',
    ]);
    expect(JSON.parse(String(auths[0].info)).reExpiresAt).to.be.greaterThan(Date.now());
    const tickets = await gh.query('SELECT platform, app_id, value FROM tickets ORDER BY platform');
    expect(tickets).to.deep.equal([
      { platform: 'wechat_tp', app_id: COMPONENT, value: 'ticket@@@varys' },
      { platform: 'wecom_tp', app_id: 'wwsuitevarys00001', value: 'suite-ticket-varys' },
    ]);
    // varys's access tokens are not imported
    expect(await gh.query('SELECT * FROM tokens')).to.deep.equal([]);
    const before = JSON.stringify([apps, auths, tickets]);
    const again = run('--apply');
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stdout).to.match(
      /applied in 0 transaction\(s\): 0 create, 0 update, 14 unchanged, 0 conflict, 3 skip/,
    );
    const after = JSON.stringify([
      await gh.query('SELECT platform, code_name, app_id, enabled, config FROM apps ORDER BY platform, code_name'),
      await gh.query(
        'SELECT platform, owner_id, authorizer_id, refresh_token, authorized, info FROM authorizers ORDER BY platform',
      ),
      await gh.query('SELECT platform, app_id, value FROM tickets ORDER BY platform'),
    ]);
    expect(after).to.equal(before);
  });

  it('the imported state works: the authorizer token refreshes with the imported refresh token, a varys driver gets varys\u2019s answer', async () => {
    f.wx.acceptTicket(COMPONENT, 'ticket@@@varys');
    f.fake.reset();
    node = await startNode({
      dialect: 'sqlite',
      db: gh,
      fake: f.fake,
      env: { GATEHOUSE_MASTER_KEY: MASTER, GATEHOUSE_VARYS_COMPAT: 'true' },
    });
    // varys-go-driver's wechatTpAuthTokenLoader: GET /query-wechat-tp-auth-token/{codeName}/{authorizerAppId}
    const res = await fetch(`${node.url}/query-wechat-tp-auth-token/tp/${AUTH1}`);
    const body = (await res.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).to.deep.equal(['appId', 'authorizerAppId', 'ticket', 'token']);
    expect(body).to.include({ appId: COMPONENT, authorizerAppId: AUTH1 });
    expect(f.fake.isLive(body.token)).to.equal(true);
    expect(f.fake.count('api_component_token')).to.equal(1);
    expect(f.fake.count('api_authorizer_token')).to.equal(1);
    const disabled = await node.rpc('wechat.app.token', { codeName: 'old' }, node.token('*'));
    expect(disabled.returnCode).to.equal(1012);
  });
});
