/**
 * Issue 9 as a table: every attack the hostile tester reported, in its simplest form, against one
 * real gatehouse (SQLite) and the fake platforms, each asserting the safe outcome: the exact answer,
 * no call to the platform where nothing may be exchanged, the store unchanged. The per-item suites
 * (test/security/*.test.ts, test/application/tokens.test.ts) cover MariaDB, several nodes and the
 * variations; this file is the checklist.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start } from '../../application';
import { signCaller } from '../../system/callers';
import { configFromEnv } from '../../system/config';
import { createLogger } from '../../system/log';
import { FakeFengniao } from '../fake/fengniao';
import { FakePlatform } from '../fake/platform';
import { installShansong, type FakeShansong } from '../fake/shansong';
import { FakeWechatTp } from '../fake/wechat-tp';
import { cli, freePort } from '../helpers/cli';
import { freshDatabase } from '../helpers/db';
import { JWT_SECRET, startNode, type TestNode } from '../helpers/gatehouse';
import { externalAddress, sink, thief } from '../helpers/net';
import { skipBecause } from '../helpers/skip';
import { descendants, launch, stillAlive } from '../helpers/process-tree';
import { signedPush, xml } from '../helpers/push';
import { inOneSecond, until } from '../helpers/wait';
import fengniao from '../../application/platforms/fengniao';
import shansong from '../../application/platforms/shansong';

const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const SHOP = 'wxshop0000issue9';
const CORP = 'wwcorp0000issue9';
const COMPONENT = 'wxcomponentissue9';
const TP_SECRET = 'component-secret-i9';
const TP_TOKEN = 'push-token-i9';
const FN_APP = 'fn-app-issue9';
const SS_CLIENT = 'ss000000issue9';
const PAGE_LIMIT = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowS = () => Math.floor(Date.now() / 1000);
const payloadOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;

/** what every row gets: the shared node, the fakes and a few ways to drive them */
interface Env {
  node: TestNode;
  fake: FakePlatform;
  wx: FakeWechatTp;
  fn: FakeFengniao;
  ss: FakeShansong;
  hook: Awaited<ReturnType<typeof sink>>;
  stolen: Awaited<ReturnType<typeof thief>>;
  /** a caller token with scope "*" */
  root: string;
  ctx: Mocha.Context;
}

/** every app row, as stored */
const appRows = (env: Env) =>
  env.node.db.query('SELECT platform, code_name, app_id, config, updated_at FROM apps ORDER BY platform, code_name');
/** what a callback may change */
const pushState = async (env: Env) =>
  JSON.stringify(
    await Promise.all(
      ['tickets', 'authorizers', 'tokens', 'pushes'].map((t) => env.node.db.query(`SELECT * FROM ${t}`)),
    ),
  );
