import { expect } from 'chai';
import net from 'node:net';
import { openStore, probeMariaDb } from '../../db';
import { hostUrls } from '../../db/hosts';
import type { MariaDbStore } from '../../db/mariadb';
import { configFromEnv, databaseLocation } from '../../system/config';
import { freshDatabase, requireMariadb, type TestDatabase } from '../helpers/db';

/** a loopback port nothing listens on (taken, then closed): connecting to it is refused at once */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** GATEHOUSE_DATABASE_URL naming several MariaDB hosts in failover order (issue 19 item 2) */
describe('database URL with several hosts', () => {
  it('hostUrls: one single-host URL per host, in order, with the same credentials, database and parameters', () => {
    expect(hostUrls('mariadb://u:p%40ss@h1:3306,h2:3307,h3/db?connectionLimit=4')).to.deep.equal([
      'mariadb://u:p%40ss@h1:3306/db?connectionLimit=4',
      'mariadb://u:p%40ss@h2:3307/db?connectionLimit=4',
      'mariadb://u:p%40ss@h3/db?connectionLimit=4',
    ]);
    expect(hostUrls('mysql://h1:1,h2:2/db')).to.deep.equal(['mysql://h1:1/db', 'mysql://h2:2/db']);
  });

  it('hostUrls: a URL naming one host (or a SQLite one) comes back unchanged', () => {
    for (const u of ['mariadb://u:p@h1:3306/db', 'mariadb://[::1]:3306/db?connectionLimit=2', 'sqlite:./a,b.db'])
      expect(hostUrls(u)).to.deep.equal([u]);
  });

  it('config accepts several hosts, checks each, and names them all (never the password) where it says where', () => {
    const url = 'mariadb://gh:secret@db1:3306,db2:3306,db3/gatehouse?connectionLimit=5';
    expect(configFromEnv({ GATEHOUSE_DATABASE_URL: url, GATEHOUSE_JWT_SECRET: 'x'.repeat(32) }).databaseUrl).to.equal(
      url,
    );
    expect(databaseLocation(url)).to.deep.equal({
      kind: 'mariadb',
      location: 'gh@db1:3306,db2:3306,db3:3306/gatehouse',
    });
    expect(databaseLocation('mariadb://gh:secret@db1:3306/gatehouse')).to.deep.equal({
      kind: 'mariadb',
      location: 'gh@db1:3306/gatehouse',
    });
    expect(() => configFromEnv({ GATEHOUSE_DATABASE_URL: 'mariadb://db1:3306,db2:x/gatehouse' })).to.throw(
      /GATEHOUSE_DATABASE_URL: must be sqlite:<path> or mariadb:/,
    );
    expect(() => configFromEnv({ GATEHOUSE_DATABASE_URL: 'mariadb://db1:3306,/gatehouse' })).to.throw(
      /GATEHOUSE_DATABASE_URL: missing host|must be sqlite/,
    );
  });

  it('probe: a URL whose hosts all refuse names each host and its cause', async () => {
    const [a, b] = [await closedPort(), await closedPort()];
    const err = await probeMariaDb(`mariadb://root@127.0.0.1:${a},127.0.0.1:${b}/gatehouse`).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.equal(
      `cannot connect to any MariaDB host (127.0.0.1:${a}: connection refused (ECONNREFUSED); is the server ` +
        `running and listening on that port?; 127.0.0.1:${b}: connection refused (ECONNREFUSED); is the server ` +
        'running and listening on that port?)',
    );
  });

  describe('on the test MariaDB', () => {
    let db: TestDatabase;
    before(async function () {
      await requireMariadb(this);
      db = await freshDatabase('mariadb');
    });
    after(async () => {
      await db?.drop();
    });

    it('a first host that refuses is passed over: migrations, writes and reads go to the next one', async () => {
      const dead = await closedPort();
      const url = db.url.replace('@', `@127.0.0.1:${dead},`);
      expect(hostUrls(url)).to.have.length(2);
      await probeMariaDb(url);
      const store = openStore(url);
      try {
        expect((store as MariaDbStore).hosts).to.equal(2);
        expect(await store.migrate()).to.be.above(0);
        await store.putTicket('wechat', 'wxhosts', 'TICKET-1', 100, Date.now());
        expect((await store.getTicket('wechat', 'wxhosts'))?.value).to.equal('TICKET-1');
      } finally {
        await store.close();
      }
      // read back directly, not through the store
      expect(await db.query("SELECT value FROM tickets WHERE app_id = 'wxhosts'")).to.deep.equal([
        { value: 'TICKET-1' },
      ]);
    });

    it('a single-host URL still opens one plain pool', async () => {
      const store = openStore(db.url);
      try {
        expect((store as MariaDbStore).hosts).to.equal(1);
        await store.ping();
      } finally {
        await store.close();
      }
    });
  });
});
