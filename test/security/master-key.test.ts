/**
 * Master-key rotation cannot lock out the right key (issue 9, item 3): rotation writes the key
 * check in the transaction that re-seals; a start with a wrong key writes nothing.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import { configFromEnv } from '../../system/config';
import { createLogger } from '../../system/log';
import { start } from '../../application';
import { cli } from '../helpers/cli';
import { forEachDialect, freshDatabase, type TestDatabase } from '../helpers/db';
import { startNode } from '../helpers/gatehouse';

const newKey = () => crypto.randomBytes(32).toString('base64');

forEachDialect('master key: rotation and wrong-key starts', (dialect) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await freshDatabase(dialect);
  });
  afterEach(async () => db?.drop());

  const boot = (env: Record<string, string>) =>
    start(
      configFromEnv({
        GATEHOUSE_DATABASE_URL: db.url,
        GATEHOUSE_PORT: '0',
        GATEHOUSE_HOST: '127.0.0.1',
        GATEHOUSE_LOG_LEVEL: 'silent',
        ...env,
      }),
      createLogger('silent'),
    );
  const failure = (env: Record<string, string>) =>
    boot(env).then(
      async (gh) => (await gh.close(), 'started'),
      (e: Error) => e.message,
    );
  const meta = async () =>
    (await db.query('SELECT k, v FROM meta ORDER BY k')).map((r) => `${String(r.k)}=${String(r.v)}`);
  const everything = async () => ({
    meta: await meta(),
    apps: (await db.query('SELECT code_name, config FROM apps ORDER BY code_name')).map(
      (r) => `${String(r.code_name)}=${String(r.config)}`,
    ),
  });

  /** a store written without a key: generated JWT secret and an app secret, both in clear */
  async function clearStore() {
    const node = await startNode({ dialect, db, env: { GATEHOUSE_JWT_SECRET: '' } });
    expect(
      (
        await node.rpc(
          'admin.app.put',
          { platform: 'toutiao_app', codeName: 'tt', config: { appId: 'tt-rot-1', secret: 'clear-secret-1' } },
          node.token(),
        )
      ).returnCode,
    ).to.equal(0);
    await node.close();
    expect((await meta()).some((m) => m.startsWith('master_key_check='))).to.equal(false);
  }

  it('clear store → secrets rotate --new-key K1 → a start with a wrong key → K1 still opens the store', async function () {
    this.timeout(60_000);
    await clearStore();
    const k1 = newKey();
    const r = cli(['secrets', 'rotate', '--new-key', k1], {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_LOG_LEVEL: 'warn',
    });
    expect(r.status, r.stderr).to.equal(0);
    // the check is written with the re-sealed values
    const check = (await meta()).find((m) => m.startsWith('master_key_check='));
    expect(check).to.match(/^master_key_check=enc:v1:/);
    const before = await everything();
    expect(await failure({ GATEHOUSE_MASTER_KEY: newKey() })).to.match(/^GATEHOUSE_MASTER_KEY: .*wrong key/);
    expect(await everything()).to.deep.equal(before);
    const gh = await boot({ GATEHOUSE_MASTER_KEY: k1 });
    try {
      expect((await gh.services.apps.get('toutiao_app', 'tt'))?.config.secret).to.equal('clear-secret-1');
    } finally {
      await gh.close();
    }
  });

  it('a store holding sealed values but no key check (rotated by an older version): a wrong key is refused and writes nothing; the right key gets the check', async function () {
    this.timeout(60_000);
    await clearStore();
    const k1 = newKey();
    expect(
      cli(['secrets', 'rotate', '--new-key', k1], { GATEHOUSE_DATABASE_URL: db.url, GATEHOUSE_LOG_LEVEL: 'warn' })
        .status,
    ).to.equal(0);
    // what an older rotation left behind: sealed values, no check
    await db.exec!("DELETE FROM meta WHERE k = 'master_key_check'");
    const before = await everything();
    expect(before.meta.find((m) => m.startsWith('jwt_secret='))).to.match(/^jwt_secret=enc:v1:/);
    for (let i = 0; i < 2; i++) {
      expect(await failure({ GATEHOUSE_MASTER_KEY: newKey() })).to.match(/^GATEHOUSE_MASTER_KEY: .*wrong key/);
      expect(await everything()).to.deep.equal(before);
    }
    // only app secrets sealed (the JWT secret configured): still refused, still nothing written
    await db.exec!("DELETE FROM meta WHERE k = 'jwt_secret'");
    const apps = await everything();
    expect(
      await failure({ GATEHOUSE_MASTER_KEY: newKey(), GATEHOUSE_JWT_SECRET: 'configured-jwt-secret-0123456789' }),
    ).to.match(/^GATEHOUSE_MASTER_KEY: .*wrong key/);
    expect(await everything()).to.deep.equal(apps);
    // no key at all: refused too (sealed values need their key), nothing written
    expect(await failure({ GATEHOUSE_JWT_SECRET: 'configured-jwt-secret-0123456789' })).to.match(
      /^GATEHOUSE_MASTER_KEY: /,
    );
    expect(await everything()).to.deep.equal(apps);
    const gh = await boot({ GATEHOUSE_MASTER_KEY: k1, GATEHOUSE_JWT_SECRET: 'configured-jwt-secret-0123456789' });
    await gh.close();
    expect((await meta()).find((m) => m.startsWith('master_key_check='))).to.match(/^master_key_check=enc:v1:/);
    expect(await failure({ GATEHOUSE_MASTER_KEY: newKey(), GATEHOUSE_JWT_SECRET: 'x' })).to.match(/wrong key/);
  });

  it('a store with no sealed value at all may get a fresh key check', async () => {
    await clearStore();
    const k = newKey();
    const gh = await boot({ GATEHOUSE_MASTER_KEY: k });
    await gh.close();
    expect((await meta()).find((m) => m.startsWith('master_key_check='))).to.match(/^master_key_check=enc:v1:/);
    expect(await failure({ GATEHOUSE_MASTER_KEY: newKey() })).to.match(/wrong key/);
  });
});
