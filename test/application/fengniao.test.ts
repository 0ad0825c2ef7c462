import { expect } from 'chai';
import type BetterSqlite3 from 'better-sqlite3';
import crypto from 'node:crypto';
import http from 'node:http';
import {
  fengniaoCallbackSign,
  fengniaoInvokeSign,
  fengniaoRefreshSign,
  fengniaoTokenSign,
  verifyFengniaoCallback,
} from '../../application/platforms/fengniao/sign';
import { parseGrant } from '../../application/platforms/fengniao/service';
import { FakeFengniao, FN } from '../fake/fengniao';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { sink } from '../helpers/net';
import { until } from '../helpers/wait';

const APP = 'fn-app-0001';
const DEV = 'fn-dev-01';
const SECRET = 'fengniao-secret-0001';
const MID = '4434923';

const sha256 = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

/** a request with its path sent exactly as written (fetch would resolve `..` itself) */
function rawRequest(
  url: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path, method: opts.method ?? 'POST', headers: opts.headers },
      (res) => {
        let t = '';
        res.on('data', (d) => (t += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('Fengniao signatures (VECTORS.md)', () => {
  // secret SECRET, appId APPID, access token AT, merchant MID, ts 1600000000000, data {"a":"b"}
  it('invoke', () => {
    expect(fengniaoInvokeSign('SECRET', 'AT', 'APPID', '{"a":"b"}', 'MID', 1600000000000)).to.equal(
      '453bc04a468074fefd58d88fd8a833eeca7744ea59270f664db203dc15989a92',
    );
    expect(fengniaoInvokeSign('SECRET', 'AT', 'APPID', '{"a":"b"}', 'MID', '1600000000000')).to.equal(
      '453bc04a468074fefd58d88fd8a833eeca7744ea59270f664db203dc15989a92',
    );
  });

  it('token (code CODE)', () => {
    expect(fengniaoTokenSign('SECRET', 'APPID', 'CODE', 'MID', '1600000000000')).to.equal(
      'b9123e34c0e62634b14cdb7ca691380a29b04f862fe69b1967eac5bb9d076e10',
    );
  });

  it('refresh (refresh token RT)', () => {
    expect(fengniaoRefreshSign('SECRET', 'APPID', 'MID', 'RT', '1600000000000')).to.equal(
      'a51d5f7ee43e3da97e5b48ccc8bfae9fa55d470ad14954b0fb0dfade5a0a457e',
    );
  });

  it('callback check (no published vector: the §7 rule computed independently)', () => {
    const want = sha256('SECRETapp_id=APPID&business_data={"a":"b"}&timestamp=1600000000000');
    expect(fengniaoCallbackSign('SECRET', 'APPID', '{"a":"b"}', '1600000000000')).to.equal(want);
    expect(verifyFengniaoCallback('SECRET', 'APPID', '{"a":"b"}', '1600000000000', want)).to.equal(true);
    expect(verifyFengniaoCallback('SECRET', 'APPID', '{"a":"b"}', '1600000000000', want.toUpperCase())).to.equal(true);
    expect(verifyFengniaoCallback('SECRET', 'APPID', '{"a":"c"}', '1600000000000', want)).to.equal(false);
    expect(verifyFengniaoCallback('SECRET', 'APPID', '{"a":"b"}', '1600000000001', want)).to.equal(false);
    expect(verifyFengniaoCallback('SECRET', 'APPID', '{"a":"b"}', '1600000000000', 'short')).to.equal(false);
  });

  it('token replies: business_data as a string or an object, expire_in as a number or a numeric string', () => {
    const data = {
      app_id: 'A',
      merchant_id: 'M',
      access_token: 'AT',
      refresh_token: 'RT',
      expire_in: 31536000,
      re_expire_in: 32140800,
    };
    const want = { merchantId: 'M', accessToken: 'AT', expiresIn: 31536000, refreshToken: 'RT', reExpiresIn: 32140800 };
    expect(
      parseGrant('token', { code: '200', msg: 'success', sign: 'x', business_data: JSON.stringify(data) }),
    ).to.deep.equal(want);
    expect(parseGrant('token', { code: 200, msg: 'success', business_data: data })).to.deep.equal(want);
    const strings = { ...data, expire_in: '31536000', re_expire_in: '32140800' };
    expect(parseGrant('token', { code: '200', business_data: JSON.stringify(strings) })).to.deep.equal(want);
    expect(parseGrant('token', { code: '200', business_data: strings })).to.deep.equal(want);
    const err = (() => {
      try {
        parseGrant('token', { code: 'A0003', msg: 'code invalid', business_data: '' });
      } catch (e) {
        return e as { code: number; data: unknown };
      }
      return null;
    })();
    expect(err?.code).to.equal(40029);
    expect(err?.data).to.deep.equal({ platform: 'fengniao', errcode: 'A0003', errmsg: 'code invalid' });
    expect(() => parseGrant('token', { code: '200', business_data: '{not json' })).to.throw(/business_data/);
    expect(() =>
      parseGrant('token', { code: '200', business_data: { access_token: 'AT', expire_in: 'soon' } }),
    ).to.throw(/expire_in/);
  });
});

forEachDialect('Fengniao merchants', (dialect) => {
  let fake: FakePlatform;
  let fn: FakeFengniao;
  let node: TestNode;
  let tok: string;
  let hook: Awaited<ReturnType<typeof sink>>;

  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para, tok);
  const postJson = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${node.url}${path}`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json, headers: res.headers };
  };
  /** the authorize page, on to Fengniao's page, then the auth-callback Fengniao posts (its state echoed) */
  const authorize = async (merchantId = MID) => {
    const page = await (await fetch(`${node.url}/fengniao/fn/authorize`)).text();
    expect((await fetch(new URL(/href="([^"]+)"/.exec(page)![1].replace(/&amp;/g, '&')))).status).to.equal(200);
    return postJson('/fengniao/fn/auth-callback', fn.callbackBody(APP, merchantId));
  };
  const merchantRow = async (merchantId = MID) =>
    (
      await node.db.query(
        "SELECT * FROM authorizers WHERE platform = 'fengniao_app' AND owner_id = ? AND authorizer_id = ?",
        [APP, merchantId],
      )
    )[0];
  const tokenRow = async (merchantId = MID) =>
    (await node.db.query('SELECT * FROM tokens WHERE subject = ?', [`${APP}:${merchantId}`]))[0];
  /** writes to the node's database (the helper's SQLite connection is read-only) */
  const exec = async (sql: string, params: unknown[]) => {
    if (dialect === 'mariadb') return void (await node.db.query(sql, params));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Database = require('better-sqlite3') as typeof BetterSqlite3;
    const db = new Database(node.db.url.replace(/^sqlite:/, ''));
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare(sql).run(...(params as never[]));
    } finally {
      db.close();
    }
  };
  const pushes = async () => node.db.query("SELECT * FROM pushes WHERE platform = 'fengniao_app' ORDER BY id");
  const signedCallback = (businessData: string, opts: { secret?: string; appId?: string; ts?: string } = {}) => {
    const ts = opts.ts ?? String(Date.now());
    const appId = opts.appId ?? APP;
    return {
      app_id: appId,
      timestamp: ts,
      business_data: businessData,
      signature: sha256(`${opts.secret ?? SECRET}app_id=${appId}&business_data=${businessData}&timestamp=${ts}`),
    };
  };

  before(async () => {
    fake = await new FakePlatform().start();
    fn = new FakeFengniao(fake);
    fn.app(APP, SECRET);
    hook = await sink();
  });
  after(async () => {
    await fake?.stop();
    await hook?.close();
  });
  beforeEach(async () => {
    node = await startNode({
      dialect,
      fake,
      env: { GATEHOUSE_FENGNIAO_API: fake.url, GATEHOUSE_FENGNIAO_OPEN: fake.url, GATEHOUSE_PROXY_BODY_LIMIT: '2048' },
    });
    tok = node.token('*');
    expect(
      (
        await rpc('admin.app.put', {
          platform: 'fengniao_app',
          codeName: 'fn',
          config: { appId: APP, devId: DEV, secret: SECRET, callbackUrl: hook.url },
        })
      ).returnCode,
    ).to.equal(0);
    fake.reset();
    hook.clear();
    fn.invokes.length = 0;
    fn.businessDataAsObject = false;
    fn.numbersAsStrings = false;
    fn.invokeReply = undefined;
  });
  afterEach(async () => node?.close());

  describe('authorization', () => {
    it('authorize page: an HTML page to {FENGNIAO_OPEN}/app-auth?app_id=&dev_id=; unknown codeName → 404', async () => {
      const res = await fetch(`${node.url}/fengniao/fn/authorize`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
      const page = await res.text();
      const target = new URL(/href="([^"]+)"/.exec(page)![1].replace(/&amp;/g, '&'));
      expect(`${target.origin}${target.pathname}`).to.equal(`${fake.url}/app-auth`);
      expect(target.searchParams.get('app_id')).to.equal(APP);
      expect(target.searchParams.get('dev_id')).to.equal(DEV);
      // the single-use nonce Fengniao echoes to the auth-callback (§7 trust)
      expect(target.searchParams.get('state')).to.match(/^[0-9a-f]{32}$/);
      const auth = await (await fetch(target)).text();
      expect(auth).to.include(`<p id="app">${APP}</p>`).and.include(`<p id="dev">${DEV}</p>`);
      expect(fake.count('fengniao_app_auth', APP)).to.equal(1);
      const missing = await fetch(`${node.url}/fengniao/nope/authorize`);
      expect(missing.status).to.equal(404);
      expect(await missing.json()).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
    });

    it('auth-callback: code → token + refresh token at once, stored and seeded (no second call), callbackUrl notified', async () => {
      const res = await authorize();
      expect(res.status).to.equal(200);
      expect(res.json).to.deep.equal({ code: 200, msg: 'success' });
      expect(fake.count('fengniao_token', MID)).to.equal(1);
      const m = fn.merchant(APP, MID)!;
      const row = await merchantRow();
      expect(row).to.include({ refresh_token: m.refreshToken });
      expect(Number(row.authorized)).to.equal(1);
      expect(Number(row.needs_reauth)).to.equal(0);
      const info = JSON.parse(String(row.info));
      expect(info.reExpiresAt).to.be.closeTo(Date.now() + fn.rtLifetimeS * 1000, 10_000);
      expect(JSON.stringify(row.info)).to.not.include(m.refreshToken);
      expect((await tokenRow()).value).to.equal(m.accessToken);

      const t = await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID });
      expect(t.returnCode).to.equal(0);
      expect(t.returnData).to.deep.equal({
        appId: APP,
        merchantId: MID,
        token: m.accessToken,
        expiresAt: t.returnData.expiresAt,
      });
      expect(t.returnData.expiresAt).to.be.closeTo(Math.floor(Date.now() / 1000) + fn.atLifetimeS, 10);
      expect(fake.count('fengniao_token')).to.equal(1);
      expect(fake.count('fengniao_refresh')).to.equal(0);

      await until(() => hook.got.length >= 1);
      expect(hook.got).to.deep.equal([{ callback_business_type: 'authNotify', param: { merchant_id: MID } }]);
      const [push] = await pushes();
      expect(push).to.include({ code_name: 'fn', info_type: 'authNotify', app_id: MID });
      expect(String(push.body)).to.not.include('fncode_');
    });

    it('auth-callback as a form, and a platform answering business_data as an object with numeric strings', async () => {
      fn.businessDataAsObject = true;
      fn.numbersAsStrings = true;
      const code = fn.authCode(APP, '555');
      const res = await fetch(`${node.url}/fengniao/fn/auth-callback`, {
        method: 'POST',
        body: new URLSearchParams({ code, merchant_id: '555' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.status).to.equal(200);
      const t = await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: '555' });
      expect(t.returnData.token).to.equal(fn.merchant(APP, '555')!.accessToken);
      expect(t.returnData.expiresAt).to.be.closeTo(Math.floor(Date.now() / 1000) + fn.atLifetimeS, 10);
      expect(JSON.parse(String((await merchantRow('555')).info)).reExpiresAt).to.be.closeTo(
        Date.now() + fn.rtLifetimeS * 1000,
        10_000,
      );
      // and a refresh answered the same way
      const f = await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: '555', force: true });
      expect(f.returnCode).to.equal(0);
      expect(f.returnData.token).to.equal(fn.merchant(APP, '555')!.accessToken);
      expect(f.returnData.token).to.not.equal(t.returnData.token);
    });

    it('auth-callback refusals: a bad code, missing fields, an unknown codeName, an oversized body; nothing stored', async () => {
      const bad = await postJson('/fengniao/fn/auth-callback', { code: 'fncode_forged', merchant_id: MID });
      expect(bad.status).to.equal(503);
      expect(fake.count('fengniao_token')).to.equal(1);
      expect((await postJson('/fengniao/fn/auth-callback', { merchant_id: MID })).status).to.equal(400);
      expect((await postJson('/fengniao/fn/auth-callback', { code: 'x', merchant_id: '../x' })).status).to.equal(400);
      expect((await postJson('/fengniao/fn/auth-callback', 'not json')).status).to.equal(400);
      const unknown = await postJson('/fengniao/nope/auth-callback', { code: fn.authCode(APP, MID), merchant_id: MID });
      expect(unknown.status).to.equal(404);
      expect(unknown.json).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
      expect(
        (await postJson('/fengniao/fn/auth-callback', { code: 'x'.repeat(70_000), merchant_id: MID })).status,
      ).to.equal(413);
      expect(fake.count('fengniao_token')).to.equal(1);
      expect(await merchantRow()).to.equal(undefined);
      expect(await pushes()).to.deep.equal([]);
      // a valid auth-callback after them: its notification is the first and only one to arrive
      expect((await authorize()).status).to.equal(200);
      await until(() => hook.got.length >= 1);
      expect(hook.got).to.deep.equal([{ callback_business_type: 'authNotify', param: { merchant_id: MID } }]);
      expect((await pushes()).map((p) => p.info_type)).to.deep.equal(['authNotify']);
    });

    it('a repeated auth-callback (code already used) is answered success without changing anything', async () => {
      const code = fn.authCode(APP, MID);
      expect((await postJson('/fengniao/fn/auth-callback', { code, merchant_id: MID })).status).to.equal(200);
      const before = await merchantRow();
      expect((await postJson('/fengniao/fn/auth-callback', { code, merchant_id: MID })).status).to.equal(200);
      expect(await merchantRow()).to.deep.equal(before);
      expect(fake.count('fengniao_token')).to.equal(2);
    });

    it('with GATEHOUSE_MASTER_KEY the refresh token is stored sealed', async () => {
      await node.close();
      node = await startNode({
        dialect,
        fake,
        env: {
          GATEHOUSE_FENGNIAO_API: fake.url,
          GATEHOUSE_FENGNIAO_OPEN: fake.url,
          GATEHOUSE_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
        },
      });
      tok = node.token('*');
      await rpc('admin.app.put', {
        platform: 'fengniao_app',
        codeName: 'fn',
        config: { appId: APP, devId: DEV, secret: SECRET },
      });
      expect((await authorize()).status).to.equal(200);
      const rt = fn.merchant(APP, MID)!.refreshToken;
      expect(String((await merchantRow()).refresh_token)).to.not.include(rt);
      const f = await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID, force: true });
      expect(f.returnCode).to.equal(0);
      expect(fake.count('fengniao_refresh', MID)).to.equal(1);
      expect(String((await merchantRow()).refresh_token)).to.not.include(fn.merchant(APP, MID)!.refreshToken);
    });
  });

  describe('fengniao.merchant.token', () => {
    it('force → one refresh grant with the stored refresh token; the rotated refresh token is stored; force is bounded', async () => {
      await authorize();
      const first = fn.merchant(APP, MID)!;
      const t0 = await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID });
      const f = await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID, force: true });
      expect(f.returnCode).to.equal(0);
      const second = fn.merchant(APP, MID)!;
      expect(second.refreshToken).to.not.equal(first.refreshToken);
      expect(f.returnData.token).to.equal(second.accessToken).and.not.equal(t0.returnData.token);
      expect(fn.isLive(APP, MID, f.returnData.token)).to.equal(true);
      expect(fake.count('fengniao_refresh', MID)).to.equal(1);
      expect((await merchantRow()).refresh_token).to.equal(second.refreshToken);
      expect((await tokenRow()).value).to.equal(second.accessToken);
      // a second force within 30 s returns what the first produced
      const again = await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID, force: true });
      expect(again.returnData.token).to.equal(f.returnData.token);
      // compare-and-refresh: a stale invalidToken does not refresh
      const stale = await rpc('fengniao.merchant.token', {
        codeName: 'fn',
        merchantId: MID,
        invalidToken: t0.returnData.token,
      });
      expect(stale.returnData.token).to.equal(f.returnData.token);
      expect(fake.count('fengniao_refresh')).to.equal(1);
      // the current one does, once the force's 30 s budget has passed (§5.3: forces and invalidations share it)
      const within = await rpc('fengniao.merchant.token', {
        codeName: 'fn',
        merchantId: MID,
        invalidToken: f.returnData.token,
      });
      expect(within.returnData.token).to.equal(f.returnData.token);
      expect(fake.count('fengniao_refresh')).to.equal(1);
      await node.db.exec('UPDATE tokens SET forced_at = forced_at - 31000 WHERE forced_at IS NOT NULL');
      const inv = await rpc('fengniao.merchant.token', {
        codeName: 'fn',
        merchantId: MID,
        invalidToken: f.returnData.token,
      });
      expect(inv.returnData.token).to.equal(fn.merchant(APP, MID)!.accessToken).and.not.equal(f.returnData.token);
      expect(fake.count('fengniao_refresh')).to.equal(2);
      expect((await merchantRow()).refresh_token).to.equal(fn.merchant(APP, MID)!.refreshToken);
    });

    it('a merchant that never authorized → 1014; unknown codeName → 1012; bad para → 1003; no upstream call', async () => {
      expect(await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: '999' })).to.include({
        returnCode: 1014,
        returnMessage: 'NOT_READY',
      });
      expect(await rpc('fengniao.merchant.token', { codeName: 'nope', merchantId: MID })).to.include({
        returnCode: 1012,
      });
      expect(await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: '../1' })).to.include({
        returnCode: 1003,
      });
      expect(await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: 4434923 })).to.include({
        returnCode: 1003,
      });
      expect(await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID, force: 'true' })).to.include({
        returnCode: 1003,
      });
      const scoped = node.token('fengniao.merchant.token', ['other']);
      expect(await node.rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID }, scoped)).to.include({
        returnCode: 4003,
      });
      expect(await node.rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID })).to.include({
        returnCode: 4001,
      });
      expect(fake.count('fengniao_token') + fake.count('fengniao_refresh')).to.equal(0);
    });

    it('refresh token past its re-expiry → 1014 without any upstream call', async () => {
      await authorize();
      const t = await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID });
      await exec("UPDATE authorizers SET info = ? WHERE platform = 'fengniao_app'", [
        JSON.stringify({ reExpiresAt: Date.now() - 1000 }),
      ]);
      for (const para of [{}, { force: true }, { invalidToken: t.returnData.token }]) {
        expect(await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID, ...para })).to.include({
          returnCode: 1014,
        });
      }
      // and an expired access token is not refreshed either (nor by the background refresher)
      await exec('UPDATE tokens SET expires_at = ?, refresh_at = ? WHERE subject = ?', [
        Date.now() - 1000,
        Date.now() - 2000,
        `${APP}:${MID}`,
      ]);
      await node.gh.services.engine.scan();
      await until(() => node.gh.services.engine.inFlight === 0); // whatever the pass started has finished
      expect(await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID })).to.include({
        returnCode: 1014,
      });
      expect(fake.count('fengniao_refresh')).to.equal(0);
      // a new authorization makes the merchant usable again
      expect((await authorize()).status).to.equal(200);
      expect((await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID })).returnData.token).to.equal(
        fn.merchant(APP, MID)!.accessToken,
      );
    });

    it('Fengniao refusing the refresh token → 1014, the merchant marked, no further refresh attempts', async () => {
      await authorize();
      fn.revokeRefreshToken(APP, MID);
      const r = await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID, force: true });
      // the access token is still valid: served through the failed refresh (§5.5)
      expect(r.returnCode).to.equal(0);
      expect(fake.count('fengniao_refresh')).to.equal(1);
      expect(Number((await merchantRow()).needs_reauth)).to.equal(1);
      for (let i = 0; i < 3; i++) {
        expect(
          await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID, invalidToken: r.returnData.token }),
        ).to.include({ returnCode: 1014 });
      }
      expect(fake.count('fengniao_refresh')).to.equal(1);
      const tokens = await rpc('admin.token.list', { platform: 'fengniao_app' });
      expect(tokens.returnData.tokens[0].lastError).to.match(/1014|refresh token refused|NOT_READY/);
      expect(JSON.stringify(tokens)).to.not.include(r.returnData.token);
    });
  });

  describe('callback', () => {
    it('a correctly signed callback: recorded and business_data forwarded to callbackUrl; Fengniao answered success', async () => {
      const bd = JSON.stringify({
        callback_business_type: 'orderStatusNotify',
        param: { merchant_id: MID, order_id: 300000000012345, order_status: 2 },
      });
      const res = await postJson('/fengniao/fn/callback', signedCallback(bd, { ts: '1500000000000' }));
      expect(res.status).to.equal(200);
      expect(res.json).to.deep.equal({ code: 200, msg: 'success' });
      await until(() => hook.got.length >= 1);
      expect(hook.got).to.deep.equal([JSON.parse(bd)]);
      expect(hook.raw).to.deep.equal([bd]);
      const [push] = await pushes();
      expect(push).to.include({ info_type: 'orderStatusNotify', app_id: MID, code_name: 'fn' });
      expect(Number(push.verified)).to.equal(1);
      const listed = await rpc('admin.push.list', { platform: 'fengniao_app' });
      expect(listed.returnData.pushes[0].body).to.deep.equal(JSON.parse(bd));
    });

    it('business_data as an object (signed as compact JSON) and a form-encoded callback are accepted', async () => {
      const data = { callback_business_type: 'abnormalReportNotify', param: { merchant_id: MID } };
      const signed = signedCallback(JSON.stringify(data));
      expect((await postJson('/fengniao/fn/callback', { ...signed, business_data: data })).status).to.equal(200);
      const form = signedCallback(
        JSON.stringify({ callback_business_type: 'chainstoreStatusNotify', param: { merchant_id: MID } }),
      );
      const res = await fetch(`${node.url}/fengniao/fn/callback`, {
        method: 'POST',
        body: new URLSearchParams(form).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.status).to.equal(200);
      await until(() => hook.got.length >= 2);
      expect(hook.got.map((g) => g.callback_business_type).sort()).to.deep.equal([
        'abnormalReportNotify',
        'chainstoreStatusNotify',
      ]);
    });

    it('a wrong signature, another app_id, a missing signature → 403, nothing recorded or forwarded; unknown codeName → 404; > 64 KiB → 413', async () => {
      const bd = JSON.stringify({ callback_business_type: 'orderStatusNotify', param: { merchant_id: MID } });
      const good = signedCallback(bd);
      const cases = [
        { ...good, signature: good.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) },
        signedCallback(bd, { secret: 'other-secret' }),
        { ...good, business_data: bd.replace('orderStatusNotify', 'orderStatusNotifz') },
        { ...good, timestamp: String(Number(good.timestamp) + 1) },
        signedCallback(bd, { appId: 'another-app' }),
        { app_id: APP, timestamp: good.timestamp, business_data: bd },
        {},
      ];
      for (const c of cases) expect((await postJson('/fengniao/fn/callback', c)).status).to.equal(403);
      expect((await postJson('/fengniao/nope/callback', good)).status).to.equal(404);
      expect((await postJson('/fengniao/fn/callback', signedCallback('x'.repeat(70_000)))).status).to.equal(413);
      expect((await postJson('/fengniao/fn/callback', 'garbage')).status).to.equal(400);
      expect(await pushes()).to.deep.equal([]);
      // a valid callback after them: its forward is the first and only one to arrive
      const valid = JSON.stringify({
        callback_business_type: 'orderStatusNotify',
        param: { merchant_id: MID, order_id: 1 },
      });
      expect((await postJson('/fengniao/fn/callback', signedCallback(valid))).status).to.equal(200);
      await until(() => hook.got.length >= 1);
      expect(hook.raw).to.deep.equal([valid]);
      expect((await pushes()).map((p) => p.info_type)).to.deep.equal(['orderStatusNotify']);
    });
  });

  describe('POST /proxy/fengniao', () => {
    const proxyTok = () => node.token('proxy.fengniao_app');
    const call = (
      path: string,
      body: string,
      token: string | null = proxyTok(),
      headers: Record<string, string> = {},
    ) => postJson(path, body, { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers });

    it('refuses bad callers: no / bad JWT → 401, wrong scope or apps → 403, unknown codeName → 404; never reaching the platform', async () => {
      await authorize();
      const p = `/proxy/fengniao/fn/${MID}/getAmount`;
      const none = await call(p, '{}', null);
      expect(none.status).to.equal(401);
      expect(none.json).to.deep.equal({ returnCode: 4001, returnMessage: 'UNAUTHENTICATED' });
      expect((await call(p, '{}', 'not.a.jwt')).status).to.equal(401);
      expect((await call(p, '{}', node.token('proxy.fengniao_app', undefined, -10))).status).to.equal(401);
      const wrong = await call(p, '{}', node.token('proxy.wechat_app'));
      expect(wrong.status).to.equal(403);
      expect(wrong.json).to.deep.equal({ returnCode: 4003, returnMessage: 'FORBIDDEN' });
      expect((await call(p, '{}', node.token('proxy.fengniao_app', ['other']))).status).to.equal(403);
      const unknown = await call(`/proxy/fengniao/nope/${MID}/getAmount`, '{}');
      expect(unknown.status).to.equal(404);
      expect(unknown.json).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
      expect((await call(`/proxy/fengniao/nope/${MID}/getAmount`, '{}', null)).status).to.equal(401);
      expect(fake.count('fengniao_invoke')).to.equal(0);
      // the claim must cover the merchant too (§4 trust): the app alone is not enough
      expect((await call(p, '{}', node.token('proxy.fengniao_app', ['fn']))).status).to.equal(403);
      expect((await call(p, '{}', node.token('proxy.fengniao_app', ['fn', '3002']))).status).to.equal(403);
      expect(fake.count('fengniao_invoke')).to.equal(0);
      // allowed by apps claim naming the codeName or the appId, and the merchant
      expect((await call(p, '{}', node.token('proxy.fengniao_app', ['fn', MID]))).status).to.equal(200);
      expect((await call(p, '{}', node.token('proxy.*', [APP, MID]))).status).to.equal(200);
    });

    it('paths with .., encoded dots or slashes, backslashes or a scheme → 400; bad merchant id → 400; nothing reaches the platform', async () => {
      await authorize();
      const headers = { authorization: `Bearer ${proxyTok()}`, 'content-type': 'application/json' };
      for (const path of [
        `/proxy/fengniao/fn/${MID}/../../openapi/token`,
        `/proxy/fengniao/fn/${MID}/%2e%2e/%2e%2e/openapi/token`,
        `/proxy/fengniao/fn/${MID}/a%2F..%2F..%2Fopenapi%2Ftoken`,
        `/proxy/fengniao/fn/${MID}/a%5cb`,
        `/proxy/fengniao/fn/${MID}/http:%2F%2Fevil.example.com`,
        `/proxy/fengniao/fn/${MID}/http:`,
        `/proxy/fengniao/fn/${MID}/`,
        `/proxy/fengniao/fn/${MID}`,
        `/proxy/fengniao/fn/..%2F${MID}/getAmount`,
        `/proxy/fengniao/fn/${MID}%2F..%2F1/getAmount`,
      ]) {
        const res = await rawRequest(node.url, path, { headers, body: '{}' });
        expect(res.status, path).to.equal(400);
        expect(JSON.parse(res.text).returnCode, path).to.be.oneOf([1003]);
      }
      expect(fake.count('fengniao_invoke')).to.equal(0);
      expect(fake.count('unknown')).to.equal(0);
    });

    it('a body over GATEHOUSE_PROXY_BODY_LIMIT → 413; a body that is not JSON → 400; neither reaches the platform', async () => {
      await authorize();
      const big = JSON.stringify({ pad: 'x'.repeat(3000) });
      const res = await call(`/proxy/fengniao/fn/${MID}/createOrder`, big);
      expect(res.status).to.equal(413);
      expect(res.json).to.deep.equal({ returnCode: 1009, returnMessage: 'REQUEST_IS_NOT_JSON' });
      // chunked, no content-length: refused while reading
      const chunked = await new Promise<number>((resolve, reject) => {
        const u = new URL(node.url);
        const req = http.request(
          {
            host: u.hostname,
            port: u.port,
            path: `/proxy/fengniao/fn/${MID}/createOrder`,
            method: 'POST',
            headers: { authorization: `Bearer ${proxyTok()}`, 'transfer-encoding': 'chunked' },
          },
          (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 4; i++) req.write('{"a":"' + 'y'.repeat(1000) + '"}');
        req.end();
      });
      expect(chunked).to.equal(413);
      const notJson = await call(`/proxy/fengniao/fn/${MID}/createOrder`, 'a=1&b=2');
      expect(notJson.status).to.equal(400);
      expect(fake.count('fengniao_invoke')).to.equal(0);
    });

    it('a good call: signed with the merchant token, business_data = the body exactly, the answer relayed verbatim', async () => {
      await authorize();
      const body = '{"partner_order_code":"P-1","order_id":300000000012345678,"note":"蜂鸟 \\u00e9","items":[1,2]}';
      const res = await call(`/proxy/fengniao/fn/${MID}/preCreateOrder`, body);
      expect(res.status).to.equal(200);
      expect(fn.invokes).to.have.length(1);
      const seen = fn.invokes[0];
      expect(seen.api).to.equal('preCreateOrder');
      expect(seen.payload.business_data).to.equal(body);
      expect(seen.payload).to.include({
        app_id: APP,
        merchant_id: MID,
        version: '1.0',
        access_token: fn.merchant(APP, MID)!.accessToken,
      });
      expect(String(seen.payload.timestamp)).to.match(/^\d{13}$/);
      expect(res.text).to.equal(seen.reply);
      expect(res.json.code).to.equal('200');
      expect(res.headers.get('x-fake-platform')).to.equal('fengniao');
      expect(res.headers.get('content-type')).to.equal('application/json;charset=UTF-8');
      // the platform's business errors come back as they are too
      fn.invokeReply = () => ({ code: 'B0101', msg: '门店不存在' });
      const err = await call(`/proxy/fengniao/fn/${MID}/chainstoreQuery`, '{"chain_store_id":1}');
      expect(err.status).to.equal(200);
      expect(err.json).to.include({ code: 'B0101', msg: '门店不存在' });
      expect(err.text).to.equal(fn.invokes[1].reply);
      // an empty body is sent as {}
      fn.invokeReply = undefined;
      expect((await call(`/proxy/fengniao/fn/${MID}/getAmount`, '')).status).to.equal(200);
      expect(fn.invokes[2].payload.business_data).to.equal('{}');
      expect(fake.count('fengniao_invoke', MID)).to.equal(3);
      expect(fake.count('fengniao_refresh')).to.equal(0);
    });

    it('the platform answering business_data as an object is relayed as it came', async () => {
      await authorize();
      fn.businessDataAsObject = true;
      const res = await call(`/proxy/fengniao/fn/${MID}/getOrderDetail`, '{"partner_order_code":"P-2"}');
      expect(res.status).to.equal(200);
      expect(res.json.business_data).to.deep.equal({ api: 'getOrderDetail', received: { partner_order_code: 'P-2' } });
      expect(res.text).to.equal(fn.invokes[0].reply);
    });

    it('Fengniao saying the access token is invalid → compare-and-refresh once, retried with the new token', async () => {
      await authorize();
      fn.revokeAccessToken(APP, MID);
      const res = await call(`/proxy/fengniao/fn/${MID}/getAmount`, '{}');
      expect(res.status).to.equal(200);
      expect(res.json.code).to.equal('200');
      expect(fake.count('fengniao_invoke')).to.equal(2);
      expect(fake.count('fengniao_refresh')).to.equal(1);
      expect(fn.invokes.map((i) => JSON.parse(i.reply).code)).to.deep.equal([FN.ACCESS_TOKEN_INVALID, FN.OK]);
      expect(fn.invokes[1].payload.access_token).to.equal(fn.merchant(APP, MID)!.accessToken);
      expect((await merchantRow()).refresh_token).to.equal(fn.merchant(APP, MID)!.refreshToken);
      // within 30 s of that refresh another refusal refreshes nothing (§5.3): relayed as Fengniao said it
      fn.invokeReply = () => ({ code: FN.ACCESS_TOKEN_EXPIRED, msg: 'access_token expired' });
      const within = await call(`/proxy/fengniao/fn/${MID}/getAmount`, '{}');
      expect(within.json.code).to.equal(FN.ACCESS_TOKEN_EXPIRED);
      expect(fake.count('fengniao_invoke')).to.equal(3);
      expect(fake.count('fengniao_refresh')).to.equal(1);
      // later: at most one retry, and a token refused again is relayed as Fengniao said it
      await node.db.exec('UPDATE tokens SET forced_at = forced_at - 31000 WHERE forced_at IS NOT NULL');
      const again = await call(`/proxy/fengniao/fn/${MID}/getAmount`, '{}');
      expect(again.json.code).to.equal(FN.ACCESS_TOKEN_EXPIRED);
      expect(fake.count('fengniao_invoke')).to.equal(5);
      expect(fake.count('fengniao_refresh')).to.equal(2);
    });

    it('no secret, code, access or refresh token ever reaches the log', async () => {
      await authorize();
      const first = fn.merchant(APP, MID)!;
      await rpc('fengniao.merchant.token', { codeName: 'fn', merchantId: MID, force: true });
      fn.revokeAccessToken(APP, MID);
      await call(`/proxy/fengniao/fn/${MID}/getAmount`, '{}');
      fn.revokeRefreshToken(APP, MID);
      await rpc('fengniao.merchant.token', {
        codeName: 'fn',
        merchantId: MID,
        invalidToken: fn.merchant(APP, MID)!.accessToken,
      });
      const forged = 'fncode_forged_0123456789';
      await postJson('/fengniao/fn/auth-callback', { code: forged, merchant_id: '888' });
      await postJson('/fengniao/fn/callback', signedCallback('{}', { secret: 'wrong' }));
      const log = (await import('node:fs')).readFileSync(node.logFile, 'utf8');
      expect(log).to.include('fengniao');
      for (const secret of [
        SECRET,
        forged,
        first.accessToken,
        first.refreshToken,
        fn.merchant(APP, MID)!.accessToken,
        'fnat_',
        'fnrt_',
      ]) {
        expect(log).to.not.include(secret);
      }
    });

    it('every Fengniao call is in the upstream metrics: the grants, the invoke proxy (its answer code, a timeout)', async () => {
      await authorize();
      fn.revokeAccessToken(APP, MID);
      expect((await call(`/proxy/fengniao/fn/${MID}/getAmount`, '{}')).status).to.equal(200);
      fn.invokeReply = () => ({ code: 'B0101', msg: '门店不存在' });
      expect((await call(`/proxy/fengniao/fn/${MID}/chainstoreQuery`, '{"chain_store_id":1}')).status).to.equal(200);
      fn.invokeReply = undefined;
      fake.mode('fengniao_invoke', 'stall');
      try {
        expect((await call(`/proxy/fengniao/fn/${MID}/getAmount`, '{}')).status).to.equal(502);
      } finally {
        fake.mode('fengniao_invoke', null);
      }
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const count = (api: string, errcode: string) =>
        Number(
          new RegExp(
            `^gatehouse_upstream_requests_total\\{platform="fengniao",api="${api}",errcode="${errcode}"\\} (\\d+)$`,
            'm',
          ).exec(text)?.[1] ?? 0,
        );
      expect(count('token', '200')).to.equal(1);
      expect(count('refreshToken', '200')).to.equal(1);
      expect(count('invoke', FN.ACCESS_TOKEN_INVALID)).to.equal(1);
      expect(count('invoke', '200')).to.equal(1);
      expect(count('invoke', 'B0101')).to.equal(1);
      expect(count('invoke', 'timeout')).to.equal(1);
      expect(text).to.match(/^gatehouse_upstream_duration_seconds_count\{platform="fengniao",api="invoke"\} 4$/m);
      // the path of a proxied call is never a label (unbounded, and it may carry anything)
      expect(text).to.not.include('getAmount');
    });

    it('an unauthorized merchant → 503 NOT_READY; the platform unreachable → 502; never a 500', async () => {
      const nobody = await call(`/proxy/fengniao/fn/777/getAmount`, '{}');
      expect(nobody.status).to.equal(503);
      expect(nobody.json).to.include({ returnCode: 1014, returnMessage: 'NOT_READY' });
      await authorize();
      fake.mode('fengniao_invoke', 'stall');
      try {
        const stalled = await call(`/proxy/fengniao/fn/${MID}/getAmount`, '{}');
        expect(stalled.status).to.equal(502);
        expect(stalled.json).to.include({ returnCode: 1005 });
      } finally {
        fake.mode('fengniao_invoke', null);
      }
      expect(fake.count('fengniao_invoke')).to.equal(1);
    });
  });
});
