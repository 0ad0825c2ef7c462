import { expect } from 'chai';
import { FakePlatform } from './fake/platform';
import { freePort, serve, type ServeProcess } from './helpers/cli';
import { freshDatabase, requireMariadb, type TestDatabase } from './helpers/db';
import { JWT_SECRET } from './helpers/gatehouse';
import { signCaller } from '../system/callers';

/** Several real gatehouse processes on one MariaDB database. */
describe('several nodes on one MariaDB', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let fake: FakePlatform;
  let nodes: ServeProcess[] = [];

  const rpc = async (n: ServeProcess, interfaceName: string, para: unknown, token?: string) => {
    const res = await fetch(`${n.url}/mina_auth`, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      body: JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } }),
    });
    return (await res.json()) as { returnCode: number; returnData: any };
  };

  before(async function () {
    await requireMariadb(this);
    db = await freshDatabase('mariadb');
    fake = await new FakePlatform().start();
    fake.app('wxmulti', 's');
    const env = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_WECHAT_API: fake.url,
      GATEHOUSE_LOG_LEVEL: 'warn',
    };
    // started together: migrations race and must not collide
    nodes = await Promise.all([0, 1, 2].map(() => serve({ ...env, GATEHOUSE_PORT: freePort() })));
  });
  after(async () => {
    for (const n of nodes) n.kill();
    await Promise.all(nodes.map((n) => n.exited));
    await fake?.stop();
    await db?.drop();
  });

  it('a session made on one node works on the others, and logout on one ends it everywhere', async () => {
    const admin = signCaller(JWT_SECRET, { sub: 't', scope: 'admin.*', ttlSeconds: 600 });
    expect(
      (
        await rpc(
          nodes[0],
          'admin.app.put',
          { platform: 'wechat_app', codeName: 'm', config: { appId: 'wxmulti', secret: 's' } },
          admin,
        )
      ).returnCode,
    ).to.equal(0);
    const login = await rpc(nodes[0], 'qcloud.cam.id_skey', { code: fake.code().code });
    expect(login.returnCode).to.equal(0);
    const { id, skey } = login.returnData;
    for (const n of nodes) expect((await rpc(n, 'qcloud.cam.auth', { id, skey })).returnCode).to.equal(0);
    expect((await rpc(nodes[1], 'qcloud.cam.logout', { id, skey })).returnCode).to.equal(0);
    expect((await rpc(nodes[1], 'qcloud.cam.auth', { id, skey })).returnCode).to.equal(60012);
    // the other nodes may answer from their session cache for up to GATEHOUSE_SESSION_CACHE_MS (1 s)
    await new Promise((r) => setTimeout(r, 1100));
    for (const n of nodes) expect((await rpc(n, 'qcloud.cam.auth', { id, skey })).returnCode).to.equal(60012);
  });

  it('concurrent logins of one user on every node keep one session row and one id', async () => {
    const openid = 'o_concurrent_user';
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        rpc(nodes[i % 3], 'qcloud.cam.id_skey', { code: fake.code({ openid }).code }),
      ),
    );
    expect(results.every((r) => r.returnCode === 0)).to.equal(true);
    expect(new Set(results.map((r) => r.returnData.id)).size).to.equal(1);
    const rows = await db.query('SELECT id FROM sessions WHERE openid = ?', [openid]);
    expect(rows).to.have.length(1);
    // exactly one of the 30 skeys is current: the last write
    const live = await Promise.all(
      results.map((r) => rpc(nodes[0], 'qcloud.cam.auth', { id: r.returnData.id, skey: r.returnData.skey })),
    );
    expect(live.filter((r) => r.returnCode === 0)).to.have.length(1);
  });
});
