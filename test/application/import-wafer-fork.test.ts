import { expect } from 'chai';
import crypto from 'node:crypto';
import { cli } from '../helpers/cli';
import { freshDatabase, requireMariadb, type TestDatabase } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { loadDdl } from '../helpers/sources';

/**
 * `gatehouse import wafer-fork`: the fork's database (cAuth) built from its db.sql
 * (test/fixtures/sources/wafer-fork.sql) in MariaDB with the rows the fork writes (md5 uuid and skey,
 * base64 user_info), imported; then a user logged in to the fork stays logged in: qcloud.cam.auth
 * answers the imported id / skey with the user's info, as the Wafer SDK calls it.
 */

const MASTER = crypto.randomBytes(32).toString('base64');
const APP = 'wxforkapp00000001';
const APP2 = 'wxforkapp00000002';
const DAY = 86_400_000;
const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');
const at = (ms: number) => new Date(ms);

describe('gatehouse import wafer-fork', function () {
  this.timeout(120_000);
  let src: TestDatabase;
  let gh: TestDatabase;
  let node: TestNode | undefined;
  const user = { nickName: '小明', gender: 1, openId: 'o_fork_user_1', watermark: { appid: APP } };
  const live = {
    uuid: md5('uuid-1'),
    skey: md5('skey-1'),
    openid: 'o_fork_user_1',
    sessionKey: crypto.randomBytes(16).toString('base64'),
  };
  const env = () => ({ GATEHOUSE_DATABASE_URL: gh.url, GATEHOUSE_MASTER_KEY: MASTER });
  const run = (...more: string[]) => cli(['import', 'wafer-fork', '--from', src.url, ...more], env());

  before(async function () {
    await requireMariadb(this);
    src = await freshDatabase('mariadb');
    gh = await freshDatabase('sqlite');
    await loadDdl(src, 'wafer-fork.sql');
    const now = Date.now();
    await src.exec('INSERT INTO cAppinfo (appid, secret, login_duration, session_duration) VALUES (?, ?, ?, ?)', [
      APP,
      'fork-app-secret-1',
      30,
      2592000,
    ]);
    await src.exec('INSERT INTO cAppinfo (appid, secret, login_duration, session_duration) VALUES (?, ?, ?, ?)', [
      APP2,
      'fork-app-secret-2',
      7,
      3600,
    ]);
    await src.exec('INSERT INTO cAppinfo_work (corpid, agentid, agentsecret, remark) VALUES (?, ?, ?, ?)', [
      'wwforkcorp0000001',
      '1000005',
      'fork-agent-secret-1',
      'hr',
    ]);
    const session = (
      uuid: string,
      skey: string,
      created: number,
      visited: number,
      openid: string,
      appid: string,
      info = '',
      union = '',
    ) =>
      src.exec(
        'INSERT INTO cSessionInfo (uuid, skey, create_time, last_visit_time, open_id, session_key, user_info, union_id, appid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [uuid, skey, at(created), at(visited), openid, live.sessionKey, info, union, appid],
      );
    const info = Buffer.from(JSON.stringify(user)).toString('base64');
    await session(live.uuid, live.skey, now - DAY, now - 3_600_000, live.openid, APP, info, 'union-fork-1');
    // an older session row of the same user (the fork updated in place; the newest is taken)
    await session(md5('uuid-old'), md5('skey-old'), now - 3 * DAY, now - 2 * DAY, live.openid, APP);
    // past login_duration (30 days)
    await session(md5('uuid-2'), md5('skey-2'), now - 40 * DAY, now - DAY, 'o_fork_user_2', APP);
    // past APP2's session_duration (1 hour idle)
    await session(md5('uuid-3'), md5('skey-3'), now - DAY, now - 2 * 3_600_000, 'o_fork_user_3', APP2);
    // an app the fork no longer has
    await session(md5('uuid-4'), md5('skey-4'), now - DAY, now - 60_000, 'o_fork_user_4', 'wxgone00000000001');
  });
  after(async () => {
    await node?.close();
    await src?.drop();
    await gh?.drop();
  });

  it('dry run, --apply (one transaction per platform), a second run changes nothing', async () => {
    const dry = run();
    expect(dry.status, dry.stderr).to.equal(0);
    const norm = dry.stdout.replace(/ +/g, ' ');
    expect(norm).to.include(`create wechat_app app ${APP}`);
    expect(norm).to.include('create wecom_corp app wwforkcorp0000001:1000005');
    expect(norm).to.include(`create wechat_app session ${live.uuid} (${APP} ${live.openid})`);
    expect(norm).to.include(`skip wechat_app session ${md5('uuid-2')} (expired)`);
    expect(norm).to.include(`skip wechat_app session ${md5('uuid-3')} (expired)`);
    expect(norm).to.include(`skip wechat_app session ${md5('uuid-4')} (app wxgone00000000001 is not imported)`);
    expect(norm).to.not.include(md5('uuid-old'));
    const secrets = [live.skey, live.sessionKey, 'fork-app-secret-1', 'fork-app-secret-2', 'fork-agent-secret-1'];
    for (const secret of secrets) expect(dry.stdout + dry.stderr, secret).to.not.include(secret);
    expect(dry.stdout).to.include('dry run, nothing written');
    expect(await gh.query('SELECT * FROM sessions')).to.deep.equal([]);

    const r = run('--apply');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/applied in 2 transaction\(s\): 4 create, 0 update, 0 unchanged, 0 conflict, 3 skip/);
    for (const secret of secrets) expect(r.stdout + r.stderr, secret).to.not.include(secret);
    const [s] = await gh.query(
      'SELECT id, appid, openid, unionid, skey_hash, session_key, created_at, last_visit FROM sessions',
    );
    expect(s).to.include({ id: live.uuid, appid: APP, openid: live.openid, unionid: 'union-fork-1' });
    expect(s.skey_hash).to.equal(crypto.createHash('sha256').update(live.skey).digest('hex'));
    expect(String(s.session_key)).to.not.include(live.sessionKey);
    const again = run('--apply');
    expect(again.stdout).to.match(/applied in 0 transaction\(s\): 0 create, 0 update, 4 unchanged, 0 conflict, 3 skip/);
    const apps = await gh.query("SELECT code_name, config FROM apps WHERE platform = 'wechat_app' ORDER BY code_name");
    expect(apps.map((a) => a.code_name)).to.deep.equal([APP, APP2]);
    expect(JSON.parse(String(apps[1].config))).to.include({ loginDurationDays: 7, sessionDurationSeconds: 3600 });
  });

  it('the imported session authenticates: qcloud.cam.auth with the fork\u2019s id and skey', async () => {
    node = await startNode({ dialect: 'sqlite', db: gh, env: { GATEHOUSE_MASTER_KEY: MASTER } });
    const ok = await node.rpc('qcloud.cam.auth', { id: live.uuid, skey: live.skey, appid: APP });
    expect(ok.returnCode, JSON.stringify(ok)).to.equal(0);
    expect(ok.returnData.user_info).to.deep.equal(user);
    expect(ok.returnData).to.include({ appid: APP, openid: live.openid });
    const wrong = await node.rpc('qcloud.cam.auth', { id: live.uuid, skey: md5('nope'), appid: APP });
    expect(wrong.returnCode).to.equal(60012);
    // a user who logged in to gatehouse since keeps gatehouse's session: the fork's is a conflict, the rest is written
    const store = node.gh.services.store;
    const mine = await store.saveLogin({
      newId: 'gatehouse-session-5',
      appid: APP,
      openid: 'o_fork_user_5',
      unionid: null,
      skeyHash: 'f'.repeat(64),
      sessionKey: 'k',
      userInfo: null,
      now: Date.now(),
    });
    expect(mine).to.equal('gatehouse-session-5');
    const now = Date.now();
    for (const [uuid, openid] of [
      [md5('uuid-5'), 'o_fork_user_5'],
      [md5('uuid-6'), 'o_fork_user_6'],
    ])
      await src.exec(
        'INSERT INTO cSessionInfo (uuid, skey, create_time, last_visit_time, open_id, session_key, user_info, union_id, appid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [uuid, md5(`skey-${openid}`), at(now - DAY), at(now - 60_000), openid, live.sessionKey, '', '', APP],
      );
    const redo = run('--apply');
    expect(redo.status, redo.stderr).to.equal(0);
    expect(redo.stdout.replace(/ +/g, ' ')).to.include(
      `conflict wechat_app session ${md5('uuid-5')} (the user has a gatehouse session (gatehouse-session-5) already: kept)`,
    );
    expect(redo.stdout).to.match(/1 create, 0 update, 4 unchanged, 1 conflict/);
    const kept = await store.getSession('gatehouse-session-5');
    expect(kept!.skeyHash).to.equal('f'.repeat(64));
    expect(await store.getSession(md5('uuid-6'))).to.not.equal(null);
  });
});
