import { expect } from 'chai';
import type { FakePlatform } from '../fake/platform';
import type { FakeWechatTp } from '../fake/wechat-tp';
import { GaleraCluster, galeraMissing } from '../helpers/galera';
import {
  HA_COMPONENT as COMPONENT,
  haApps,
  haFirstTicket,
  haFleet,
  haOperation,
  haRpc as rpc,
  haStream,
  recoveryMs,
  HA_WX as WX,
  type HaFleet,
  type Outcome,
} from '../helpers/ha-load';
import type { NodeProcess } from '../helpers/node-proc';
import { skipBecause } from '../helpers/skip';
import { until } from '../helpers/wait';
import { MEMBER_RESTORE_MS } from '../../db/mariadb';

const DB = 'gh_ha_nodes';

/**
 * Three gatehouse processes, each with a GATEHOUSE_DATABASE_URL naming another Galera member
 * first (issue 19 item 3): (a) 1,200 concurrent cold token calls make one upstream call; (b) one
 * member killed (-9) under load: requests succeed through the others within 5 s, nothing that was
 * answered as done is missing from any member, no second refresh; (c) the member rejoins (IST)
 * and the node whose URL names it first uses it again.
 */
describe('gatehouse on a three-node Galera cluster', function () {
  this.timeout(300_000);
  let cluster: GaleraCluster;
  let fleet: HaFleet;
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let nodes: NodeProcess[] = [];

  /** rows as every running member has them (each read waits until the member applied what came before) */
  const onEvery = async (sql: string, params: unknown[] = []) =>
    Promise.all(
      cluster.nodes
        .filter((m) => cluster.running(m.index))
        .map(async (m) => {
          const c = await cluster.connect(m.index, DB);
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
    await cluster.createDatabase(DB);
    // started together: their migrations race through three members (the lock row)
    fleet = await haFleet([0, 1, 2].map((i) => cluster.url(DB, i)));
    ({ fake, wx, nodes } = fleet);
    expect(await haApps(nodes[0])).to.deep.equal([0, 0]);
    // the apps are on every member before the other nodes look for them
    expect((await onEvery('SELECT COUNT(*) AS n FROM apps')).map((r) => Number(r[0].n))).to.deep.equal([2, 2, 2]);
  });
  after(async () => {
    await fleet?.stop();
    await cluster?.destroy();
  });

  it('(a) 1,200 concurrent cold calls over three nodes, each on another member first: 1 upstream call', async () => {
    fake.reset();
    fake.latencyMs = 300;
    const all = await Promise.all(
      Array.from({ length: 1200 }, (_, i) => rpc(nodes[i % 3], 'wechat.app.token', { codeName: 'mp' })),
    );
    fake.latencyMs = 0;
    expect(all.filter((r) => r.returnCode !== 0)).to.deep.equal([]);
    const tokens = new Set(all.map((r) => r.returnData.token));
    expect(fake.count('token')).to.equal(1);
    expect(tokens.size).to.equal(1);
    // the one token is what every member holds
    expect(await onEvery("SELECT value, lease_owner FROM tokens WHERE kind = 'access_token'")).to.deep.equal(
      [0, 1, 2].map(() => [{ value: [...tokens][0], lease_owner: null }]),
    );
  });

  let outcomes: Outcome[] = [];
  let killedAt = 0;
  let lastTicket = 0;

  it('(b) kill -9 of a member mid-load: requests succeed through the others within 5 s, nothing answered as done is lost, no second refresh', async () => {
    expect(await haFirstTicket(nodes[1], wx)).to.equal('success');
    fake.reset();
    const tokenBefore = (await onEvery("SELECT value FROM tokens WHERE kind = 'access_token'"))[0][0].value;
    const op = haOperation(fake, wx, nodes);
    outcomes = [];
    // 24 workers, 8 per node, every kind on every node, one request after another; member 0 (the
    // first host of node 0's URL) is killed once 240 requests are answered, the load goes on for
    // 10 s after it
    let stopAt = Infinity;
    const load = haStream(op, 3, 24, () => Date.now() < stopAt, outcomes);
    await until(async () => outcomes.length >= 240, '240 requests before the kill', 60_000);
    // the moment of the kill is when the signal is sent (the exit is seen later)
    const killed = cluster.kill(0);
    killedAt = Date.now();
    await killed;
    stopAt = killedAt + 10_000;
    await load;
    const failed = outcomes.filter((o) => !o.ok);
    // what was answered before the kill all succeeded (requests in flight then may not have)
    const before = outcomes.filter((o) => o.startedAt < killedAt);
    expect(before.filter((o) => o.endedAt! < killedAt && !o.ok)).to.deep.equal([]);
    // recovery: on every node, from some moment within 5 s of the kill on, every request succeeded.
    // The bound is the issue's; what it is made of: node 0 (on the dead member first) loses the
    // statements in flight there and sends the next ones to member 1 (db/members.ts); nodes 1 and 2
    // lose nothing of gatehouse's, but their members' commits wait until Galera evicts the dead one
    // (evs.suspect_timeout 2 s, inactive 3 s): the statements in flight at the kill meet the 3 s
    // query deadline, and the node's store guard then refuses for 1 s (system/store-guard.ts), so
    // ~4 s. Measured from the kill to the start of the first request after which none failed, per
    // node, under a steady load (haStream: a hung request holds up only its own worker).
    const recovery = recoveryMs(outcomes, killedAt, 3);
    console.log(
      `      kill -9 of member 0: ${failed.length} of ${outcomes.length} requests failed; recovered after ${recovery.join(' / ')} ms (nodes 0/1/2); ${outcomes.length - before.length} requests after the kill`,
    );
    for (const r of recovery) expect(r).to.be.below(5000);
    expect(outcomes.filter((o) => o.startedAt >= killedAt + 5000 && !o.ok)).to.deep.equal([]);
    expect(outcomes.filter((o) => o.startedAt >= killedAt + 5000).length).to.be.above(100);

    // no second refresh: the access token was valid throughout, nobody fetched another; the
    // component token was fetched once (by the first authorization), by one node
    expect(fake.count('token')).to.equal(0);
    expect(fake.count('api_component_token')).to.equal(1);
    for (const o of outcomes.filter((x) => x.kind === 'token' && x.ok)) expect(o.data?.token).to.equal(tokenBefore);

    // every session answered as made is on both surviving members, and every node accepts it
    const sessions = outcomes.filter((o) => o.kind === 'login' && o.ok).map((o) => o.data!);
    expect(sessions.length).to.be.above(50);
    const ids = sessions.map((s) => String(s.id)).sort();
    for (const rows of await onEvery(`SELECT id FROM sessions WHERE id IN (${ids.map(() => '?').join(',')})`, ids))
      expect(rows.map((r) => String(r.id)).sort()).to.deep.equal(ids);
    for (const s of sessions.slice(-6))
      for (const n of nodes)
        expect((await rpc(n, 'qcloud.cam.auth', { id: s.id, skey: s.skey }, '/mina_auth')).returnCode).to.equal(0);

    // the ticket stored is the newest one answered "success" (or newer), on both members
    const tickets = outcomes.filter((o) => o.kind === 'ticket' && o.ok).map((o) => o.data!);
    lastTicket = Math.max(...tickets.map((t) => Number(t.createTime)));
    for (const [row] of await onEvery('SELECT value, create_time FROM tickets WHERE app_id = ?', [COMPONENT])) {
      expect(Number(row.create_time)).to.be.at.least(lastTicket);
      expect(row.value).to.equal(`ticket@@@${Number(row.create_time)}`);
    }

    // every authorization answered "success" has its refresh token (the platform's current one) on both members
    const auths = outcomes.filter((o) => o.kind === 'authorized' && o.ok).map((o) => String(o.data!.authorizer));
    expect(auths.length).to.be.above(50);
    for (const rows of await onEvery(
      `SELECT authorizer_id, refresh_token FROM authorizers WHERE owner_id = ? AND authorizer_id IN (${auths.map(() => '?').join(',')}) ORDER BY authorizer_id`,
      [COMPONENT, ...auths],
    ))
      expect(rows).to.deep.equal(
        [...auths].sort().map((a) => ({
          authorizer_id: a,
          refresh_token: wx.authorizations.get(`${COMPONENT}:${a}`)!.refreshToken,
        })),
      );
  });

  it('(c) the killed member rejoins (IST), holds what was written without it, and node 0 uses it again', async () => {
    expect(killedAt).to.be.above(0);
    await cluster.startNode(0);
    await cluster.waitSize(3);
    const [row] = (await cluster.query(0, 'SELECT create_time FROM tickets WHERE app_id = ?', [COMPONENT], DB)) as {
      create_time: number;
    }[];
    expect(Number(row.create_time)).to.be.at.least(lastTicket);
    // node 0 passes over its first host for MEMBER_RESTORE_MS after a failure; then its writes go there again
    const commits = async () => Number(await cluster.status(0, 'wsrep_local_commits'));
    const start = await commits();
    let openid = 0;
    await until(
      async () => {
        await rpc(
          nodes[0],
          'qcloud.cam.id_skey',
          { code: fake.code({ appid: WX, openid: `o_back_${++openid}` }).code },
          '/mina_auth',
        );
        return (await commits()) > start;
      },
      'a write of node 0 through member 0',
      MEMBER_RESTORE_MS + 20_000,
    );
  });
});
