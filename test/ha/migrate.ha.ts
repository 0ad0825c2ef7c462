import { expect } from 'chai';
import { openStore } from '../../db';
import { LOCK_ROW, type MariaDbStore } from '../../db/mariadb';
import { tokenKey } from '../../db/store';
import { GaleraCluster, galeraMissing } from '../helpers/galera';
import { skipBecause } from '../helpers/skip';
import { until } from '../helpers/wait';

/**
 * Migrations and conflicting writes through different Galera members (issue 19 item 2): the
 * migration lock is a row (GET_LOCK is local to a member), and a single statement that loses a
 * certification conflict (1213) is run again.
 */
describe('store on a Galera cluster: migration lock row, certification conflicts', function () {
  this.timeout(240_000);
  let cluster: GaleraCluster;
  const stores: MariaDbStore[] = [];
  /** a store whose URL names member `first` first */
  const storeVia = (db: string, first: number) => {
    const s = openStore(cluster.url(db, first)) as MariaDbStore;
    stores.push(s);
    return s;
  };
  /** rows of a query as every member has them (each read waits for the member to apply what came before) */
  const onEvery = async (db: string, sql: string, params: unknown[] = []) =>
    Promise.all(
      cluster.nodes.map(async (n) => {
        const c = await cluster.connect(n.index, db);
        try {
          await c.query('SET SESSION wsrep_sync_wait = 1');
          return Array.from((await c.query(sql, params)) as Record<string, unknown>[]);
        } finally {
          await c.end();
        }
      }),
    );

  before(async function () {
    const missing = galeraMissing();
    if (missing) skipBecause(this, missing, { fixable: 'mariadb-server galera-4 rsync' });
    cluster = await GaleraCluster.start();
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
    await cluster?.destroy();
  });

  it('a migration waits while the lock row is held (on another member), and runs once it is deleted', async () => {
    const db = await cluster.createDatabase('gh_ha_lock');
    await cluster.query(
      0,
      'CREATE TABLE meta (k VARCHAR(64) NOT NULL PRIMARY KEY, v TEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
      [],
      db,
    );
    await cluster.query(
      0,
      'INSERT INTO meta (k, v) VALUES (?, ?)',
      [LOCK_ROW, `elsewhere ${Date.now() + 600_000}`],
      db,
    );
    const store = storeVia(db, 2);
    expect(await store.onGalera()).to.equal(true);
    const tried = async () => Number(await cluster.status(2, 'Com_insert'));
    const before = await tried();
    let done = false;
    const migrating = store.migrate().finally(() => (done = true));
    // it keeps trying to insert the lock row on its member (2), and gets nowhere
    await until(async () => (await tried()) >= before + 3, 'three attempts at the lock row', 30_000);
    expect(done).to.equal(false);
    expect(await onEvery(db, "SELECT v FROM meta WHERE k = 'schema_version'")).to.deep.equal([[], [], []]);
    await cluster.query(1, 'DELETE FROM meta WHERE k = ?', [LOCK_ROW], db);
    const version = await migrating;
    expect(version).to.be.above(0);
    expect(
      await onEvery(db, 'SELECT k, v FROM meta WHERE k IN (?, ?) ORDER BY k', [LOCK_ROW, 'schema_version']),
    ).to.deep.equal([0, 1, 2].map(() => [{ k: 'schema_version', v: String(version) }]));
  });

  it('a lock row past its time (its holder died) is taken over', async () => {
    const db = await cluster.createDatabase('gh_ha_stale');
    await cluster.query(
      1,
      'CREATE TABLE meta (k VARCHAR(64) NOT NULL PRIMARY KEY, v TEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
      [],
      db,
    );
    await cluster.query(1, 'INSERT INTO meta (k, v) VALUES (?, ?)', [LOCK_ROW, `dead ${Date.now() - 1000}`], db);
    const version = await storeVia(db, 0).migrate();
    expect(version).to.be.above(0);
    expect(await onEvery(db, 'SELECT k FROM meta WHERE k = ?', [LOCK_ROW])).to.deep.equal([[], [], []]);
  });

  it('three stores, each on another member first, migrate a fresh database at once: one schema everywhere', async () => {
    const db = await cluster.createDatabase('gh_ha_race');
    const versions = await Promise.all([0, 1, 2].map((i) => storeVia(db, i).migrate()));
    expect(new Set(versions).size).to.equal(1);
    expect(await onEvery(db, "SELECT v FROM meta WHERE k IN ('schema_version', ?)", [LOCK_ROW])).to.deep.equal(
      [0, 1, 2].map(() => [{ v: String(versions[0]) }]),
    );
    const tables = await onEvery(
      db,
      'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
      [db],
    );
    expect(tables[0].length).to.be.above(5);
    expect(tables[1]).to.deep.equal(tables[0]);
    expect(tables[2]).to.deep.equal(tables[0]);
  });

  it('writes to one row through three members at once: none lost, none failed (1213 retried)', async () => {
    const db = 'gh_ha_race';
    const via = [0, 1, 2].map((i) => storeVia(db, i));
    const key = tokenKey('wechat_app', 'race', 'wxrace', 'access_token');
    await via[0].ensureToken({
      key,
      platform: 'wechat_app',
      codeName: 'race',
      subject: 'wxrace',
      kind: 'access_token',
    });
    const [{ version: v0 }] = (await onEvery(db, 'SELECT version FROM tokens WHERE token_key = ?', [key]))[0];
    const PER = 20;
    // clearToken: version = version + 1, one statement; every one must count once
    await Promise.all(via.flatMap((s) => Array.from({ length: PER }, () => s.clearToken(key))));
    expect(await onEvery(db, 'SELECT version FROM tokens WHERE token_key = ?', [key])).to.deep.equal(
      [0, 1, 2].map(() => [{ version: Number(v0) + 3 * PER }]),
    );
  });

  it('thirty nodes racing for one lease through three members: exactly one holds it, on every member', async () => {
    const db = 'gh_ha_race';
    const via = [0, 1, 2].map((i) => storeVia(db, i));
    const key = tokenKey('wechat_app', 'lease', 'wxlease', 'access_token');
    await via[1].ensureToken({
      key,
      platform: 'wechat_app',
      codeName: 'lease',
      subject: 'wxlease',
      kind: 'access_token',
    });
    const now = Date.now();
    const owners = Array.from({ length: 30 }, (_, i) => `node-${i}`);
    const won = await Promise.all(owners.map((o, i) => via[i % 3].tryLease(key, o, now, now + 15_000)));
    const winners = owners.filter((_, i) => won[i]);
    expect(winners).to.have.length(1);
    expect(await onEvery(db, 'SELECT lease_owner FROM tokens WHERE token_key = ?', [key])).to.deep.equal(
      [0, 1, 2].map(() => [{ lease_owner: winners[0] }]),
    );
  });
});
