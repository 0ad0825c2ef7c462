import { expect } from 'chai';
import crypto from 'node:crypto';
import { startFakes, type Fakes } from '../helpers/fakes';
import { cli } from '../helpers/cli';
import { freshDatabase, requireMariadb, type TestDatabase } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { loadDdl } from '../helpers/sources';

/**
 * `gatehouse import wxcomponent`: wxcloudrun-wxcomponent's tables (test/fixtures/sources/wxcomponent.sql)
 * in MariaDB with what it writes — its secret encrypted as dao.SetCommKvEncrypt does (AES-CBC with
 * the AesKey, by default the MD5 of the MySQL password, IV its first 16 bytes, base64), the ticket,
 * the authorizers with their refresh tokens, its forwarding rules — imported; then both imported
 * authorizers' tokens are refreshed at the fake WeChat with their imported refresh tokens.
 */

const MASTER = crypto.randomBytes(32).toString('base64');
const COMPONENT = 'wxcomponentwxc001';
const SECRET = 'wxcomponent-secret-01';
const AUTH1 = 'wxauthorizerwxc01';
const AUTH2 = 'wxauthorizerwxc02';

/** wxcomponent's encrypt.AesEncrypt + base64, written independently of the importer */
function wxcEncrypt(value: string, key: string): string {
  const k = Buffer.from(key, 'utf8');
  const c = crypto.createCipheriv(`aes-${k.length * 8}-cbc`, k, k.subarray(0, 16));
  return Buffer.concat([c.update(value, 'utf8'), c.final()]).toString('base64');
}

