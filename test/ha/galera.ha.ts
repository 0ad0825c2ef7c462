import { expect } from 'chai';
import fs from 'node:fs';
import { GaleraCluster, galeraMissing } from '../helpers/galera';
import { skipBecause } from '../helpers/skip';

/** the test bed itself (issue 19 item 1): three private Galera nodes on loopback, replicating */
describe('Galera test bed (three private nodes on 127.0.0.1)', function () {
  this.timeout(240_000);
  let cluster: GaleraCluster | undefined;

  before(async function () {
    const missing = galeraMissing();
    if (missing) skipBecause(this, missing, { fixable: 'mariadb-server galera-4 rsync' });
    cluster = await GaleraCluster.start();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('forms one primary component of three Synced members on ports of its own', async () => {
    const c = cluster!;
    for (const n of c.nodes) {
      expect(await c.status(n.index, 'wsrep_cluster_size')).to.equal('3');
      expect(await c.status(n.index, 'wsrep_cluster_status')).to.equal('Primary');
      expect(await c.status(n.index, 'wsrep_local_state_comment')).to.equal('Synced');
      for (const p of [n.port, n.gmcastPort, n.istPort, n.sstPort]) expect([3306, 4444, 4567, 4568]).not.to.include(p);
    }
    const ports = c.nodes.flatMap((n) => [n.port, n.gmcastPort, n.istPort, n.sstPort]);
    expect(new Set(ports).size).to.equal(ports.length);
    // one cluster: every member reports the same state UUID
    const uuids = await Promise.all(c.nodes.map((n) => c.status(n.index, 'wsrep_cluster_state_uuid')));
    expect(new Set(uuids).size).to.equal(1);
  });

  it('replicates a write on one member to the others, and a killed member catches up when it rejoins', async () => {
    const c = cluster!;
    await c.createDatabase('bed');
    await c.query(1, 'CREATE TABLE t (k INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB', [], 'bed');
    await c.query(1, "INSERT INTO t VALUES (1, 'one')", [], 'bed');
    // wsrep_sync_wait: the read waits until the member has applied everything committed before it
    const read = async (i: number) => {
      const conn = await c.connect(i, 'bed');
      try {
        await conn.query('SET SESSION wsrep_sync_wait = 1');
        return Array.from((await conn.query('SELECT k, v FROM t ORDER BY k')) as { k: number; v: string }[]);
      } finally {
        await conn.end();
      }
    };
    for (const n of c.nodes) expect(await read(n.index)).to.deep.equal([{ k: 1, v: 'one' }]);

    await c.kill(2);
    expect(c.running(2)).to.equal(false);
    await c.waitSize(2);
    await c.query(0, "INSERT INTO t VALUES (2, 'two')", [], 'bed');
    await c.startNode(2);
    await c.waitSize(3);
    for (const n of c.nodes)
      expect(await read(n.index)).to.deep.equal([
        { k: 1, v: 'one' },
        { k: 2, v: 'two' },
      ]);
  });

  it('destroy() leaves no process and no directory behind', async () => {
    const c = cluster!;
    const pids = c.nodes.map((n) => c.pid(n.index)!);
    expect(c.leftovers().length).to.be.at.least(3);
    await c.destroy();
    cluster = undefined;
    expect(c.leftovers()).to.deep.equal([]);
    for (const p of pids) expect(fs.existsSync(`/proc/${p}`)).to.equal(false);
    expect(fs.existsSync(c.dir)).to.equal(false);
  });
});
