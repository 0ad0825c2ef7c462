import { expect } from 'chai';
import crypto from 'node:crypto';
import http from 'node:http';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { GatehouseClient, GatehouseError } from '../../system/client';
import { loadMiniprogramClient, wxShim, type WxShim } from './wx-shim';

const APPID = 'wx5555555555555555';
const SECRET = 'miniprogram-client-secret';
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

/** the session interfaces a backend relays for its mini program (topology B of docs/INTEGRATION.md) */
const RELAYED = new Set([
  'qcloud.cam.id_skey',
  'qcloud.cam.auth',
  'qcloud.cam.userinfo',
  'qcloud.cam.decrypt',
  'qcloud.cam.logout',
]);

/**
 * "Your own backend" (the one docs/INTEGRATION.md shows): POST /mina_auth relays the mini
 * program's session calls to gatehouse (qcloud.cam.* only); other routes take the session from
 * X-WX-Id / X-WX-Skey, check it with qcloud.cam.auth through the TypeScript client and relay
 * 60011 / 60012 as `code`.
 */
async function ownBackend(gatehouseUrl: string) {
  const gh = new GatehouseClient({ url: `${gatehouseUrl}/`, retries: 0 });
  let hits = 0;
  let relayed = 0;
  const server = http.createServer(async (req, res) => {
    hits += 1;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/always-60012') return send(401, { code: 60012, message: 'AUTH_FAIL' });
    if (req.method === 'POST' && req.url === '/mina_auth') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      let name: unknown;
      try {
        name = JSON.parse(body)?.interface?.interfaceName;
      } catch {
        name = undefined;
      }
      if (typeof name !== 'string' || !RELAYED.has(name)) return send(403, { code: -1, message: 'not relayed' });
      relayed += 1;
      const answer = await fetch(`${gatehouseUrl}/mina_auth`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-forwarded-for': req.socket.remoteAddress ?? '' },
      });
      res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
      return res.end(await answer.text());
    }
    try {
      const user = await gh.call('qcloud.cam.auth', {
        id: String(req.headers['x-wx-id'] ?? ''),
        skey: String(req.headers['x-wx-skey'] ?? ''),
      });
      send(200, { code: 0, openid: user.openid });
    } catch (err) {
      if (err instanceof GatehouseError && (err.returnCode === 60011 || err.returnCode === 60012))
        return send(401, { code: err.returnCode, message: err.returnMessage });
      send(502, { code: -1, message: 'gatehouse failed' });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    hits: () => hits,
    relayed: () => relayed,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

forEachDialect('mini-program client (docs/examples/miniprogram/gatehouse.js)', (dialect) => {
  let fake: FakePlatform;
  let node: TestNode;
  let shim: WxShim;
  let client: any;
  const rpcUrl = () => `${node.url}/mina_auth`;
  const sessions = () => node.db.query('SELECT id, openid, skey_hash FROM sessions');
  /** interfaceName and para of every RPC the mini program sent */
  const rpcs = () =>
    shim.requests.filter((r) => r.url === rpcUrl()).map((r) => [r.data.interface.interfaceName, r.data.interface.para]);

  before(async () => {
    fake = await new FakePlatform().start();
    fake.app(APPID, SECRET);
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    // the session cache off, so that a session ended by SQL is seen at once
    node = await startNode({ dialect, fake, env: { GATEHOUSE_SESSION_CACHE_MS: '0' } });
    const put = await node.rpc(
      'admin.app.put',
      { platform: 'wechat_app', codeName: 'shop', config: { appId: APPID, secret: SECRET } },
      node.token('admin.*'),
    );
    expect(put.returnCode).to.equal(0);
    fake.reset();
    shim = wxShim(fake, APPID);
    client = loadMiniprogramClient(shim.wx);
    client.configure({ url: rpcUrl() });
  });
  afterEach(async () => node?.close());

  it('login: wx.login code → qcloud.cam.id_skey, keeps {id, skey}; check() answers the user through qcloud.cam.auth', async () => {
    const data = await client.login();
    expect(Object.keys(data).sort()).to.deep.equal(['appid', 'duration', 'id', 'platform', 'skey', 'unionid']);
    expect(shim.storage.get('gatehouse_session')).to.deep.equal({ id: data.id, skey: data.skey });
    expect(shim.logins).to.equal(1);
    expect(fake.count('jscode2session', APPID)).to.equal(1);
    const rows = await sessions();
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ id: data.id, skey_hash: sha256(data.skey) });

    const user = await client.check();
    expect(user).to.deep.equal({
      user_info: null,
      appid: APPID,
      platform: 'wechat',
      openid: rows[0].openid,
      unionid: null,
    });
    const [login, auth] = rpcs();
    expect(login[0]).to.equal('qcloud.cam.id_skey');
    expect(Object.keys(login[1])).to.deep.equal(['code']);
    expect(auth).to.deep.equal(['qcloud.cam.auth', { id: data.id, skey: data.skey }]);
    expect(shim.requests.every((r) => r.method === 'POST')).to.equal(true);
  });

  it('calls made before any login share one: five at once → one wx.login, one jscode2session, one session', async () => {
    const users = await Promise.all([1, 2, 3, 4, 5].map(() => client.check()));
    expect(new Set(users.map((u) => u.openid)).size).to.equal(1);
    expect(shim.logins).to.equal(1);
    expect(fake.count('jscode2session', APPID)).to.equal(1);
    expect(await sessions()).to.have.length(1);
  });

  it('60012 (the session was logged out elsewhere): logs in once more and repeats the call with the new skey', async () => {
    const first = await client.login();
    expect((await node.rpc('qcloud.cam.logout', { id: first.id, skey: first.skey })).returnCode).to.equal(0);
    const user = await client.check();
    expect(user.appid).to.equal(APPID);
    const now = shim.storage.get('gatehouse_session') as { id: string; skey: string };
    expect(now.id).to.equal(first.id);
    expect(now.skey).to.not.equal(first.skey);
    expect(shim.logins).to.equal(2);
    expect(
      rpcs().map(
        ([name, para]) => `${name} ${para.skey === first.skey ? 'old' : para.skey === now.skey ? 'new' : '-'}`,
      ),
    ).to.deep.equal(['qcloud.cam.id_skey -', 'qcloud.cam.auth old', 'qcloud.cam.id_skey -', 'qcloud.cam.auth new']);
  });

  it('60011 (login lifetime over): the same renewal, and the new session row is current', async () => {
    const first = await client.login();
    const longAgo = Date.now() - 31 * 86_400_000;
    expect(
      await node.db.exec('UPDATE sessions SET created_at = ?, last_visit = ? WHERE id = ?', [
        longAgo,
        longAgo,
        first.id,
      ]),
    ).to.equal(1);
    expect((await node.rpc('qcloud.cam.auth', { id: first.id, skey: first.skey })).returnCode).to.equal(60011);
    await client.check();
    const now = shim.storage.get('gatehouse_session') as { id: string; skey: string };
    expect(shim.logins).to.equal(2);
    const [row] = await sessions();
    expect(row.skey_hash).to.equal(sha256(now.skey));
    expect((await node.rpc('qcloud.cam.auth', now)).returnCode).to.equal(0);
  });

  it('request() to your own backend: session in X-WX-Id / X-WX-Skey; a relayed 60012 renews the session once', async () => {
    const backend = await ownBackend(node.url);
    try {
      const first = await client.login();
      expect((await node.rpc('qcloud.cam.logout', { id: first.id, skey: first.skey })).returnCode).to.equal(0);
      const res = await client.request({ url: `${backend.url}/me`, method: 'GET' });
      expect(res.statusCode).to.equal(200);
      expect(res.data).to.deep.equal({ code: 0, openid: (await sessions())[0].openid });
      expect(backend.hits()).to.equal(2);
      expect(shim.logins).to.equal(2);
      const now = shim.storage.get('gatehouse_session') as { id: string; skey: string };
      const toBackend = shim.requests.filter((r) => r.url.startsWith(backend.url));
      expect(toBackend.map((r) => [r.header['X-WX-Id'], r.header['X-WX-Skey']])).to.deep.equal([
        [first.id, first.skey],
        [now.id, now.skey],
      ]);
    } finally {
      await backend.close();
    }
  });

  it("topology B: login, check and logout through your backend's relay; the mini program never reaches gatehouse itself", async () => {
    const backend = await ownBackend(node.url);
    try {
      client.configure({ url: `${backend.url}/mina_auth` });
      const data = await client.login();
      expect(await client.check()).to.include({ appid: APPID, openid: shim.openid });
      const res = await client.request({ url: `${backend.url}/me` });
      expect(res.data).to.deep.equal({ code: 0, openid: shim.openid });
      expect(shim.requests.every((r) => r.url.startsWith(backend.url))).to.equal(true);
      expect(backend.relayed()).to.equal(2);
      expect((await sessions())[0]).to.include({ id: data.id, skey_hash: sha256(data.skey) });
      // the relay passes session interfaces only: a token interface is refused before gatehouse
      const refused = await client.call('wechat.app.token', { codeName: 'shop' }).catch((e: any) => e);
      expect(refused.statusCode).to.equal(403);
      expect(backend.relayed()).to.equal(2);
      await client.logout();
      expect(backend.relayed()).to.equal(3);
      expect((await node.rpc('qcloud.cam.auth', { id: data.id, skey: data.skey })).returnCode).to.equal(60012);
    } finally {
      await backend.close();
    }
  });

  it('renews once only: a backend that keeps answering 60012 is asked twice and its answer is returned', async () => {
    const backend = await ownBackend(node.url);
    try {
      const res = await client.request({ url: `${backend.url}/always-60012` });
      expect(res.statusCode).to.equal(401);
      expect(res.data).to.deep.equal({ code: 60012, message: 'AUTH_FAIL' });
      expect(backend.hits()).to.equal(2);
      expect(shim.logins).to.equal(2); // the first login (no session yet) and one renewal
    } finally {
      await backend.close();
    }
  });

  it('a refused login rejects with the envelope (40029 and the platform errcode) and stores nothing', async () => {
    shim.nextCodes.push('fail:45011');
    const err = await client.login().then(
      () => null,
      (e: any) => e,
    );
    expect(err).to.be.an('error');
    expect(err).to.include({ returnCode: 40029, returnMessage: 'UPSTREAM_ERROR' });
    expect(err.returnData).to.deep.include({ platform: 'wechat', errcode: 45011 });
    expect(shim.storage.size).to.equal(0);
    expect(await sessions()).to.have.length(0);
    // the next login is a fresh one, not the failed one replayed
    await client.login();
    expect(shim.logins).to.equal(2);
    expect(await sessions()).to.have.length(1);
  });

  it('logout ends the session at gatehouse and forgets it', async () => {
    const first = await client.login();
    await client.logout();
    expect(shim.storage.size).to.equal(0);
    expect((await node.rpc('qcloud.cam.auth', { id: first.id, skey: first.skey })).returnCode).to.equal(60012);
  });
});
