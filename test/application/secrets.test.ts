import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { configFromEnv } from '../../system/config';
import { createLogger } from '../../system/log';
import { start } from '../../application';
import { FakePlatform } from '../fake/platform';
import { forEachDialect, freshDatabase, type TestDatabase } from '../helpers/db';
import { JWT_SECRET, startNode } from '../helpers/gatehouse';
import { registerSampleApps, SAMPLE_APPS, SECRET_FIELDS } from '../helpers/apps';
import { cli } from '../helpers/cli';

/** Everything the database holds, as text a backup would. */
function dump(db: TestDatabase): string {
  if (db.dialect === 'sqlite') {
    const dir = path.dirname(db.url.slice('sqlite:'.length));
    return fs
      .readdirSync(dir)
      .map((f) => fs.readFileSync(path.join(dir, f)).toString('latin1'))
      .join('\n');
  }
  const u = new URL(db.url);
  return execFileSync(
    'mariadb-dump',
    ['-h', u.hostname, '-P', u.port || '3306', '-u', 'root', '--skip-extended-insert', u.pathname.slice(1)],
    { encoding: 'utf8' },
  );
}

forEachDialect('secrets at rest', (dialect) => {
  const key = crypto.randomBytes(32).toString('base64');
  let fake: FakePlatform;
  before(async () => {
    fake = await new FakePlatform().start();
    registerSampleApps(fake);
    fake.app('tt1', 'written-in-clear');
    fake.app('wxrotate', 'sealed-secret-1');
  });
  after(async () => fake?.stop());

  it('with GATEHOUSE_MASTER_KEY a dump of the database holds no secret in clear', async () => {
    const db = await freshDatabase(dialect);
    try {
      const node = await startNode({ dialect, db, fake, env: { GATEHOUSE_MASTER_KEY: key, GATEHOUSE_JWT_SECRET: '' } });
      const tok = node.token();
      const secrets: string[] = [];
      for (const [platform, config] of Object.entries(SAMPLE_APPS)) {
        expect((await node.rpc('admin.app.put', { platform, codeName: platform, config }, tok)).returnCode).to.equal(0);
        for (const f of SECRET_FIELDS[platform]) secrets.push(String(config[f]));
      }
      const c = fake.code({ appid: String(SAMPLE_APPS.wechat_app.appId) });
      const login = await node.rpc('qcloud.cam.id_skey', { code: c.code });
      expect(login.returnCode).to.equal(0);
      secrets.push(c.sessionKey, login.returnData.skey);
      // the secrets still work: the session key decrypts a signature check
      const sig = crypto.createHash('sha1').update(`raw${c.sessionKey}`).digest('hex');
      const check = await node.rpc('qcloud.cam.check_signature', {
        id: login.returnData.id,
        skey: login.returnData.skey,
        raw_data: 'raw',
        signature: sig,
      });
      expect(check.returnData).to.deep.equal({ valid: true });
      const jwtSecret = String((await node.db.query("SELECT v FROM meta WHERE k = 'jwt_secret'"))[0].v);
      expect(jwtSecret).to.match(/^enc:v1:/);
      await node.gh.close();
      const text = dump(db);
      expect(text).to.include('wx1234567890abcdef'); // the dump is real: non-secret fields are there
      for (const s of secrets) expect(text, `secret ${s.slice(0, 3)}… in the dump`).to.not.include(s);
    } finally {
      await db.drop();
    }
  });

  it('refuses to start with a wrong key or no key once secrets are sealed', async () => {
    const db = await freshDatabase(dialect);
    const boot = (env: Record<string, string>) =>
      start(
        configFromEnv({
          GATEHOUSE_DATABASE_URL: db.url,
          GATEHOUSE_PORT: '0',
          GATEHOUSE_HOST: '127.0.0.1',
          GATEHOUSE_JWT_SECRET: JWT_SECRET,
          ...env,
        }),
        createLogger('silent'),
      );
    try {
      const gh = await boot({ GATEHOUSE_MASTER_KEY: key });
      await gh.close();
      const failure = (env: Record<string, string>) =>
        boot(env).then(
          () => 'started',
          (e: Error) => e.message,
        );
      expect(await failure({ GATEHOUSE_MASTER_KEY: crypto.randomBytes(32).toString('base64') })).to.match(
        /^GATEHOUSE_MASTER_KEY: .*wrong key/,
      );
      expect(await failure({})).to.match(/^GATEHOUSE_MASTER_KEY: /);
    } finally {
      await db.drop();
    }
  });

  it('gatehouse secrets rotate re-seals everything under the new key in one go', async function () {
    this.timeout(30_000);
    const db = await freshDatabase(dialect);
    const next = crypto.randomBytes(32).toString('base64');
    try {
      // secrets written before any key (clear) and under the first key (sealed)
      let node = await startNode({ dialect, db, fake, env: { GATEHOUSE_JWT_SECRET: '' } });
      await node.rpc(
        'admin.app.put',
        { platform: 'toutiao_app', codeName: 'clear', config: { appId: 'tt1', secret: 'written-in-clear' } },
        node.token(),
      );
      await node.gh.close();
      node = await startNode({ dialect, db, fake, env: { GATEHOUSE_MASTER_KEY: key, GATEHOUSE_JWT_SECRET: '' } });
      await node.rpc(
        'admin.app.put',
        { platform: 'wechat_app', codeName: 'mp', config: { appId: 'wxrotate', secret: 'sealed-secret-1' } },
        node.token(),
      );
      const c = fake.code({ appid: 'wxrotate' });
      const { id, skey } = (await node.rpc('qcloud.cam.id_skey', { code: c.code })).returnData;
      await node.gh.close();
      const r = cli(['secrets', 'rotate', '--new-key', next], {
        GATEHOUSE_DATABASE_URL: db.url,
        GATEHOUSE_MASTER_KEY: key,
      });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^re-sealed \d+ value\(s\)/);
      const text = dump(db);
      for (const secret of ['written-in-clear', 'sealed-secret-1', c.sessionKey]) expect(text).to.not.include(secret);
      // the old key no longer opens the store; the new one opens every secret
      const old = cli(['app', 'list'], { GATEHOUSE_DATABASE_URL: db.url, GATEHOUSE_MASTER_KEY: key });
      expect(old.status).to.equal(1);
      expect(old.stderr).to.match(/^GATEHOUSE_MASTER_KEY: /);
      node = await startNode({ dialect, db, fake, env: { GATEHOUSE_MASTER_KEY: next, GATEHOUSE_JWT_SECRET: '' } });
      const sig = crypto.createHash('sha1').update(`x${c.sessionKey}`).digest('hex');
      expect(
        (await node.rpc('qcloud.cam.check_signature', { id, skey, raw_data: 'x', signature: sig })).returnData,
      ).to.deep.equal({ valid: true });
      expect(
        (await node.rpc('admin.app.get', { platform: 'toutiao_app', codeName: 'clear' }, node.token())).returnData
          .secret,
      ).to.equal('****lear');
      await node.gh.close();
    } finally {
      await db.drop();
    }
  });
});
