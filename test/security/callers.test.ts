/**
 * Caller tokens (§4, trust): every minted token has a jti, is listed (never the token) and can be
 * revoked; a revoked token answers 4001 on every node within 5 s, cached or not. `admin.*` covers
 * every admin interface whatever its name.
 */
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { scopeCoversInterface } from '../../system/callers';
import { cli, freePort } from '../helpers/cli';
import { forEachDialect, freshDatabase, requireMariadb, type TestDatabase } from '../helpers/db';
import { JWT_SECRET, startNode, type TestNode } from '../helpers/gatehouse';
import { serveNode, type NodeProcess } from '../helpers/node-proc';

const payloadOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rpcAt(url: string, interfaceName: string, para: unknown, token?: string) {
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: JSON.stringify({ interface: { interfaceName, para } }),
  });
  expect(res.status).to.equal(200);
  return (await res.json()) as { returnCode: number; returnMessage: string; returnData: any };
}

/** polls until the token is refused with 4001; fails when that takes longer than 5 s */
async function refusedWithin5s(url: string, token: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    const r = await rpcAt(url, 'admin.app.list', {}, token);
    if (r.returnCode === 4001) {
      expect(r).to.deep.equal({ returnCode: 4001, returnMessage: 'UNAUTHENTICATED', returnData: '' });
      return Date.now() - started;
    }
    expect(r.returnCode).to.equal(0);
    if (Date.now() - started > 5000) throw new Error('the revoked token was still accepted after 5 s');
    await sleep(100);
  }
}

describe('admin.* scope covers every admin interface (§4 trust)', () => {
  const table: Array<[string[], { name: string; access: string }, boolean]> = [
    [['admin.*'], { name: 'qcloud.work.initagent', access: 'admin' }, true],
    [['admin.*'], { name: 'admin.caller.revoke', access: 'admin' }, true],
    [['admin*'], { name: 'qcloud.work.initagent', access: 'admin' }, true],
    [['*'], { name: 'qcloud.work.initagent', access: 'admin' }, true],
    [['qcloud.work.*'], { name: 'qcloud.work.initagent', access: 'admin' }, true],
    [['admin.*'], { name: 'qcloud.work.ticket', access: 'backend' }, false],
    [['admin.app.*'], { name: 'qcloud.work.initagent', access: 'admin' }, false],
    [['admin.qcloud.*'], { name: 'qcloud.work.initagent', access: 'admin' }, false],
    [['admin'], { name: 'qcloud.work.initagent', access: 'admin' }, false],
    [['wechat.*'], { name: 'admin.caller.list', access: 'admin' }, false],
  ];
  for (const [scope, def, want] of table) {
    it(`${scope.join(' ')} ${want ? 'covers' : 'does not cover'} ${def.name} (${def.access})`, () => {
      expect(scopeCoversInterface(scope, def)).to.equal(want);
    });
  }
});