/** POSTs a signed WeChat TP push (as WeChat does) to the events route or a messages route */
async function wxPush(
  env: Env,
  inner: string,
  route = '/wechat-tp/tp/events',
  signed = signedPush(TP_TOKEN, AES, COMPONENT, inner),
) {
  const res = await fetch(`${env.node.url}${route}?${signed.query}`, {
    method: 'POST',
    body: signed.body,
    headers: { 'content-type': 'text/xml' },
  });
  return { status: res.status, text: await res.text() };
}
const proxy = (env: Env, route: string, token: string, method = 'GET', body?: string) =>
  fetch(`${env.node.url}${route}`, {
    method,
    body,
    redirect: 'manual',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
const FORBIDDEN = { returnCode: 4003, returnMessage: 'FORBIDDEN' };
const NO_APP = { returnCode: 1012, returnMessage: 'NO_APP' };

interface Attack {
  item: string;
  attack: string;
  run(env: Env): Promise<void>;
}

const ATTACKS: Attack[] = [
  {
    item: '1',
    attack:
      "a caller limited to apps ['mine'] puts wechat_app 'mine' with the appId of 'shop' and reaches shop's token, ticket and logins",
    async run(env) {
      const { node, fake } = env;
      const attacker = node.token('admin.app.put wechat.app.* qcloud.mimi.* proxy.wechat_app', ['mine']);
      const before = await appRows(env);
      const r = await node.rpc(
        'admin.app.put',
        {
          platform: 'wechat_app',
          codeName: 'mine',
          config: { appId: SHOP, secret: 'wrong-secret', loginDurationDays: 1 },
        },
        attacker,
      );
      expect(r).to.deep.equal({
        returnCode: 1003,
        returnMessage: 'PARA_ERROR',
        returnData: {
          errors: [{ path: '/config/appId', message: `appId ${SHOP} is already configured as codeName "shop"` }],
        },
        version: 1,
        componentName: 'MA',
      });
      expect(await appRows(env)).to.deep.equal(before);
      expect(await node.rpc('wechat.app.token', { codeName: 'mine' }, attacker)).to.deep.include(NO_APP);
      expect(await node.rpc('wechat.app.ticket', { codeName: 'mine' }, attacker)).to.deep.include(NO_APP);
      const proxied = await proxy(env, '/proxy/wechat-app/mine/cgi-bin/get_api_domain_ip', attacker);
      expect(proxied.status).to.equal(404);
      expect(await proxied.json()).to.deep.equal(NO_APP);
      expect(fake.count('stable_token') + fake.count('token') + fake.count('getticket')).to.equal(0);
      // shop's logins still go upstream with shop's own secret (the fake insists on it), with shop's lifetime
      const { code, openid } = fake.code({ appid: SHOP });
      const login = await node.rpc('qcloud.cam.id_skey', { code, appid: SHOP });
      expect(login.returnCode).to.equal(0);
      expect(login.returnData).to.include({ appid: SHOP, duration: 30 * 86_400 });
      expect(fake.count('jscode2session', SHOP)).to.equal(1);
      expect(
        await node.db.query('SELECT appid, openid FROM sessions WHERE id = ?', [login.returnData.id]),
      ).to.deep.equal([{ appid: SHOP, openid }]);
    },
  },
  {
    item: '1',
    attack:
      "the same for wecom_corp: a caller limited to ['hr-copy'] puts 'hr-copy' with the corpId + agentId of 'hr' and proxies with it",
    async run(env) {
      const { node, fake } = env;
      const attacker = node.token('admin.app.put wecom.corp.* proxy.wecom_corp', ['hr-copy']);
      const before = await appRows(env);
      const r = await node.rpc(
        'admin.app.put',
        {
          platform: 'wecom_corp',
          codeName: 'hr-copy',
          config: { corpId: CORP, agentId: '1000002', secret: 'wrong-secret' },
        },
        attacker,
      );
      expect(r).to.deep.equal({
        returnCode: 1003,
        returnMessage: 'PARA_ERROR',
        returnData: {
          errors: [
            {
              path: '/config/corpId',
              message: `corpId:agentId ${CORP}:1000002 is already configured as codeName "hr"`,
            },
          ],
        },
        version: 1,
        componentName: 'MA',
      });
      expect(await appRows(env)).to.deep.equal(before);
      expect(await node.rpc('wecom.corp.token', { codeName: 'hr-copy' }, attacker)).to.deep.include(NO_APP);
      const proxied = await proxy(env, '/proxy/wecom-corp/hr-copy/cgi-bin/user/list', attacker);
      expect(proxied.status).to.equal(404);
      expect(await proxied.json()).to.deep.equal(NO_APP);
      expect(fake.count('gettoken')).to.equal(0);
    },
  },
  {
    item: '2',
    attack: 'a caller with apps [fn, 3001] proxies to Fengniao as merchant 3002',
    async run(env) {
      const { node, fake, fn } = env;
      const app = await node.gh.services.apps.require('fengniao_app', 'fn');
      for (const m of ['3001', '3002'])
        await node.gh.services.parts(fengniao).authorize(app, fn.authCode(FN_APP, m), m);
      fake.reset();
      const caller = node.token('proxy.fengniao_app', ['fn', '3001']);
      const res = await proxy(env, '/proxy/fengniao/fn/3002/getAmount', caller, 'POST', '{}');
      expect(res.status).to.equal(403);
      expect(await res.json()).to.deep.equal(FORBIDDEN);
      expect(fake.count('fengniao_invoke')).to.equal(0);
      // the claim does cover its own merchant
      expect((await proxy(env, '/proxy/fengniao/fn/3001/getAmount', caller, 'POST', '{}')).status).to.equal(200);
      expect([fake.count('fengniao_invoke', '3001'), fake.count('fengniao_invoke', '3002')]).to.deep.equal([1, 0]);
    },
  },
  {
    item: '3',
    attack:
      'a store rotated from clear values with `secrets rotate --new-key K1`, then one start with a wrong key, locks K1 out',
    async run(env) {
      env.ctx.timeout(60_000);
      const db = await freshDatabase('sqlite');
      try {
        // a store written without a key: generated JWT secret and an app secret in clear
        const clear = await startNode({ dialect: 'sqlite', db, env: { GATEHOUSE_JWT_SECRET: '' } });
        expect(
          (
            await clear.rpc(
              'admin.app.put',
              { platform: 'toutiao_app', codeName: 'tt', config: { appId: 'tt-issue9', secret: 'clear-secret-9' } },
              clear.token(),
            )
          ).returnCode,
        ).to.equal(0);
        await clear.close();
        const k1 = crypto.randomBytes(32).toString('base64');
        const rotated = cli(['secrets', 'rotate', '--new-key', k1], {
          GATEHOUSE_DATABASE_URL: db.url,
          GATEHOUSE_LOG_LEVEL: 'warn',
        });
        expect(rotated.status, rotated.stderr).to.equal(0);
        const stored = async () => [
          await db.query('SELECT k, v FROM meta ORDER BY k'),
          await db.query('SELECT code_name, config FROM apps'),
        ];
        const before = await stored();
        const boot = (key: string) =>
          start(
            configFromEnv({
              GATEHOUSE_DATABASE_URL: db.url,
              GATEHOUSE_PORT: '0',
              GATEHOUSE_HOST: '127.0.0.1',
              GATEHOUSE_MASTER_KEY: key,
            }),
            createLogger('silent'),
          );
        const wrong = await boot(crypto.randomBytes(32).toString('base64')).then(
          async (gh) => (await gh.close(), 'started'),
          (e: Error) => e.message,
        );
        expect(wrong).to.match(/wrong key/);
        expect(await stored()).to.deep.equal(before);
        const gh = await boot(k1);
        try {
          expect((await gh.services.apps.get('toutiao_app', 'tt'))?.config.secret).to.equal('clear-secret-9');
        } finally {
          await gh.close();
        }
      } finally {
        await db.drop();
      }
    },
  },
  {
    item: '4',
    attack:
      "four bodies '<xml>' + '<a'.repeat(32700) at once to /wechat-tp/{code}/events stall /healthz before any signature check",
    async run(env) {
      const { node } = env;
      const before = await pushState(env);
      const body = '<xml>' + '<a'.repeat(32700);
      const query = `timestamp=${nowS()}&nonce=n0nce&encrypt_type=aes&msg_signature=${'0'.repeat(40)}`;
      // /healthz asked again and again while the four are in flight (the bug blocked the loop ~0.7 s per
      // body, in every round); a loaded machine may preempt any one round, so the best of three is judged
      let best = Infinity;
      let count = 0;
      for (let round = 0; round < 3 && best >= 250; round++) {
        let done = false;
        const attack = Promise.all(
          Array.from({ length: 4 }, () =>
            fetch(`${node.url}/wechat-tp/tp/events?${query}`, {
              method: 'POST',
              body,
              headers: { 'content-type': 'text/xml' },
            }).then(async (r) => (await r.text(), r.status)),
          ),
        ).finally(() => (done = true));
        const probes: number[] = [];
        do {
          const t = performance.now();
          const res = await fetch(`${node.url}/healthz`);
          await res.text();
          expect(res.status).to.equal(200);
          probes.push(performance.now() - t);
        } while (!done);
        expect(await attack).to.deep.equal([400, 400, 400, 400]);
        if (Math.max(...probes) < best) [best, count] = [Math.max(...probes), probes.length];
      }
      expect(best, `slowest of ${count} /healthz (the best of up to three rounds), ms`).to.be.below(250);
      expect(await pushState(env)).to.equal(before);
    },
  },
  {
    item: '5',
    attack: "/shansong/{code}/authorized?code=ANY&state=<merchant> overwrites that merchant's authorization",
    async run(env) {
      const { node, fake, ss } = env;
      const app = await node.gh.services.apps.require('shansong_app', 'ss');
      await node.gh.services.parts(shansong).authorize(app, 'victim-5', ss.code(SS_CLIENT, 'victim-5'));
      fake.reset();
      const rows = () =>
        node.db.query("SELECT * FROM authorizers WHERE platform = 'shansong_app' ORDER BY authorizer_id");
      const before = await rows();
      // a genuine code of the attacker's own Shansong account, with the victim's merchant code as state
      const res = await fetch(
        `${node.url}/shansong/ss/authorized?code=${ss.code(SS_CLIENT, 'attacker-5')}&state=victim-5`,
        { redirect: 'manual' },
      );
      expect(res.status).to.equal(400);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
      expect(await res.text()).to.include('Invalid or expired authorization');
      expect(fake.count('oauth_token')).to.equal(0);
      expect(await rows()).to.deep.equal(before);
    },
  },
  {
    item: '6',
    attack:
      'unauthorized (CreateTime T−100), then authorized (T−50), then a replay of the first leaves the authorizer unauthorized',
    async run(env) {
      const { node, wx, root } = env;
      const AUTHORIZER = 'wxauthorizer6i9';
      const T = nowS();
      const ok = { status: 200, text: 'success' };
      const first = signedPush(
        TP_TOKEN,
        AES,
        COMPONENT,
        xml({ AppId: COMPONENT, CreateTime: T - 100, InfoType: 'unauthorized', AuthorizerAppid: AUTHORIZER }),
      );
      const authorized = xml({
        AppId: COMPONENT,
        CreateTime: T - 50,
        InfoType: 'authorized',
        AuthorizerAppid: AUTHORIZER,
        AuthorizationCode: wx.authorizationCode(COMPONENT, AUTHORIZER),
        AuthorizationCodeExpiredTime: T + 3600,
        PreAuthCode: 'pre',
      });
      const token = () => node.rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER }, root);
      expect(await wxPush(env, '', '/wechat-tp/tp/events', first)).to.deep.equal(ok);
      expect(await wxPush(env, authorized)).to.deep.equal(ok);
      expect((await token()).returnCode).to.equal(0);
      expect(await wxPush(env, '', '/wechat-tp/tp/events', first)).to.deep.equal(ok); // the replay, byte for byte
      const after = await token();
      expect(after.returnCode).to.equal(0);
      expect(after.returnData.token).to.be.a('string');
      const [row] = await node.db.query('SELECT authorized, last_event_at FROM authorizers WHERE authorizer_id = ?', [
        AUTHORIZER,
      ]);
      expect(row).to.deep.equal({ authorized: 1, last_event_at: (T - 50) * 1000 });
    },
  },
  {
    item: '7',
    attack:
      'six invalidToken calls, and six proxy calls answered 40001, each refresh the token (6 stable_token force_refresh calls)',
    async run(env) {
      const { node, fake, root } = env;
      const A = 'wxbudgetrpc00i9';
      const B = 'wxbudgetproxyi9';
      fake.app(A, 'budget-secret');
      fake.app(B, 'budget-secret');
      for (const [codeName, appId] of [
        ['budget-rpc', A],
        ['budget-proxy', B],
      ]) {
        expect(
          (
            await node.rpc(
              'admin.app.put',
              { platform: 'wechat_app', codeName, config: { appId, secret: 'budget-secret' } },
              root,
            )
          ).returnCode,
        ).to.equal(0);
      }
      const refreshes = (appId: string) => fake.count('stable_token', appId) + fake.count('token', appId);
      // invalidToken: each call reports the token it was just given
      let current = (await node.rpc('wechat.app.token', { codeName: 'budget-rpc' }, root)).returnData.token;
      for (let i = 0; i < 6; i++) {
        const r = await node.rpc('wechat.app.token', { codeName: 'budget-rpc', invalidToken: current }, root);
        expect(r.returnCode).to.equal(0);
        current = r.returnData.token;
      }
      expect(refreshes(A), 'the cold fetch + one refresh').to.equal(2);
      // the proxies' 40001 path: the platform calls every token invalid
      fake.route('/cgi-bin/issue9_always_invalid', (_u, _b, res) => {
        fake.hit('issue9_always_invalid');
        fake.json(res, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
      });
      const caller = node.token('proxy.wechat_app');
      for (let i = 0; i < 6; i++) {
        const res = await proxy(env, '/proxy/wechat-app/budget-proxy/cgi-bin/issue9_always_invalid', caller);
        expect(res.status).to.equal(200);
        expect(await res.json(), 'the platform answer, relayed as it came').to.deep.equal({
          errcode: 40001,
          errmsg: 'invalid credential, access_token is invalid or not latest',
        });
      }
      expect(refreshes(B), 'the cold fetch + one refresh').to.equal(2);
      expect(fake.count('issue9_always_invalid'), 'six calls + one retry with the one new token').to.equal(7);
    },
  },
  {
    item: '8',
    attack:
      'public page routes (authorize page, authorized redirect) have no rate limit: each hit spends platform quota',
    async run(env) {
      const { node, fake } = env;
      const burst = (route: string, ip: string) =>
        Promise.all(
          Array.from({ length: PAGE_LIMIT + 2 }, () =>
            fetch(`${node.url}${route}`, { redirect: 'manual', headers: { 'x-forwarded-for': ip } }),
          ),
        );
      // both bursts within one window of the limiter (fresh addresses for each attempt)
      const [pages, redirects] = await inOneSecond((attempt) => {
        fake.reset();
        return Promise.all([
          burst('/wechat-tp/tp/authorize', `10.9.${8 + attempt}.1`),
          burst(`/wechat-tp/tp/authorized?auth_code=x&state=${'0'.repeat(32)}`, `10.9.${8 + attempt}.2`),
        ]);
      });
      for (const answers of [pages, redirects]) {
        const refused = answers.filter((r) => r.status === 429);
        expect(answers.map((r) => r.status).sort()).to.deep.equal([
          ...Array(PAGE_LIMIT).fill(answers === pages ? 200 : 400),
          429,
          429,
        ]);
        expect(refused[0].headers.get('retry-after')).to.equal('1');
        expect(refused[0].headers.get('content-type')).to.match(/^text\/html/);
        expect(await refused[0].text()).to.include('Too many requests');
      }
      expect(fake.count('api_create_preauthcode'), 'one pre_auth_code per page answered').to.equal(PAGE_LIMIT);
      expect(fake.count('api_query_auth')).to.equal(0);
    },
  },
  {
    item: '9',
    attack:
      'an XML element named __proto__ / constructor answers 503 with an error log; CDATA holding markup refuses a user message',
    async run(env) {
      const { node, hook } = env;
      const before = await pushState(env);
      const logFrom = fs.statSync(node.logFile).size;
      for (const name of ['__proto__', 'constructor']) {
        const r = await wxPush(
          env,
          `<xml><AppId>${COMPONENT}</AppId><CreateTime>${nowS()}</CreateTime><InfoType>component_verify_ticket</InfoType><${name}><polluted>1</polluted></${name}></xml>`,
        );
        expect(r.status, name).to.equal(400);
        expect(r.text, name).to.match(/not accepted/);
      }
      expect(await pushState(env)).to.equal(before);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      expect(fs.readFileSync(node.logFile, 'utf8').slice(logFrom)).to.not.match(/"level":50/);
      // text in CDATA is data
      const content = '<a><b>hi</b></a> <__proto__/> &foo;';
      const message = `<xml><ToUserName><![CDATA[gh_9]]></ToUserName><FromUserName><![CDATA[o_user9]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${content}]]></Content></xml>`;
      expect(await wxPush(env, message, '/wechat-tp/tp/messages/wxauthorizer9i9')).to.deep.equal({
        status: 200,
        text: 'success',
      });
      await until(() => hook.got.length > 0, 'the forward');
      expect(hook.got).to.deep.equal([
        {
          appid: 'wxauthorizer9i9',
          message: {
            ToUserName: 'gh_9',
            FromUserName: 'o_user9',
            CreateTime: '1700000000',
            MsgType: 'text',
            Content: content,
          },
        },
      ]);
    },
  },
  {
    item: '10',
    attack: 'admin.push.list shows the <auth_code> of notify_third_fasteregister in clear',
    async run(env) {
      const { node, root } = env;
      const authCode = `fastauth_${crypto.randomBytes(10).toString('hex')}`;
      const inner = `<xml><AppId><![CDATA[${COMPONENT}]]></AppId><CreateTime>${nowS()}</CreateTime><InfoType><![CDATA[notify_third_fasteregister]]></InfoType><appid>wxnewmini00000i9</appid><status>0</status><auth_code>${authCode}</auth_code><msg>OK</msg></xml>`;
      expect(await wxPush(env, inner)).to.deep.equal({ status: 200, text: 'success' });
      const list = await node.rpc(
        'admin.push.list',
        { platform: 'wechat_tp', infoType: 'notify_third_fasteregister' },
        root,
      );
      expect(list.returnCode).to.equal(0);
      expect(JSON.stringify(list)).to.not.include(authCode);
      expect(list.returnData.pushes).to.have.length(1);
      expect(list.returnData.pushes[0].body).to.deep.include({
        appid: 'wxnewmini00000i9',
        status: '0',
        auth_code: `****${authCode.slice(-4)}`,
      });
    },
  },
  {
    item: '11',
    attack: 'the Shansong proxy follows a redirect, re-sending accessToken and sign to the new host',
    async run(env) {
      const { node, fake, ss, stolen } = env;
      const app = await node.gh.services.apps.require('shansong_app', 'ss');
      await node.gh.services.parts(shansong).authorize(app, 'merchant-11', ss.code(SS_CLIENT, 'merchant-11'));
      fake.route('/openapi/developer/v5/orderCalculate', (u, _body, res) => {
        res.statusCode = 307;
        res.setHeader('location', `${stolen.url}${u.pathname}${u.search}`);
        res.end();
      });
      const res = await proxy(
        env,
        '/proxy/shansong/ss/merchant-11/orderCalculate',
        node.token('proxy.shansong_app'),
        'POST',
        '{"cityName":"北京市"}',
      );
      expect(res.status).to.equal(307);
      expect(res.headers.get('location')).to.match(new RegExp(`^${stolen.url}/openapi/developer/v5/orderCalculate`));
      await sleep(100);
      expect(stolen.got).to.deep.equal([]);
    },
  },
  {
    item: '12',
    attack: '/metrics is public by default and lists codeNames, appIds and authorizers',
    async run(env) {
      const ip = externalAddress();
      if (!ip) skipBecause(env.ctx, 'this machine has no non-loopback IPv4 address to call from');
      const remote = await fetch(`http://${ip}:${env.node.gh.port}/metrics`);
      expect(remote.status).to.equal(403);
      const text = await remote.text();
      expect(JSON.parse(text)).to.deep.equal(FORBIDDEN);
      expect(text).to.not.include(SHOP);
      const local = await fetch(`${env.node.url}/metrics`);
      expect(local.status).to.equal(200);
      expect(await local.text()).to.include('gatehouse_');
    },
  },
  {
    item: '13',
    attack: 'SIGTERM to `npm start` leaves the server running (re-parented)',
    async run(env) {
      env.ctx.timeout(90_000);
      const { fake } = env;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-issue9-'));
      const s = await launch('npm', ['start', '--silent'], {
        GATEHOUSE_DATABASE_URL: `sqlite:${path.join(dir, 'npm.db')}`,
        GATEHOUSE_PORT: freePort(),
        GATEHOUSE_HOST: '127.0.0.1',
        GATEHOUSE_JWT_SECRET: JWT_SECRET,
        GATEHOUSE_WECHAT_API: fake.url,
        GATEHOUSE_LOG_LEVEL: 'warn',
        GATEHOUSE_UPSTREAM_TIMEOUT_MS: '5000',
      });
      try {
        const tree = descendants(s.child.pid!);
        expect(tree.length, 'npm has the server below it').to.be.greaterThan(0);
        const token = signCaller(JWT_SECRET, { sub: 'issue-9', scope: '*', ttlSeconds: 600 });
        const rpc = async (interfaceName: string, para: unknown) =>
          (await (
            await fetch(`${s.url}/`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}` },
              body: JSON.stringify({ interface: { interfaceName, para } }),
            })
          ).json()) as { returnCode: number; returnData: any };
        fake.app('wxnpmstart000i9', 'npm-secret');
        expect(
          (
            await rpc('admin.app.put', {
              platform: 'wechat_app',
              codeName: 'npm',
              config: { appId: 'wxnpmstart000i9', secret: 'npm-secret', tokenMode: 'classic' },
            })
          ).returnCode,
        ).to.equal(0);
        // a call in flight (the platform takes 1 s) when the signal arrives
        fake.latencyMs = 1000;
        const inFlight = rpc('wechat.app.token', { codeName: 'npm' });
        await until(() => fake.count('token', 'wxnpmstart000i9') > 0, 'the token call at the platform');
        const signalled = Date.now();
        process.kill(s.child.pid!, 'SIGTERM');
        const answer = await inFlight;
        expect(answer.returnCode).to.equal(0);
        expect(answer.returnData.token).to.be.a('string');
        const exit = await Promise.race([
          s.exited,
          sleep(10_000).then(() => ({ code: 'still running after 10 s', signal: null, at: Date.now() })),
        ]);
        expect({ code: exit.code, signal: exit.signal }, s.output()).to.deep.equal({ code: 0, signal: null });
        expect(exit.at - signalled).to.be.below(10_000);
        expect(await stillAlive(tree), 'no process of the tree is left').to.deep.equal([]);
        const listening = await fetch(`${s.url}/healthz`).then(
          () => true,
          () => false,
        );
        expect(listening, 'the server still answers').to.equal(false);
      } finally {
        fake.latencyMs = 0;
        try {
          process.kill(-s.child.pid!, 'SIGKILL');
        } catch {
          /* all gone */
        }
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    item: 'revocation',
    attack: 'a caller token cannot be withdrawn: revoked, it still works on every node',
    async run(env) {
      const { node, root } = env;
      // a second node on the same store
      const other = await startNode({ dialect: 'sqlite', db: node.db });
      try {
        const victim = node.token('admin.*');
        const jti = payloadOf(victim).jti;
        expect(jti).to.match(/^[A-Za-z0-9_-]{22}$/);
        for (const n of [node, other]) expect((await n.rpc('admin.app.list', {}, victim)).returnCode).to.equal(0); // cached on both
        expect((await node.rpc('admin.caller.revoke', { jti }, root)).returnData).to.deep.equal({ revoked: true });
        const refused = {
          returnCode: 4001,
          returnMessage: 'UNAUTHENTICATED',
          returnData: '',
          version: 1,
          componentName: 'MA',
        };
        expect(await node.rpc('admin.app.list', {}, victim)).to.deep.equal(refused);
        const started = Date.now();
        let r = await other.rpc('admin.app.list', {}, victim);
        while (r.returnCode === 0 && Date.now() - started < 6000) {
          await sleep(100);
          r = await other.rpc('admin.app.list', {}, victim);
        }
        expect(r).to.deep.equal(refused);
        expect(Date.now() - started, 'refused by the other node within 5 s, ms').to.be.below(5000);
        const listed = (await node.rpc('admin.caller.list', {}, root)).returnData.callers.find(
          (c: { jti: string }) => c.jti === jti,
        );
        expect(listed).to.deep.include({ jti, scope: 'admin.*', revoked: true });
        expect((await other.rpc('admin.app.list', {}, root)).returnCode).to.equal(0);
      } finally {
        await other.close();
      }
    },
  },
  {
    item: 'revocation',
    attack: 'admin.* does not cover every admin interface (qcloud.work.initagent)',
    async run(env) {
      const r = await env.node.rpc(
        'qcloud.work.initagent',
        { corpid: 'wwinitagent00i9', agentid: '1000002', agentsecret: 'agent-secret-i9' },
        env.node.token('admin.*'),
      );
      expect(r).to.deep.include({ returnCode: 0, returnMessage: 'OK' });
      const [row] = await env.node.db.query("SELECT platform, app_id FROM apps WHERE app_id = 'wwinitagent00i9'");
      expect(row).to.deep.equal({ platform: 'wecom_corp', app_id: 'wwinitagent00i9' });
    },
  },
];

describe('issue 9: every attack of the hostile test, as a table [sqlite]', function () {
  this.timeout(30_000);
  const env = {} as Env;

  before(async () => {
    env.fake = await new FakePlatform().start();
    env.wx = new FakeWechatTp(env.fake);
    env.fn = new FakeFengniao(env.fake);
    env.ss = installShansong(env.fake);
    env.hook = await sink();
    env.stolen = await thief();
    const fake = env.fake;
    env.node = await startNode({
      dialect: 'sqlite',
      fake,
      env: {
        // bound beyond loopback so that /metrics can be asked from another address (item 12)
        GATEHOUSE_HOST: '0.0.0.0',
        GATEHOUSE_PUBLIC_URL: 'https://gh.example.org',
        GATEHOUSE_WECHAT_MP: fake.url,
        GATEHOUSE_FENGNIAO_API: fake.url,
        GATEHOUSE_FENGNIAO_OPEN: fake.url,
        GATEHOUSE_SHANSONG_API: fake.url,
        // the page routes' per-IP limit (item 8), each client told apart by X-Forwarded-For
        GATEHOUSE_PUBLIC_RATE_LIMIT: String(PAGE_LIMIT),
        GATEHOUSE_TRUST_PROXY: 'true',
      },
    });
    env.root = env.node.token('*');
    fake.app(SHOP, 'shop-secret');
    fake.app(COMPONENT, TP_SECRET);
    env.fn.app(FN_APP, 'fengniao-secret-i9');
    env.ss.client(SS_CLIENT, 'shansong-secret-i9');
    const apps: Array<[string, string, Record<string, unknown>]> = [
      ['wechat_app', 'shop', { appId: SHOP, secret: 'shop-secret', loginDurationDays: 30 }],
      ['wecom_corp', 'hr', { corpId: CORP, agentId: 1000002, secret: 'hr-secret' }],
      [
        'wechat_tp',
        'tp',
        { appId: COMPONENT, secret: TP_SECRET, token: TP_TOKEN, aesKey: AES, msgForwardUrl: env.hook.url },
      ],
      ['fengniao_app', 'fn', { appId: FN_APP, devId: 'fn-dev-i9', secret: 'fengniao-secret-i9' }],
      ['shansong_app', 'ss', { appId: SS_CLIENT, secret: 'shansong-secret-i9' }],
    ];
    for (const [platform, codeName, config] of apps) {
      expect(
        (await env.node.rpc('admin.app.put', { platform, codeName, config }, env.root)).returnCode,
        codeName,
      ).to.equal(0);
    }
    // the component's verify ticket, as WeChat pushes it every 10 minutes
    env.wx.acceptTicket(COMPONENT, 'ticket@@@issue9');
    const ticket = await wxPush(
      env,
      xml({
        AppId: COMPONENT,
        CreateTime: nowS() - 1000,
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: 'ticket@@@issue9',
      }),
    );
    expect(ticket).to.deep.equal({ status: 200, text: 'success' });
  });

  after(async () => {
    await env.node?.close();
    await env.fake?.stop();
    await env.hook?.close();
    await env.stolen?.close();
  });

  beforeEach(() => {
    env.fake.reset();
    env.fake.latencyMs = 0;
    env.hook.clear();
    env.stolen.got.length = 0;
  });

  for (const a of ATTACKS) {
    it(`item ${a.item}: ${a.attack}`, async function () {
      await a.run({ ...env, ctx: this });
    });
  }
});
