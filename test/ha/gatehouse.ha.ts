import { expect } from 'chai';
import { FakePlatform } from '../fake/platform';
import { FakeWechatTp } from '../fake/wechat-tp';
import { freePort } from '../helpers/cli';
import { GaleraCluster, galeraMissing } from '../helpers/galera';
import { JWT_SECRET } from '../helpers/gatehouse';
import { serveNode, type NodeProcess } from '../helpers/node-proc';
import { signedPush, xml } from '../helpers/push';
import { skipBecause } from '../helpers/skip';
import { until } from '../helpers/wait';
import { MEMBER_RESTORE_MS } from '../../db/mariadb';
import { signCaller } from '../../system/callers';

const WX = 'wxgalera000000001';
const COMPONENT = 'wxcomponentgalera';
const TP_TOKEN = 'tokgalera';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const CALLER = signCaller(JWT_SECRET, { sub: 'ha-test', scope: '*', ttlSeconds: 3600 });
const DB = 'gh_ha_nodes';

interface Outcome {
  node: number;
  kind: 'token' | 'login' | 'ticket' | 'authorized';
  startedAt: number;
  ok: boolean;
  /** what to find in the store afterwards when ok */
  data?: Record<string, unknown>;
}

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
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let nodes: NodeProcess[] = [];

  const rpc = async (n: NodeProcess, interfaceName: string, para: unknown, route = '/') => {
    const res = await fetch(`${n.url}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CALLER}` },
      body: JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } }),
    });
    return (await res.json()) as { returnCode: number; returnData: any };
  };
  const push = async (n: NodeProcess, fields: Record<string, string | number>) => {
    const p = signedPush(TP_TOKEN, AES, COMPONENT, xml(fields));
    const res = await fetch(`${n.url}/wechat-tp/tp/events?${p.query}`, { method: 'POST', body: p.body });
    return { status: res.status, text: await res.text() };
  };
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
    fake = await new FakePlatform().start();
    wx = new FakeWechatTp(fake);
    fake.app(WX, 'galera-secret');
    fake.app(COMPONENT, 's');
    const env = {
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_WECHAT_API: fake.url,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
      // a loaded machine must not turn a slow answer into a timeout and a retry (a second call)
      GATEHOUSE_UPSTREAM_TIMEOUT_MS: '15000',
      GATEHOUSE_REFRESH_SCAN_MS: '3600000',
    };
    // started together: their migrations race through three members (the lock row)
    nodes = await Promise.all(
      [0, 1, 2].map((i) => serveNode({ ...env, GATEHOUSE_DATABASE_URL: cluster.url(DB, i) }, Number(freePort()))),
    );
    for (const [codeName, platform, config] of [
      ['mp', 'wechat_app', { appId: WX, secret: 'galera-secret', tokenMode: 'classic' }],
      ['tp', 'wechat_tp', { appId: COMPONENT, secret: 's', token: TP_TOKEN, aesKey: AES }],
    ] as const)
      expect((await rpc(nodes[0], 'admin.app.put', { platform, codeName, config })).returnCode).to.equal(0);
    // the apps are on every member before the other nodes look for them
    expect((await onEvery('SELECT COUNT(*) AS n FROM apps')).map((r) => Number(r[0].n))).to.deep.equal([2, 2, 2]);
  });
  after(async () => {
    for (const n of nodes) n.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await fake?.stop();
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
    wx.acceptTicket(COMPONENT, 'ticket@@@0');
    expect(
      (
        await push(nodes[1], {
          AppId: COMPONENT,
          CreateTime: 1,
          InfoType: 'component_verify_ticket',
          ComponentVerifyTicket: 'ticket@@@0',
        })
      ).text,
    ).to.equal('success');
    fake.reset();
    const tokenBefore = (await onEvery("SELECT value FROM tokens WHERE kind = 'access_token'"))[0][0].value;
    let seq = 1;
    const op = async (node: number, kind: Outcome['kind']): Promise<Outcome> => {
      const startedAt = Date.now();
      const n = nodes[node];
      try {
        if (kind === 'token') {
          const r = await rpc(n, 'wechat.app.token', { codeName: 'mp' });
          return { node, kind, startedAt, ok: r.returnCode === 0, data: { token: r.returnData?.token } };
        }
        if (kind === 'login') {
          const openid = `o_ha_${++seq}`;
          const r = await rpc(n, 'qcloud.cam.id_skey', { code: fake.code({ appid: WX, openid }).code }, '/mina_auth');
          return { node, kind, startedAt, ok: r.returnCode === 0, data: { ...r.returnData, openid } };
        }
        if (kind === 'ticket') {
          const t = ++seq;
          const ticket = `ticket@@@${t}`;
          wx.acceptTicket(COMPONENT, ticket);
          const r = await push(n, {
            AppId: COMPONENT,
            CreateTime: t,
            InfoType: 'component_verify_ticket',
            ComponentVerifyTicket: ticket,
          });
          return { node, kind, startedAt, ok: r.text === 'success', data: { ticket, createTime: t } };
        }
        const authorizer = `wxauth${String(++seq).padStart(11, '0')}`;
        const r = await push(n, {
          AppId: COMPONENT,
          CreateTime: seq,
          InfoType: 'authorized',
          AuthorizerAppid: authorizer,
          AuthorizationCode: wx.authorizationCode(COMPONENT, authorizer),
        });
        return { node, kind, startedAt, ok: r.text === 'success', data: { authorizer } };
      } catch (err) {
        return { node, kind, startedAt, ok: false, data: { error: String(err) } };
      }
    };
    const kinds: Outcome['kind'][] = ['token', 'login', 'ticket', 'authorized'];
    outcomes = [];
    // waves of 24 concurrent requests, 8 per node, every kind on every node; member 0 (the first
    // host of node 0's URL) is killed after the 10th wave, and waves go on for 10 s after it
    for (let wave = 0; !killedAt || Date.now() < killedAt + 10_000; wave++) {
      if (wave === 10) {
        await cluster.kill(0);
        killedAt = Date.now();
      }
      outcomes.push(
        ...(await Promise.all(Array.from({ length: 24 }, (_, i) => op(i % 3, kinds[Math.floor(i / 3) % 4])))),
      );
    }
    const failed = outcomes.filter((o) => !o.ok);
    const before = outcomes.filter((o) => o.startedAt < killedAt);
    expect(before.filter((o) => !o.ok)).to.deep.equal([]);
    // recovery: on every node, from some moment within 5 s of the kill on, every request succeeded.
    // The bound is the issue's; what it is made of: the dead member's connections fail at once, its
    // pool waits 1 s (MEMBER_ACQUIRE_TIMEOUT_MS) for a new one before the next host is tried, then
    // the member is passed over for 5 s at a time. Measured from the kill to the start of the first
    // request after which none failed, per node.
    const recovery = [0, 1, 2].map((node) => {
      const mine = outcomes.filter((o) => o.node === node && o.startedAt >= killedAt);
      const lastFail = mine.filter((o) => !o.ok).reduce((t, o) => Math.max(t, o.startedAt), killedAt - 1);
      const next = mine.find((o) => o.startedAt > lastFail);
      return next ? next.startedAt - killedAt : Infinity;
    });
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