forEachDialect('caller tokens: jti, list, revoke', (dialect) => {
  let node: TestNode;
  before(async () => {
    node = await startNode({ dialect });
  });
  after(async () => node?.close());

  it('admin.* reaches qcloud.work.initagent over RPC', async () => {
    const admin = node.token('admin.*');
    const r = await node.rpc(
      'qcloud.work.initagent',
      { corpid: 'wwscope0001', agentid: '1000002', agentsecret: 'agent-secret-x' },
      admin,
    );
    expect(r.returnCode).to.equal(0);
    expect(
      (
        await node.rpc(
          'qcloud.work.initagent',
          { corpid: 'wwscope0001', agentid: '1000002', agentsecret: 'x' },
          node.token('wechat.*'),
        )
      ).returnCode,
    ).to.equal(4003);
  });

  it('every token the helpers mint carries a random jti and is recorded without the token', async () => {
    const a = node.token('admin.*', ['shop']);
    const b = node.token('admin.*', ['shop']);
    const ja = payloadOf(a).jti as string;
    expect(ja).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(payloadOf(b).jti).to.not.equal(ja);
    await node.recorded();
    const res = await node.rpc('admin.caller.list', {}, node.token('admin.*'));
    expect(res.returnCode).to.equal(0);
    const mine = res.returnData.callers.find((c: { jti: string }) => c.jti === ja);
    expect(mine).to.deep.equal({
      jti: ja,
      sub: 'test',
      scope: 'admin.*',
      apps: ['shop'],
      exp: payloadOf(a).exp,
      revoked: false,
    });
    expect(JSON.stringify(res.returnData)).to.not.include(a.split('.')[2]);
    const rows = await node.db.query('SELECT * FROM callers');
    expect(JSON.stringify(rows)).to.not.include(a.split('.')[2]);
  });

  it('a revoked token answers 4001 at once on the node that revoked it, even when cached', async () => {
    const victim = node.token('admin.*');
    const jti = payloadOf(victim).jti as string;
    expect((await node.rpc('admin.app.list', {}, victim)).returnCode).to.equal(0); // cached now
    const admin = node.token('admin.*');
    expect(await node.rpc('admin.caller.revoke', { jti }, admin)).to.deep.equal({
      returnCode: 0,
      returnMessage: 'OK',
      returnData: { revoked: true },
      version: 1,
      componentName: 'MA',
    });
    expect(await node.rpc('admin.app.list', {}, victim)).to.deep.equal({
      returnCode: 4001,
      returnMessage: 'UNAUTHENTICATED',
      returnData: '',
      version: 1,
      componentName: 'MA',
    });
    // the proxies verify callers the same way
    const proxied = await fetch(`${node.url}/proxy/wechat-app/nosuchapp/cgi-bin/user/get`, {
      headers: { authorization: `Bearer ${victim}` },
    });
    expect(proxied.status).to.equal(401);
    const other = await fetch(`${node.url}/proxy/wechat-app/nosuchapp/cgi-bin/user/get`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(other.status).to.not.equal(401);
    const [row] = await node.db.query('SELECT jti, revoked_at FROM callers WHERE jti = ?', [jti]);
    expect(Number(row.revoked_at)).to.be.greaterThan(0);
    const listed = (await node.rpc('admin.caller.list', {}, admin)).returnData.callers.find(
      (c: { jti: string }) => c.jti === jti,
    );
    expect(listed.revoked).to.equal(true);
    // revoking again is harmless
    expect((await node.rpc('admin.caller.revoke', { jti }, admin)).returnData).to.deep.equal({ revoked: true });
    expect((await node.rpc('admin.app.list', {}, admin)).returnCode).to.equal(0);
  });

  it('a jti gatehouse did not mint (signed elsewhere with the secret) is recorded as revoked and refused', async () => {
    const foreign = jwt.sign({ sub: 'ext', scope: 'admin.*', jti: 'ext-7f3c2a' }, JWT_SECRET, { expiresIn: 600 });
    expect((await node.rpc('admin.app.list', {}, foreign)).returnCode).to.equal(0);
    expect(
      (await node.rpc('admin.caller.revoke', { jti: 'ext-7f3c2a' }, node.token('admin.*'))).returnData,
    ).to.deep.equal({ revoked: true });
    expect((await node.rpc('admin.app.list', {}, foreign)).returnCode).to.equal(4001);
    const [row] = await node.db.query('SELECT sub, exp, revoked_at FROM callers WHERE jti = ?', ['ext-7f3c2a']);
    expect(row.sub).to.equal(null);
    expect(Number(row.revoked_at)).to.be.greaterThan(0);
  });

  it('tokens without a jti stay accepted (only rotating the secret withdraws them)', async () => {
    const bare = jwt.sign({ sub: 'hand', scope: 'admin.*' }, JWT_SECRET, { expiresIn: 600 });
    expect((await node.rpc('admin.app.list', {}, bare)).returnCode).to.equal(0);
  });

  it('a malformed jti claim answers 4001; a malformed jti para answers 1003 and stores nothing', async () => {
    for (const jti of [42, '', 'has space', 'x'.repeat(65), ['a']]) {
      const t = jwt.sign({ sub: 'x', scope: 'admin.*', jti }, JWT_SECRET, { expiresIn: 600 });
      expect((await node.rpc('admin.app.list', {}, t)).returnCode, JSON.stringify(jti)).to.equal(4001);
    }
    await node.recorded(); // tokens minted earlier are all in the count below
    const before = await node.db.query('SELECT COUNT(*) AS n FROM callers');
    for (const jti of ['', 'a b', 'x'.repeat(65), 5]) {
      expect((await node.rpc('admin.caller.revoke', { jti }, node.token('admin.*'))).returnCode).to.equal(1003);
    }
    await node.recorded();
    const after = await node.db.query('SELECT COUNT(*) AS n FROM callers');
    // only the four admin tokens minted above were added
    expect(Number(after[0].n)).to.equal(Number(before[0].n) + 4);
  });

  it('a caller limited by apps lists and revokes only tokens limited to its own apps', async () => {
    const root = node.token('admin.*');
    const rootJti = payloadOf(root).jti as string;
    const other = node.token('admin.*', ['theirs']);
    const mineTok = node.token('admin.*', ['mine']);
    const limited = node.token('admin.caller.* admin.app.list', ['mine']);
    await node.recorded();
    const lres = await node.rpc('admin.caller.list', {}, limited);
    expect(lres.returnCode, JSON.stringify(lres)).to.equal(0);
    const listed = lres.returnData.callers as Array<{ jti: string; apps: string[] | null }>;
    expect(listed.length).to.be.greaterThan(0);
    expect(listed.every((c) => c.apps !== null && c.apps.every((a) => a === 'mine'))).to.equal(true);
    for (const jti of [rootJti, payloadOf(other).jti, 'never-minted-1']) {
      expect((await node.rpc('admin.caller.revoke', { jti }, limited)).returnCode).to.equal(4003);
    }
    expect((await node.rpc('admin.app.list', {}, root)).returnCode).to.equal(0);
    expect((await node.rpc('admin.app.list', {}, other)).returnCode).to.equal(0);
    const [never] = await node.db.query('SELECT COUNT(*) AS n FROM callers WHERE jti = ?', ['never-minted-1']);
    expect(Number(never.n)).to.equal(0);
    expect((await node.rpc('admin.caller.revoke', { jti: payloadOf(mineTok).jti }, limited)).returnCode).to.equal(0);
    expect((await node.rpc('admin.app.list', {}, mineTok)).returnCode).to.equal(4001);
  });
});

describe('caller revocation across two processes on one MariaDB (§4 trust)', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let nodes: NodeProcess[] = [];
  let env: Record<string, string>;

  before(async function () {
    await requireMariadb(this);
    db = await freshDatabase('mariadb');
    env = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
    };
    nodes = await Promise.all([0, 1].map(() => serveNode(env, Number(freePort()))));
  });
  after(async () => {
    for (const n of nodes) n.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    await db?.drop();
  });

  const mint = (sub: string, scope: string) => {
    const r = cli(['caller', 'token', '--sub', sub, '--scope', scope, '--ttl', '1h'], env);
    expect(r.status, r.stderr).to.equal(0);
    return r.stdout.trim();
  };

  it('caller token records the jti; caller list shows it, never the token', () => {
    const token = mint('ops', 'admin.*');
    const jti = payloadOf(token).jti as string;
    expect(jti).to.match(/^[A-Za-z0-9_-]{22}$/);
    const table = cli(['caller', 'list'], env);
    expect(table.status).to.equal(0);
    expect(table.stdout.split('\n')[0]).to.equal('jti\tsub\tscope\tapps\texp\trevoked');
    expect(table.stdout).to.include(`${jti}\tops\tadmin.*\t*\t`);
    expect(table.stdout).to.not.include(token.split('.')[2]);
    const lines = cli(['caller', 'list', '--json'], env)
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.find((l) => l.jti === jti)).to.deep.equal({
      jti,
      sub: 'ops',
      scope: 'admin.*',
      apps: null,
      exp: payloadOf(token).exp,
      revoked: false,
    });
  });

  it('revoked through node A (RPC), node B refuses the token it has cached within 5 s', async () => {
    const victim = mint('victim', 'admin.*');
    const admin = mint('ops', 'admin.*');
    for (const n of nodes) expect((await rpcAt(n.url, 'admin.app.list', {}, victim)).returnCode).to.equal(0);
    const r = await rpcAt(nodes[0].url, 'admin.caller.revoke', { jti: payloadOf(victim).jti }, admin);
    expect(r.returnData).to.deep.equal({ revoked: true });
    expect((await rpcAt(nodes[0].url, 'admin.app.list', {}, victim)).returnCode).to.equal(4001);
    await refusedWithin5s(nodes[1].url, victim);
    for (const n of nodes) expect((await rpcAt(n.url, 'admin.app.list', {}, admin)).returnCode).to.equal(0);
  });

  it('revoked with `gatehouse caller revoke --jti`, both nodes refuse within 5 s', async () => {
    const victim = mint('victim2', 'admin.*');
    const jti = payloadOf(victim).jti as string;
    for (const n of nodes) expect((await rpcAt(n.url, 'admin.app.list', {}, victim)).returnCode).to.equal(0);
    const r = cli(['caller', 'revoke', '--jti', jti], env);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`${jti} revoked\n`);
    await Promise.all(nodes.map((n) => refusedWithin5s(n.url, victim)));
    expect(cli(['caller', 'revoke', '--jti', jti], env).stdout).to.equal(`${jti} was already revoked\n`);
    const unknown = cli(['caller', 'revoke', '--jti', 'minted-elsewhere-1'], env);
    expect(unknown.status).to.equal(0);
    expect(unknown.stdout).to.match(/^minted-elsewhere-1 revoked \(not minted by this gatehouse/);
    const bad = cli(['caller', 'revoke', '--jti', 'has space'], env);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/^--jti: /);
  });
});