describe('gatehouse import wxcomponent', function () {
  this.timeout(120_000);
  let src: TestDatabase;
  let gh: TestDatabase;
  let f: Fakes;
  let node: TestNode | undefined;
  let rt1: string;
  let rt2: string;
  const env = () => ({ GATEHOUSE_DATABASE_URL: gh.url, GATEHOUSE_MASTER_KEY: MASTER });
  const run = (...more: string[]) => cli(['import', 'wxcomponent', '--from', src.url, ...more], env());

  before(async function () {
    await requireMariadb(this);
    f = await startFakes();
    f.fake.app(COMPONENT, SECRET);
    for (const a of [AUTH1, AUTH2]) f.wx.preexisting(COMPONENT, a);
    rt1 = f.wx.authorizations.get(`${COMPONENT}:${AUTH1}`)!.refreshToken;
    rt2 = f.wx.authorizations.get(`${COMPONENT}:${AUTH2}`)!.refreshToken;
    src = await freshDatabase('mariadb');
    gh = await freshDatabase('sqlite');
    await loadDdl(src, 'wxcomponent.sql');
    // the test MariaDB's root has no password: wxcomponent's default AesKey is MD5("")
    const key = crypto.createHash('md5').update('').digest('hex');
    const kv = (k: string, v: string) => src.exec('INSERT INTO comm (`key`, value) VALUES (?, ?)', [k, v]);
    await kv('secret', wxcEncrypt(SECRET, key));
    await kv('ticket', 'ticket@@@wxcomponent');
    await kv('authinfo', JSON.stringify({ name: 'n', desc: 'd', redirectUrl: 'https://admin.example.com/wxc' }));
    await src.exec('INSERT INTO wxtoken (type, appid, token) VALUES (2, ?, ?)', [COMPONENT, 'old-component-token']);
    const funcinfo = JSON.stringify([{ funcscope_category: { id: 1 } }]);
    await src.exec('INSERT INTO authorizers (appid, apptype, refreshtoken, funcinfo) VALUES (?, 1, ?, ?)', [
      AUTH1,
      rt1,
      funcinfo,
    ]);
    // one stored encrypted, as a customised wxcomponent may
    await src.exec('INSERT INTO authorizers (appid, apptype, refreshtoken, funcinfo) VALUES (?, 1, ?, ?)', [
      AUTH2,
      wxcEncrypt(rt2, key),
      '',
    ]);
    const rule = (name: string, infotype: string, msgtype: string, type: number, open: number, info: unknown) =>
      src.exec(
        'INSERT INTO wxcallback_rules (name, infotype, msgtype, event, type, open, info) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [name, infotype, msgtype, '', type, open, JSON.stringify(info)],
      );
    await rule('auth events', 'authorized', '', 1, 1, { port: 8081, path: '/auth' });
    await rule('texts', '', 'text', 1, 0, { port: 8082, path: '/msg/$APPID$' });
    await rule('unknown kind', 'unauthorized', '', 9, 1, {});
  });
  after(async () => {
    await node?.close();
    await src?.drop();
    await gh?.drop();
    await f?.fake.stop();
  });

  it('dry run, --apply, a second run changes nothing; the secret decrypted with the derived key, sealed', async () => {
    const dry = run();
    expect(dry.status, dry.stderr).to.equal(0);
    const norm = dry.stdout.replace(/ +/g, ' ');
    expect(norm).to.include(`create wechat_tp app wxcomponent (appId ${COMPONENT})`);
    expect(norm).to.include('create wechat_tp ticket wxcomponent');
    expect(norm).to.include(`create wechat_tp authorizer wxcomponent/${AUTH1}`);
    expect(norm).to.include(`create wechat_tp authorizer wxcomponent/${AUTH2}`);
    expect(norm).to.include('create wechat_tp rule wxcomponent-1 (auth events → 127.0.0.1:8081)');
    expect(norm).to.include(`create wechat_tp rule wxcomponent-2-${AUTH1} (texts → 127.0.0.1:8082)`);
    expect(norm).to.include('skip wechat_tp rule wxcomponent-3 (not an HTTP forward to a port and path)');
    for (const secret of [SECRET, rt1, rt2]) expect(dry.stdout + dry.stderr).to.not.include(secret);

    const r = run('--apply');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/applied in 1 transaction\(s\): 7 create, 0 update, 0 unchanged, 0 conflict, 1 skip/);
    const [app] = await gh.query("SELECT code_name, app_id, config FROM apps WHERE platform = 'wechat_tp'");
    expect(app).to.include({ code_name: 'wxcomponent', app_id: COMPONENT });
    expect(String(app.config)).to.not.include(SECRET);
    expect(JSON.parse(String(app.config))).to.include({ redirectUrl: 'https://admin.example.com/wxc' });
    const rules = await gh.query('SELECT id, enabled, info_type, msg_type, app_id, url FROM push_rules ORDER BY id');
    expect(rules).to.deep.equal([
      {
        id: 'wxcomponent-1',
        enabled: 1,
        info_type: 'authorized',
        msg_type: null,
        app_id: null,
        url: 'http://127.0.0.1:8081/auth',
      },
      {
        id: `wxcomponent-2-${AUTH1}`,
        enabled: 0,
        info_type: null,
        msg_type: 'text',
        app_id: AUTH1,
        url: `http://127.0.0.1:8082/msg/${AUTH1}`,
      },
      {
        id: `wxcomponent-2-${AUTH2}`,
        enabled: 0,
        info_type: null,
        msg_type: 'text',
        app_id: AUTH2,
        url: `http://127.0.0.1:8082/msg/${AUTH2}`,
      },
    ]);
    const again = run('--apply');
    expect(again.stdout).to.match(/applied in 0 transaction\(s\): 0 create, 0 update, 7 unchanged, 0 conflict, 1 skip/);
  });

  it('a wrong --aes-key is refused before anything is planned', () => {
    const r = run('--aes-key', '0123456789abcdef0123456789abcdef');
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/the secret does not decrypt: give wxcomponent's AesKey with --aes-key/);
  });

  it('the imported authorizers work: their tokens refresh with the imported refresh tokens', async () => {
    f.wx.acceptTicket(COMPONENT, 'ticket@@@wxcomponent');
    f.fake.reset();
    node = await startNode({ dialect: 'sqlite', db: gh, fake: f.fake, env: { GATEHOUSE_MASTER_KEY: MASTER } });
    const tok = node.token('wechat.*');
    for (const a of [AUTH1, AUTH2]) {
      const t = await node.rpc('wechat.tpauth.token', { codeName: 'wxcomponent', authorizerAppId: a }, tok);
      expect(t.returnCode, JSON.stringify(t)).to.equal(0);
      expect(f.fake.isLive(t.returnData.token)).to.equal(true);
    }
    expect(f.fake.count('api_authorizer_token')).to.equal(2);
  });
});
