import { expect } from 'chai';
import { openStore } from '../../db';
import type { MariaDbStore } from '../../db/mariadb';
import { GaleraCluster, galeraMissing } from '../helpers/galera';
import { skipBecause } from '../helpers/skip';
import { until } from '../helpers/wait';

/**
 * The store on a three-host URL (issue 19 item 2): statements go to the first member that answers
 * (the connector's pool cluster, ORDER), and to the next one in the URL's order once it is killed.
 */
describe('store on a Galera cluster: hosts in failover order', function () {
  this.timeout(240_000);
  let cluster: GaleraCluster;
  const DB = 'gh_ha_store';

  before(async function () {
    const missing = galeraMissing();
    if (missing) skipBecause(this, missing, { fixable: 'mariadb-server galera-4 rsync' });
    cluster = await GaleraCluster.start();
    await cluster.createDatabase(DB);
  });
  after(async () => {
    await cluster?.destroy();
  });

  /**
   * transactions each running member committed as the originating member (wsrep_local_commits):
   * a write through a member counts there only, not where it was replicated to
   */
  const localCommits = async () =>
    Promise.all(
      cluster.nodes.map(async (n) =>
        cluster.running(n.index) ? Number(await cluster.status(n.index, 'wsrep_local_commits')) : null,
      ),
    );
  const delta = (after: (number | null)[], before: (number | null)[]) =>
    after.map((v, i) => (v === null || before[i] === null ? null : v - before[i]!));

  /** the ticket as every running member has it (read on each member directly) */
  const everywhere = async (appId: string) =>
    Promise.all(
      cluster.nodes
        .filter((n) => cluster.running(n.index))
        .map(async (n) => {
          const c = await cluster.connect(n.index, DB);
          try {
            await c.query('SET SESSION wsrep_sync_wait = 1');
            const rows = (await c.query('SELECT value FROM tickets WHERE app_id = ?', [appId])) as { value: string }[];
            return rows[0]?.value ?? null;
          } finally {
            await c.end();
          }
        }),
    );

  it('uses the first host of the URL only, and every member holds what it wrote', async () => {
    const store = openStore(cluster.url(DB, 1));
    try {
      expect((store as MariaDbStore).hosts).to.equal(3);
      expect(await store.migrate()).to.be.above(0);
      const before = await localCommits();
      for (let i = 1; i <= 5; i++) await store.putTicket('wechat', 'wxorder', `T-${i}`, i, Date.now());
      expect(delta(await localCommits(), before)).to.deep.equal([0, 5, 0]);
      expect(await everywhere('wxorder')).to.deep.equal(['T-5', 'T-5', 'T-5']);
    } finally {
      await store.close();
    }
  });

  it('a member cut off from the others (non-primary, 1047) refuses; every statement goes to the next member, none fails', async () => {
    const store = openStore(cluster.url(DB, 2)) as MariaDbStore;
    try {
      await store.migrate();
      await store.putTicket('wechat', 'wxisolated', 'T-0', 0, Date.now());
      // member 2 leaves the group: it is no longer in the primary component and refuses statements
      await cluster.query(2, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'");
      await until(
        async () => (await cluster.status(2, 'wsrep_cluster_status').catch(() => '')) !== 'Primary',
        'member 2 outside the primary component',
        20_000,
      );
      const refused = await cluster.query(2, 'SELECT COUNT(*) FROM tickets', [], DB).then(
        () => undefined,
        (e: { errno?: number }) => e.errno,
      );
      expect(refused).to.equal(1047);
      const before = await localCommits();
      for (let i = 1; i <= 20; i++) await store.putTicket('wechat', 'wxisolated', `T-${i}`, i, Date.now());
      expect((await store.getTicket('wechat', 'wxisolated'))?.value).to.equal('T-20');
      // through node 0, the next host of the URL (2, 0, 1)
      const d = delta(await localCommits(), before);
      expect(d[0]).to.equal(20);
      expect(d[1]).to.equal(0);
      // the URL's first member (node 2) was passed over, the others were not
      expect(store.members.passes[0]).to.be.at.least(1);
      expect(store.members.passes.slice(1)).to.deep.equal([0, 0]);
    } finally {
      await store.close();
      // member 2 back into the cluster: restarted, it rejoins
      await cluster.kill(2);
      await cluster.waitSize(2);
      await cluster.startNode(2);
      await cluster.waitSize(3);
    }
  });

  it('when the first host is killed (-9), the next one in the URL takes the statements', async () => {
    const store = openStore(cluster.url(DB, 1));
    try {
      await store.putTicket('wechat', 'wxfail', 'T-1', 1, Date.now());
      await cluster.kill(1);
      const before = await localCommits();
      await cluster.waitSize(2);
      // the first statement after the kill may fail (its connection died with the member): the
      // next ones go to node 2, the next host of the URL (1, 2, 0)
      await until(
        async () =>
          store.putTicket('wechat', 'wxfail', 'T-2', 2, Date.now()).then(
            () => true,
            () => false,
          ),
        'a write through the next member',
        10_000,
      );
      await store.putTicket('wechat', 'wxfail', 'T-3', 3, Date.now());
      expect((await store.getTicket('wechat', 'wxfail'))?.value).to.equal('T-3');
      // both writes through node 2 (the first, if it failed, committed nowhere), none through node 0
      expect(delta(await localCommits(), before)).to.deep.equal([0, null, 2]);
      expect(await everywhere('wxfail')).to.deep.equal(['T-3', 'T-3']);
    } finally {
      await store.close();
    }
  });
});
