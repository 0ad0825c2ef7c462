import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { developerSign, refreshSign, shansongSign, signatureMatches } from '../../application/platforms/shansong/sign';
import { SecretBox } from '../../system/secretbox';
import { FakePlatform } from '../fake/platform';
import { FakeShansong, installShansong } from '../fake/shansong';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { sink } from '../helpers/net';
import { until } from '../helpers/wait';

const CLIENT = 'ss0000000001';
const CLIENT2 = 'ss0000000002';
const SECRET = 'shansong-secret-1';
const MERCHANT = '20000000000000730';
const MERCHANT2 = 'shop-2@example';
const PUBLIC = 'https://gh.example.com';
const REDIRECT = 'https://admin.example.com/ss?from=gh';
const MASTER = crypto.randomBytes(32).toString('base64');
const BODY_LIMIT = 2048;

const nowS = () => Math.floor(Date.now() / 1000);
const unescape = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** a request whose path is sent exactly as written (fetch would normalise `..`) */
function raw(
  base: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const all: Record<string, string> = {
      ...(body !== undefined
        ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
        : {}),
      ...headers,
    };
    // a header given as '' is left out (e.g. content-length for a chunked body)
    for (const k of Object.keys(all)) if (all[k] === '') delete all[k];
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers: all }, (res) => {
      let t = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (t += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t, headers: res.headers }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('Shansong signatures (VECTORS.md)', () => {
  const ts = '1600000000000';
  const data = '{"a":"b"}';

  it('developer API signature, with and without data, and the refresh signature, upper-case', () => {
    expect(developerSign('SECRET', 'CLIENT', 'AT', ts, data)).to.equal(
      '9599df624170b381e6aa2cdf35e930d5'.toUpperCase(),
    );
    expect(shansongSign('SECRET', { clientId: 'CLIENT', timestamp: ts })).to.equal(
      '0c2854635741c328378e8f57f6e213df'.toUpperCase(),
    );
    expect(refreshSign('SECRET', 'CLIENT', 'RT', ts)).to.equal('9faa4b8f1d4b073e025a109653b28f0d'.toUpperCase());
    // an empty data is left out of the signature, as is `sign` itself
    expect(developerSign('SECRET', 'CLIENT', 'AT', ts, '')).to.equal(developerSign('SECRET', 'CLIENT', 'AT', ts));
    expect(developerSign('SECRET', 'CLIENT', 'AT', ts)).to.equal(
      crypto.createHash('md5').update(`SECRETaccessTokenATclientIdCLIENTtimestamp${ts}`).digest('hex').toUpperCase(),
    );
    expect(shansongSign('SECRET', { clientId: 'CLIENT', timestamp: ts, sign: 'whatever' })).to.equal(
      '0C2854635741C328378E8F57F6E213DF',
    );
  });

  it('verification is case-insensitive and rejects anything else', () => {
    const sig = developerSign('SECRET', 'CLIENT', 'AT', ts, data);
    expect(signatureMatches(sig, '9599df624170b381e6aa2cdf35e930d5')).to.equal(true);
    expect(signatureMatches(sig, sig)).to.equal(true);
    expect(signatureMatches(sig, '9599df624170b381e6aa2cdf35e930d6')).to.equal(false);
    expect(signatureMatches(sig, '')).to.equal(false);
    expect(signatureMatches(sig, undefined)).to.equal(false);
  });

  it("the fake platform's independent signer agrees with the vectors", () => {
    expect(FakeShansong.sign('SECRET', { clientId: 'CLIENT', accessToken: 'AT', timestamp: ts, data })).to.equal(
      '9599DF624170B381E6AA2CDF35E930D5',
    );
    expect(FakeShansong.sign('SECRET', { timestamp: ts, clientId: 'CLIENT' })).to.equal(
      '0C2854635741C328378E8F57F6E213DF',
    );
    expect(FakeShansong.sign('SECRET', { data: '{"refreshToken":"RT"}', clientId: 'CLIENT', timestamp: ts })).to.equal(
      '9FAA4B8F1D4B073E025A109653B28F0D',
    );
  });
});

forEachDialect('Shansong merchants (shansong_app)', (dialect) => {
  let fake: FakePlatform;
  let ss: FakeShansong;
  let node: TestNode;
  let tok: string;
  let hook: Awaited<ReturnType<typeof sink>>;
  const box = new SecretBox(Buffer.from(MASTER, 'base64'));

  const rpc = (name: string, para: Record<string, unknown>, token = tok) => node.rpc(name, para, token);
  const merchantToken = (para: Record<string, unknown> = {}, token = tok) =>
    rpc('shansong.merchant.token', { codeName: 'ss', merchantCode: MERCHANT, ...para }, token);
  const authorizer = async (merchant = MERCHANT) =>
    (
      await node.db.query('SELECT * FROM authorizers WHERE platform = ? AND owner_id = ? AND authorizer_id = ?', [
        'shansong_app',
        CLIENT,
        merchant,
      ])
    )[0];
  const tokenRow = async (merchant = MERCHANT) =>
    (
      await node.db.query('SELECT * FROM tokens WHERE token_key = ?', [
        `shansong_app:${CLIENT}:${merchant}:merchant_access_token`,
      ])
    )[0];
  const counts = () => ({
    token: fake.count('oauth_token'),
    refresh: fake.count('oauth_refresh_token'),
    developer: fake.count('developer'),
    unknown: fake.count('unknown'),
  });

  /**
   * the authorization page's link, followed through the fake's /auth page (the merchant logs in there) back to
   * gatehouse
   */
  const authorize = async (merchant = MERCHANT, codeName = 'ss') => {
    const page = await fetch(`${node.url}/shansong/${codeName}/authorize/${encodeURIComponent(merchant)}`);
    expect(page.status).to.equal(200);
    const target = unescape(/id="go" href="([^"]+)"/.exec(await page.text())![1]);
    ss.loginAs = merchant;
    const auth = await (await fetch(target)).text();
    const approve = new URL(unescape(/id="approve" href="([^"]+)"/.exec(auth)![1]));
    // GATEHOUSE_PUBLIC_URL is the public name; the test reaches the node on loopback
    expect(approve.origin).to.equal(PUBLIC);
    return fetch(`${node.url}${approve.pathname}${approve.search}`, { redirect: 'manual' });
  };

  /** the single-use state nonce an authorization page issued for the merchant (§7 trust) */
  const nonce = async (merchant = MERCHANT, codeName = 'ss') => {
    const page = await (
      await fetch(`${node.url}/shansong/${codeName}/authorize/${encodeURIComponent(merchant)}`)
    ).text();
    return new URL(unescape(/id="go" href="([^"]+)"/.exec(page)![1])).searchParams.get('state')!;
  };

  const proxy = (path: string, body?: string, token: string | null = tok, headers: Record<string, string> = {}) =>
    raw(node.url, 'POST', `/proxy/shansong/${path}`, body, {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    });

  before(async () => {
    fake = await new FakePlatform().start();
    ss = installShansong(fake);
    ss.client(CLIENT, SECRET);
    hook = await sink();
  });
  after(async () => {
    await fake?.stop();
    await hook?.close();
  });
  beforeEach(async () => {
    fake.lifetimeS = 7200;
    ss.rotate = true;
    for (const api of ['oauth_token', 'oauth_refresh_token', 'developer']) fake.mode(api, null);
    node = await startNode({
      dialect,
      fake,
      env: {
        GATEHOUSE_SHANSONG_API: fake.url,
        GATEHOUSE_PUBLIC_URL: PUBLIC,
        GATEHOUSE_MASTER_KEY: MASTER,
        GATEHOUSE_PROXY_BODY_LIMIT: String(BODY_LIMIT),
      },
    });
    tok = node.token('*');
    const put = await rpc('admin.app.put', {
      platform: 'shansong_app',
      codeName: 'ss',
      config: { appId: CLIENT, secret: SECRET, redirectUrl: REDIRECT, callbackUrl: hook.url },
    });
    expect(put.returnCode).to.equal(0);
    fake.reset();
    hook.clear();
  });
  afterEach(async () => node?.close());

  describe('authorization', () => {
    it('the authorize page links to {SHANSONG_API}/auth with exactly the §7 query', async () => {
      const res = await fetch(`${node.url}/shansong/ss/authorize/${MERCHANT}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
      const target = new URL(unescape(/id="go" href="([^"]+)"/.exec(await res.text())![1]));
      expect(`${target.origin}${target.pathname}`).to.equal(`${fake.url}/auth`);
      expect([...target.searchParams]).to.deep.equal([
        ['response_type', 'code'],
        ['client_id', CLIENT],
        ['scope', 'shop_open_api'],
        ['redirect_uri', `${PUBLIC}/shansong/ss/authorized`],
        // the merchant travels in a single-use nonce kept by gatehouse (§7 trust), not in the URL
        ['state', target.searchParams.get('state')],
      ]);
      expect(target.searchParams.get('state')).to.match(/^[0-9a-f]{32}$/);
      expect(target.hash).to.equal('');

      const unknown = await fetch(`${node.url}/shansong/nope/authorize/${MERCHANT}`);
      expect(unknown.status).to.equal(404);
      expect(await unknown.json()).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
      expect((await fetch(`${node.url}/shansong/ss/authorize/${encodeURIComponent('a b<c>')}`)).status).to.equal(400);
      expect(counts()).to.deep.equal({ token: 0, refresh: 0, developer: 0, unknown: 0 });
    });

    it('authorized redirect: code → token at once, refresh token sealed, token seeded (no extra call), 302 with the query', async () => {
      const before = nowS();
      const res = await authorize();
      expect(res.status).to.equal(302);
      const location = new URL(res.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).to.equal('https://admin.example.com/ss');
      expect(location.searchParams.get('from')).to.equal('gh');
      expect(location.searchParams.get('state')).to.equal(MERCHANT);
      expect(location.searchParams.get('code')).to.match(/^ssc_/);
      expect(fake.count('oauth_token')).to.equal(1);

      const a = await authorizer();
      expect(a).to.include({ platform: 'shansong_app', owner_id: CLIENT, authorizer_id: MERCHANT });
      expect(Number(a.authorized)).to.equal(1);
      expect(Number(a.needs_reauth)).to.equal(0);
      const rt = ss.refreshTokenOf(CLIENT, MERCHANT)!;
      expect(SecretBox.isSealed(String(a.refresh_token))).to.equal(true);
      expect(String(a.refresh_token)).to.not.include(rt);
      expect(box.open(String(a.refresh_token))).to.equal(rt);
      const row = await tokenRow();
      expect(row.value).to.equal(ss.accessTokenOf(CLIENT, MERCHANT));

      const all = await Promise.all(Array.from({ length: 10 }, () => merchantToken()));
      expect(all.map((r) => r.returnCode)).to.deep.equal(Array(10).fill(0));
      const t = all[0].returnData;
      expect(Object.keys(t).sort()).to.deep.equal(['appId', 'expiresAt', 'merchantCode', 'token']);
      expect(t).to.include({ appId: CLIENT, merchantCode: MERCHANT, token: ss.accessTokenOf(CLIENT, MERCHANT) });
      expect(t.expiresAt).to.be.within(before + 7200 - 2, nowS() + 7200 + 2);
      expect(fake.isLive(t.token)).to.equal(true);
      expect(counts()).to.deep.equal({ token: 1, refresh: 0, developer: 0, unknown: 0 });
    });

    it('without redirectUrl a success page; a bad or missing code changes nothing; unknown codeName → 404', async () => {
      // another client: one client id belongs to one codeName (§6 trust)
      ss.client(CLIENT2, SECRET);
      expect(
        (
          await rpc('admin.app.put', {
            platform: 'shansong_app',
            codeName: 'plain',
            config: { appId: CLIENT2, secret: SECRET },
          })
        ).returnCode,
      ).to.equal(0);
      const ok = await authorize(MERCHANT2, 'plain');
      expect(ok.status).to.equal(200);
      expect(await ok.text()).to.include('授权成功');
      expect((await merchantToken({ codeName: 'plain', merchantCode: MERCHANT2 })).returnCode).to.equal(0);

      const state = async () =>
        JSON.stringify([
          await node.db.query('SELECT * FROM authorizers ORDER BY authorizer_id'),
          await node.db.query('SELECT token_key, value FROM tokens ORDER BY token_key'),
        ]);
      const before = await state();
      const bad = await fetch(`${node.url}/shansong/ss/authorized?code=ssc_unknown&state=${await nonce()}`, {
        redirect: 'manual',
      });
      expect(bad.status).to.equal(502);
      expect(await bad.text()).to.not.include('ssc_unknown');
      expect(
        (await fetch(`${node.url}/shansong/ss/authorized?state=${MERCHANT}`, { redirect: 'manual' })).status,
      ).to.equal(400);
      expect((await fetch(`${node.url}/shansong/ss/authorized?code=x`, { redirect: 'manual' })).status).to.equal(400);
      expect(
        (await fetch(`${node.url}/shansong/ss/authorized?code=x&state=a%20b`, { redirect: 'manual' })).status,
      ).to.equal(400);
      // a merchant code as the state (what the page used to send) is not a state gatehouse issued
      expect(
        (
          await fetch(`${node.url}/shansong/ss/authorized?code=${ss.code(CLIENT, MERCHANT)}&state=${MERCHANT}`, {
            redirect: 'manual',
          })
        ).status,
      ).to.equal(400);
      const unknown = await fetch(`${node.url}/shansong/nope/authorized?code=x&state=${MERCHANT}`, {
        redirect: 'manual',
      });
      expect(unknown.status).to.equal(404);
      expect(await unknown.json()).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
      expect(await state()).to.equal(before);

      // the platform unreachable: a page, never a 500
      fake.mode('oauth_token', { http: 503 });
      const down = await fetch(
        `${node.url}/shansong/ss/authorized?code=${ss.code(CLIENT, MERCHANT)}&state=${await nonce()}`,
        { redirect: 'manual' },
      );
      expect(down.status).to.equal(502);
    });
  });

  describe('shansong.merchant.token', () => {
    it('1014 for a merchant that never authorized, 1012 for an unknown codeName, 1003 for bad para; no upstream call', async () => {
      const never = await merchantToken();
      expect(never).to.include({ returnCode: 1014, returnMessage: 'NOT_READY' });
      expect((await merchantToken({ codeName: 'nope' })).returnCode).to.equal(1012);
      expect((await merchantToken({ force: 'true' })).returnCode).to.equal(1003);
      expect((await merchantToken({ merchantCode: 'a/b' })).returnCode).to.equal(1003);
      expect((await merchantToken({ extra: 1 })).returnCode).to.equal(1003);
      expect((await merchantToken({}, node.token('wechat.*'))).returnCode).to.equal(4003);
      expect((await merchantToken({}, node.token('shansong.*', ['ss']))).returnCode).to.equal(4003);
      expect((await merchantToken({}, node.token('shansong.*', [CLIENT, MERCHANT]))).returnCode).to.equal(1014);
      expect(counts()).to.deep.equal({ token: 0, refresh: 0, developer: 0, unknown: 0 });
    });

    it('force refreshes with the refresh token (signed), the rotated one is stored; force is bounded; invalidToken compares', async () => {
      expect((await authorize()).status).to.equal(302);
      const first = (await merchantToken()).returnData.token;
      const rt0 = ss.refreshTokenOf(CLIENT, MERCHANT)!;

      const forced = await Promise.all(Array.from({ length: 8 }, () => merchantToken({ force: true })));
      expect(forced.map((r) => r.returnCode)).to.deep.equal(Array(8).fill(0));
      const second = forced[0].returnData.token;
      expect(forced.every((r) => r.returnData.token === second)).to.equal(true);
      expect(second).to.not.equal(first);
      expect(second).to.equal(ss.accessTokenOf(CLIENT, MERCHANT));
      expect(fake.count('oauth_refresh_token')).to.equal(1);

      const rt1 = ss.refreshTokenOf(CLIENT, MERCHANT)!;
      expect(rt1).to.not.equal(rt0);
      expect(box.open(String((await authorizer()).refresh_token))).to.equal(rt1);
      expect((await tokenRow()).value).to.equal(second);

      // a second force within 30 s returns what the first produced
      expect((await merchantToken({ force: true })).returnData.token).to.equal(second);
      // invalidating a token that is not current changes nothing
      expect((await merchantToken({ invalidToken: first })).returnData.token).to.equal(second);
      expect(fake.count('oauth_refresh_token')).to.equal(1);

      // invalidating the current one refreshes once, however many ask at once — once the force's
      // 30 s budget has passed (§5.3: forces and invalidations share it; within it nothing refreshes)
      expect((await merchantToken({ invalidToken: second })).returnData.token).to.equal(second);
      expect(fake.count('oauth_refresh_token')).to.equal(1);
      await node.db.exec('UPDATE tokens SET forced_at = forced_at - 31000 WHERE forced_at IS NOT NULL');
      const inv = await Promise.all(Array.from({ length: 8 }, () => merchantToken({ invalidToken: second })));
      const third = inv[0].returnData.token;
      expect(third).to.not.equal(second);
      expect(inv.every((r) => r.returnCode === 0 && r.returnData.token === third)).to.equal(true);
      expect(fake.count('oauth_refresh_token')).to.equal(2);
      expect(box.open(String((await authorizer()).refresh_token))).to.equal(ss.refreshTokenOf(CLIENT, MERCHANT));

      // a platform that does not rotate: the stored refresh token stays
      ss.rotate = false;
      await node.db.exec('UPDATE tokens SET forced_at = forced_at - 31000 WHERE forced_at IS NOT NULL');
      const kept = ss.refreshTokenOf(CLIENT, MERCHANT);
      expect((await merchantToken({ invalidToken: third })).returnCode).to.equal(0);
      expect(box.open(String((await authorizer()).refresh_token))).to.equal(kept);

      const listed = await rpc('admin.token.list', { platform: 'shansong_app' });
      expect(JSON.stringify(listed)).to.not.include(third);
      expect(listed.returnData.tokens[0]).to.include({
        platform: 'shansong_app',
        codeName: 'ss',
        subject: `${CLIENT}:${MERCHANT}`,
        kind: 'merchant_access_token',
      });
    });

    it('a refresh token the platform rejects → 1014, merchant marked for re-authorization, no further upstream calls; a new authorization recovers', async () => {
      expect((await authorize()).status).to.equal(302);
      const current = (await merchantToken()).returnData.token;
      ss.revoke(CLIENT, MERCHANT);

      const rejected = await merchantToken({ invalidToken: current });
      expect(rejected).to.include({ returnCode: 1014, returnMessage: 'NOT_READY' });
      expect(fake.count('oauth_refresh_token')).to.equal(1);
      expect(Number((await authorizer()).needs_reauth)).to.equal(1);

      for (const para of [{}, { force: true }, { invalidToken: current }, {}]) {
        expect((await merchantToken(para)).returnCode).to.equal(1014);
      }
      const p = await proxy(`ss/${MERCHANT}/orderInfo`, '{"issOrderNo":"TDH1"}');
      expect(p.status).to.equal(503);
      expect(JSON.parse(p.text)).to.include({ returnCode: 1014, returnMessage: 'NOT_READY' });
      // nor does the background refresher try: a pass over the due tokens, finished, leaves it alone
      await node.gh.services.engine.scan();
      await until(() => node.gh.services.engine.inFlight === 0);
      expect(counts()).to.include({ refresh: 1, developer: 0 });

      expect((await authorize()).status).to.equal(302);
      expect(Number((await authorizer()).needs_reauth)).to.equal(0);
      const back = await merchantToken();
      expect(back.returnCode).to.equal(0);
      expect(back.returnData.token).to.equal(ss.accessTokenOf(CLIENT, MERCHANT));
      expect(fake.count('oauth_refresh_token')).to.equal(1);
    });

    it('the platform down: 1005 when no valid token exists, the stored token served while one does; never a secret in the log', async () => {
      expect((await authorize()).status).to.equal(302);
      const t = (await merchantToken()).returnData.token;
      fake.mode('oauth_refresh_token', { http: 502 });
      const served = await merchantToken({ force: true });
      expect(served.returnCode).to.equal(0);
      expect(served.returnData.token).to.equal(t);
      const inv = await merchantToken({ invalidToken: t });
      expect(inv.returnCode).to.equal(1005);
      fake.mode('oauth_refresh_token', 'garbage');
      expect((await merchantToken({ invalidToken: t })).returnCode).to.equal(1007);
      fake.mode('oauth_refresh_token', null);
      expect((await merchantToken({ invalidToken: t })).returnCode).to.equal(0);

      const log = fs.readFileSync(node.logFile, 'utf8');
      for (const secret of [SECRET, t, ss.refreshTokenOf(CLIENT, MERCHANT)!, ss.accessTokenOf(CLIENT, MERCHANT)!])
        expect(log).to.not.include(secret);
    });
  });

  describe('callback', () => {
    it('is forwarded to callbackUrl as received and answered {"status":200,"msg":""}; recorded as a push', async () => {
      const body = {
        issOrderNo: 'TDH2026041300954053',
        orderNo: 'O-1',
        status: 30,
        statusDesc: '待取货',
        subStatus: 0,
        courier: { name: '张三', mobile: '13800000000' },
        sendBackFee: 0,
      };
      const res = await fetch(`${node.url}/shansong/ss/callback`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      expect(await res.text()).to.equal('{"status":200,"msg":""}');
      await until(() => hook.got.length > 0);
      expect(hook.got).to.have.length(1);
      expect(hook.got[0]).to.deep.equal(body);
      expect(hook.types[0]).to.match(/^application\/json/);

      const pushes = await rpc('admin.push.list', { platform: 'shansong_app' });
      expect(pushes.returnCode).to.equal(0);
      expect(pushes.returnData.pushes).to.have.length(1);
      expect(pushes.returnData.pushes[0]).to.include({
        platform: 'shansong_app',
        codeName: 'ss',
        appId: CLIENT,
        verified: false,
        infoType: 'order_status_30',
      });
      expect(pushes.returnData.pushes[0].body).to.deep.equal(body);
    });

    it('not JSON → 400, > 64 KiB → 413, unknown codeName → 404; nothing forwarded or recorded', async () => {
      const post = (body: string, codeName = 'ss') =>
        fetch(`${node.url}/shansong/${codeName}/callback`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
      expect((await post('not json')).status).to.equal(400);
      expect((await post('[1,2]')).status).to.equal(400);
      expect((await post(JSON.stringify({ pad: 'x'.repeat(70_000) }))).status).to.equal(413);
      const unknown = await post('{"status":30}', 'nope');
      expect(unknown.status).to.equal(404);
      expect(await unknown.json()).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
      expect(await node.db.query('SELECT * FROM pushes')).to.have.length(0);
      // a valid callback after them: its forward is the first and only one to arrive
      expect((await post('{"issOrderNo":"TDH-after","status":20}')).status).to.equal(200);
      await until(() => hook.got.length > 0);
      expect(hook.raw).to.deep.equal(['{"issOrderNo":"TDH-after","status":20}']);
      expect(await node.db.query('SELECT info_type FROM pushes')).to.deep.equal([{ info_type: 'order_status_20' }]);
    });

    it('an unsigned callback with a status longer than the log column cannot fail the pushes logged beside it', async () => {
      // the push log's group commit writes concurrent pushes in one INSERT: a row MariaDB would refuse
      // (info_type is VARCHAR(64)) must not take the others down with it
      const post = (body: string) =>
        fetch(`${node.url}/shansong/ss/callback`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
      const long = 'x'.repeat(300);
      const answers = await Promise.all([
        post(JSON.stringify({ issOrderNo: 'TDH-long', status: long })),
        ...Array.from({ length: 10 }, (_, i) => post(JSON.stringify({ issOrderNo: `TDH-${i}`, status: 20 }))),
      ]);
      expect(answers.map((r) => r.status)).to.deep.equal(Array(11).fill(200));
      const rows = await node.db.query('SELECT info_type FROM pushes ORDER BY id');
      expect(rows).to.have.length(11);
      const types = rows.map((r) => String(r.info_type));
      expect(types.filter((t: string) => t === 'order_status_20')).to.have.length(10);
      expect(types.find((t: string) => t.startsWith('order_status_x'))).to.equal(`order_status_${long}`.slice(0, 64));
    });
  });

  describe('proxy /proxy/shansong/{codeName}/{merchantCode}/{path…}', () => {
    beforeEach(async () => {
      expect((await authorize()).status).to.equal(302);
      fake.reset();
      ss.calls.length = 0;
    });

    it('refuses: no or bad JWT → 401, scope or apps → 403, unknown codeName → 404; none reaches the platform', async () => {
      const body = '{"issOrderNo":"TDH1"}';
      const expectRefusal = async (r: { status: number; text: string }, status: number, returnCode: number) => {
        expect(r.status).to.equal(status);
        expect(JSON.parse(r.text)).to.include({ returnCode });
      };
      await expectRefusal(await proxy(`ss/${MERCHANT}/orderInfo`, body, null), 401, 4001);
      await expectRefusal(await proxy(`ss/${MERCHANT}/orderInfo`, body, 'not.a.jwt'), 401, 4001);
      await expectRefusal(
        await proxy(`ss/${MERCHANT}/orderInfo`, body, node.token('proxy.wechat_app shansong.*')),
        403,
        4003,
      );
      await expectRefusal(
        await proxy(`ss/${MERCHANT}/orderInfo`, body, node.token('proxy.shansong_app', ['other'])),
        403,
        4003,
      );
      await expectRefusal(
        await proxy(`ss/${MERCHANT}/orderInfo`, body, node.token('proxy.shansong_app', ['ss'])),
        403,
        4003,
      );
      const unknown = await proxy(`nope/${MERCHANT}/orderInfo`, body);
      expect(unknown.status).to.equal(404);
      expect(JSON.parse(unknown.text)).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
      // a merchant that never authorized
      const never = await proxy('ss/M-unknown/orderInfo', body);
      expect(never.status).to.equal(503);
      expect(JSON.parse(never.text)).to.include({ returnCode: 1014 });
      expect(counts()).to.deep.equal({ token: 0, refresh: 0, developer: 0, unknown: 0 });
      // with the right scope and apps it goes through
      const ok = await proxy(`ss/${MERCHANT}/orderInfo`, body, node.token('proxy.shansong_app', [CLIENT, MERCHANT]));
      expect(ok.status).to.equal(200);
    });

    it('`..`, encoded slashes, backslashes, absolute URLs, a missing path, a bad body → 400; over the limit → 413; never reaching the platform', async () => {
      const body = '{"a":"b"}';
      for (const path of [
        `ss/${MERCHANT}/../../oauth/refresh_token`,
        `ss/${MERCHANT}/%2e%2e/%2E%2E/oauth/token`,
        `ss/${MERCHANT}/orderInfo/..`,
        `ss/${MERCHANT}/a%2Fb`,
        `ss/${MERCHANT}/a%2fb`,
        `ss/${MERCHANT}/a%5Cb`,
        `ss/${MERCHANT}/a\\b`,
        `ss/${MERCHANT}/http://evil.example/x`,
        `ss/${MERCHANT}/https:%2F%2Fevil.example`,
        `ss/${MERCHANT}/./orderInfo`,
        `ss/${MERCHANT}/`,
        `ss/${MERCHANT}`,
      ]) {
        const r = await proxy(path, body);
        expect(r.status, path).to.equal(400);
        expect(JSON.parse(r.text), path).to.have.property('returnCode');
      }
      for (const bad of ['not json', '[1,2]', '"str"', '12', 'null']) {
        const r = await proxy(`ss/${MERCHANT}/orderInfo`, bad);
        expect(r.status, bad).to.equal(400);
        expect(JSON.parse(r.text)).to.deep.equal({ returnCode: 1009, returnMessage: 'REQUEST_IS_NOT_JSON' });
      }
      const big = JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) });
      const tooBig = await proxy(`ss/${MERCHANT}/orderCalculate`, big);
      expect(tooBig.status).to.equal(413);
      // announced length within the limit is not trusted either: a chunked body
      const chunked = await proxy(`ss/${MERCHANT}/orderCalculate`, big, tok, {
        'content-length': '',
        'transfer-encoding': 'chunked',
      });
      expect(chunked.status).to.equal(413);
      expect(counts()).to.deep.equal({ token: 0, refresh: 0, developer: 0, unknown: 0 });
      expect(ss.calls).to.have.length(0);
    });

    it('a good call: body → data (exactly), form-signed with the merchant token, query passed (system params never twice); the reply relayed verbatim', async () => {
      const body =
        '{"cityName":"北京市","sender":{"fromAddress":"博彦科技大厦","fromMobile":"13800000001"},"receiverList":[{"orderNo":"O-1","toLatitude":"40.043612"}],"bigNo":12345678901234567890}';
      const started = Date.now();
      const res = await proxy(`ss/${MERCHANT}/orderCalculate?foo=1&accessToken=evil&sign=x&clientId=other`, body);
      expect(res.status).to.equal(200);
      expect(ss.calls).to.have.length(1);
      const call = ss.calls[0];
      expect(call.api).to.equal('orderCalculate');
      expect(call.contentType).to.match(/^application\/x-www-form-urlencoded/);
      expect(Object.keys(call.form).sort()).to.deep.equal(['accessToken', 'clientId', 'data', 'sign', 'timestamp']);
      expect(call.form.data).to.equal(body);
      expect(call.form.clientId).to.equal(CLIENT);
      expect(call.form.accessToken).to.equal(ss.accessTokenOf(CLIENT, MERCHANT));
      expect(Number(call.form.timestamp)).to.be.within(started - 1000, Date.now() + 1000);
      expect(call.form.sign).to.match(/^[0-9A-F]{32}$/);
      expect(call.form.sign).to.equal(FakeShansong.sign(SECRET, call.form));
      expect(call.search).to.equal('?foo=1');

      const expected = `{"status":200, "msg":"success", "data":{"api":"orderCalculate", "merchant":"${MERCHANT}", "bigId":9007199254740993, "echo":${body}}}`;
      expect(res.text).to.equal(expected);
      expect(res.headers['x-shansong-trace']).to.equal('trace-1');
      expect(res.headers['content-type']).to.equal('application/json;charset=UTF-8');

      // no body: no data, signed without it
      const cities = await proxy(`ss/${MERCHANT}/openCitiesLists`, '');
      expect(cities.status).to.equal(200);
      expect(JSON.parse(cities.text)).to.deep.include({ status: 200 });
      expect(Object.keys(ss.calls[1].form).sort()).to.deep.equal(['accessToken', 'clientId', 'sign', 'timestamp']);
      expect(ss.calls[1].form.sign).to.equal(FakeShansong.sign(SECRET, ss.calls[1].form));
      expect(counts()).to.deep.equal({ token: 0, refresh: 0, developer: 2, unknown: 0 });

      // a path the platform does not know: its answer comes back as it is
      const unknownApi = await proxy(`ss/${MERCHANT}/noSuchApi`, '{}');
      expect(unknownApi.status).to.equal(404);
      expect(JSON.parse(unknownApi.text)).to.deep.equal({ errcode: 40066, errmsg: 'invalid url' });
    });

    it('a token the platform calls invalid is refreshed once (compare-and-refresh) and the call retried', async () => {
      const old = (await merchantToken()).returnData.token;
      fake.expireAll();
      const rt0 = ss.refreshTokenOf(CLIENT, MERCHANT);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => proxy(`ss/${MERCHANT}/orderInfo`, `{"issOrderNo":"TDH${i}"}`)),
      );
      expect(results.map((r) => r.status)).to.deep.equal(Array(6).fill(200));
      results.forEach((r, i) => expect(JSON.parse(r.text).data.echo).to.deep.equal({ issOrderNo: `TDH${i}` }));
      expect(fake.count('oauth_refresh_token')).to.equal(1);
      const fresh = (await merchantToken()).returnData.token;
      expect(fresh).to.not.equal(old);
      expect(ss.calls.every((c) => c.form.accessToken === fresh)).to.equal(true);
      expect(ss.refreshTokenOf(CLIENT, MERCHANT)).to.not.equal(rt0);
      expect(box.open(String((await authorizer()).refresh_token))).to.equal(ss.refreshTokenOf(CLIENT, MERCHANT));
      // at most one retry per call
      expect(fake.count('developer')).to.be.within(7, 12);
    });

    it('every Shansong call is in the upstream metrics: token exchange, refresh, the developer proxy (its status, HTTP errors, a timeout)', async () => {
      fake.expireAll();
      expect((await proxy(`ss/${MERCHANT}/orderInfo`, '{}')).status).to.equal(200);
      fake.mode('developer', { http: 503 });
      expect((await proxy(`ss/${MERCHANT}/orderInfo`, '{}')).status).to.equal(503);
      fake.mode('developer', 'stall');
      expect((await proxy(`ss/${MERCHANT}/orderInfo`, '{}')).status).to.equal(502);
      fake.mode('developer', null);
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const count = (api: string, errcode: string) =>
        Number(
          new RegExp(
            `^gatehouse_upstream_requests_total\\{platform="shansong",api="${api}",errcode="${errcode}"\\} (\\d+)$`,
            'm',
          ).exec(text)?.[1] ?? 0,
        );
      // the authorization of the beforeEach, and the refresh the expired token caused
      expect(count('oauth_token', '200')).to.equal(1);
      expect(count('oauth_refresh_token', '200')).to.equal(1);
      expect(count('developer', '401')).to.equal(1);
      expect(count('developer', '200')).to.equal(1);
      expect(count('developer', 'http_503')).to.equal(1);
      expect(count('developer', 'timeout')).to.equal(1);
      expect(text).to.match(/^gatehouse_upstream_duration_seconds_count\{platform="shansong",api="developer"\} 4$/m);
      expect(text).to.not.include('orderInfo');
    });

    it('platform failures: its non-2xx answer relayed as it came; unreachable → 502 envelope, never a 500', async () => {
      fake.mode('developer', { http: 503 });
      const down = await proxy(`ss/${MERCHANT}/orderInfo`, '{}');
      expect(down.status).to.equal(503);
      expect(JSON.parse(down.text)).to.deep.equal({ errcode: -1, errmsg: 'system error' });
      fake.mode('developer', 'stall');
      const stalled = await proxy(`ss/${MERCHANT}/orderInfo`, '{}');
      expect(stalled.status).to.equal(502);
      expect(JSON.parse(stalled.text)).to.deep.equal({ returnCode: 1005, returnMessage: 'UPSTREAM_UNREACHABLE' });
      fake.mode('developer', null);
      expect(fake.count('oauth_refresh_token')).to.equal(0);
    });
  });
});
