import { expect } from 'chai';
import { type FakePlatform } from '../fake/platform';
import { type FakeFengniao } from '../fake/fengniao';
import type { FakeShansong } from '../fake/shansong';
import { type FakeWechatTp } from '../fake/wechat-tp';
import type { FakeWecomTp } from '../fake/wecom-tp';
import { forEachDialect, requireMariadb, type Dialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { signedPush, xml } from '../helpers/push';
import { inOneSecond } from '../helpers/wait';
import { startFakes } from '../helpers/fakes';

/*
 * §7 (trust): every authorization flow carries a server-issued, single-use `state` nonce, valid
 * ≤ 10 minutes, bound to what the page was opened for; a redirect or callback with an unknown, used,
 * expired or mismatched state answers a 400 page and exchanges nothing. Public page routes share
 * the public per-IP rate limit (429). Each attack below is run against every flow as a table.
 */

const PUBLIC = 'https://gh.example.org';
const TOKEN = 'push-token-9';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const COMPONENT = ['wxcomponent0000s1', 'wxcomponent0000s2'];
const SUITE = ['wwsuite00000000s1', 'wwsuite00000000s2'];
const FN_APP = ['fnapp-s1', 'fnapp-s2'];
const SS_CLIENT = ['ss00000000s1', 'ss00000000s2'];
const SECRET = 'platform-secret-9';
const AUTHORIZER = 'wxauthorizer000s9';
const CORP = 'wwcorp00000000s9';
const MERCHANT = '3001';
const MERCHANT_B = '3002';

const unescape = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** the platform URL an authorization page sends the browser on to */
function forwardTarget(html: string): URL {
  const m = /id="go" href="([^"]+)"/.exec(html);
  expect(m, 'forward link').to.not.equal(null);
  return new URL(unescape(m![1]));
}

interface Landing {
  status: number;
  type: string;
  text: string;
  location: string | null;
}

/** one authorization flow, as the table below drives it */
interface Flow {
  name: string;
  /** opens the authorization page of codeName (index 0 or 1) and returns the state nonce it issued */
  page(node: TestNode, i: number, opts?: { merchant?: string; callerState?: string }): Promise<string>;
  /** what the platform sends back (redirect or callback) with a fresh, genuine code and `state` */
  land(node: TestNode, i: number, state: string | undefined, opts?: { merchant?: string }): Promise<Landing>;
  /** upstream code exchanges made so far */
  exchanges(): number;
}

forEachDialect('OAuth state nonces (§7 trust)', (dialect: Dialect) => {
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let wc: FakeWecomTp;
  let fn: FakeFengniao;
  let ss: FakeShansong;
  let node: TestNode;

  const codeNames = {
    wechat: ['tp', 'tp2'],
    wecom: ['suite', 'suite2'],
    fengniao: ['fn', 'fn2'],
    shansong: ['ss', 'ss2'],
  };

  const landing = async (res: Response): Promise<Landing> => ({
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    text: await res.text(),
    location: res.headers.get('location'),
  });
  const get = (n: TestNode, path: string, headers: Record<string, string> = {}) =>
    fetch(`${n.url}${path}`, { redirect: 'manual', headers });

  const exec = (n: TestNode, sql: string, params: unknown[] = []) => n.db.exec(sql, params);

  /** everything an authorization may change */
  const snapshot = async (n: TestNode) =>
    JSON.stringify([
      await n.db.query('SELECT * FROM authorizers ORDER BY platform, owner_id, authorizer_id'),
      await n.db.query('SELECT token_key, value, version FROM tokens ORDER BY token_key'),
      await n.db.query('SELECT platform, code_name, info_type, app_id, body FROM pushes ORDER BY id'),
      await n.db.query('SELECT * FROM auth_states ORDER BY nonce_hash'),
    ]);

  const flows: Flow[] = [
    {
      name: 'WeChat TP authorize → authorized',
      async page(n, i) {
        const res = await get(n, `/wechat-tp/${codeNames.wechat[i]}/authorize?mode=scan`);
        expect(res.status).to.equal(200);
        const redirect = new URL(forwardTarget(await res.text()).searchParams.get('redirect_uri')!);
        expect(`${redirect.origin}${redirect.pathname}`).to.equal(
          `${PUBLIC}/wechat-tp/${codeNames.wechat[i]}/authorized`,
        );
        return redirect.searchParams.get('state') ?? '';
      },
      async land(n, i, state) {
        const q = new URLSearchParams({
          auth_code: wx.authorizationCode(COMPONENT[i], AUTHORIZER),
          expires_in: '3600',
        });
        if (state !== undefined) q.set('state', state);
        return landing(await get(n, `/wechat-tp/${codeNames.wechat[i]}/authorized?${q}`));
      },
      exchanges: () => fake.count('api_query_auth'),
    },
    {
      name: 'WeCom install → installed',
      async page(n, i, opts = {}) {
        const res = await get(n, `/wecom-tp/${codeNames.wecom[i]}/install?state=${opts.callerState ?? 'shop42'}`);
        expect(res.status).to.equal(200);
        const target = forwardTarget(await res.text());
        expect(target.searchParams.get('redirect_uri')).to.equal(`${PUBLIC}/wecom-tp/${codeNames.wecom[i]}/installed`);
        return target.searchParams.get('state') ?? '';
      },
      async land(n, i, state) {
        const q = new URLSearchParams({ auth_code: wc.authCode(SUITE[i], CORP), expires_in: '1200' });
        if (state !== undefined) q.set('state', state);
        return landing(await get(n, `/wecom-tp/${codeNames.wecom[i]}/installed?${q}`));
      },
      exchanges: () => fake.count('get_permanent_code'),
    },
    {
      name: 'Fengniao authorize → auth-callback',
      async page(n, i, opts = {}) {
        const res = await get(
          n,
          `/fengniao/${codeNames.fengniao[i]}/authorize${opts.merchant ? `?merchant_id=${opts.merchant}` : ''}`,
        );
        expect(res.status).to.equal(200);
        return forwardTarget(await res.text()).searchParams.get('state') ?? '';
      },
      async land(n, i, state, opts = {}) {
        const merchant = opts.merchant ?? MERCHANT;
        const body: Record<string, string> = {
          code: fn.authCode(FN_APP[i], merchant),
          merchant_id: merchant,
          scope: 'all',
        };
        if (state !== undefined) body.state = state;
        return landing(
          await fetch(`${n.url}/fengniao/${codeNames.fengniao[i]}/auth-callback`, {
            method: 'POST',
            body: JSON.stringify(body),
            headers: { 'content-type': 'application/json' },
          }),
        );
      },
      exchanges: () => fake.count('fengniao_token'),
    },
    {
      name: 'Shansong authorize → authorized',
      async page(n, i, opts = {}) {
        const res = await get(n, `/shansong/${codeNames.shansong[i]}/authorize/${opts.merchant ?? MERCHANT}`);
        expect(res.status).to.equal(200);
        return forwardTarget(await res.text()).searchParams.get('state') ?? '';
      },
      async land(n, i, state, opts = {}) {
        const q = new URLSearchParams({ code: ss.code(SS_CLIENT[i], opts.merchant ?? MERCHANT) });
        if (state !== undefined) q.set('state', state);
        return landing(await get(n, `/shansong/${codeNames.shansong[i]}/authorized?${q}`));
      },
      exchanges: () => fake.count('oauth_token'),
    },
  ];

  const env = (extra: Record<string, string> = {}) => ({
    GATEHOUSE_PUBLIC_URL: PUBLIC,
    GATEHOUSE_WECHAT_MP: fake.url,
    GATEHOUSE_WECOM_OPEN: fake.url,
    GATEHOUSE_FENGNIAO_API: fake.url,
    GATEHOUSE_FENGNIAO_OPEN: fake.url,
    GATEHOUSE_SHANSONG_API: fake.url,
    ...extra,
  });

  /** configures both codeNames of every platform and hands the third-party platforms their tickets */
  const configure = async (n: TestNode) => {
    const tok = n.token();
    const put = async (platform: string, codeName: string, config: Record<string, unknown>) =>
      expect(
        (await n.rpc('admin.app.put', { platform, codeName, config }, tok)).returnCode,
        `${platform} ${codeName}`,
      ).to.equal(0);
    for (const i of [0, 1]) {
      await put('wechat_tp', codeNames.wechat[i], { appId: COMPONENT[i], secret: SECRET, token: TOKEN, aesKey: AES });
      await put('wecom_tp', codeNames.wecom[i], { suiteId: SUITE[i], secret: SECRET, token: TOKEN, aesKey: AES });
      await put('fengniao_app', codeNames.fengniao[i], { appId: FN_APP[i], devId: `dev-${i}`, secret: SECRET });
      await put('shansong_app', codeNames.shansong[i], { appId: SS_CLIENT[i], secret: SECRET });
      const ticket = `ticket@@@s${i}`;
      wx.acceptTicket(COMPONENT[i], ticket);
      const p = signedPush(
        TOKEN,
        AES,
        COMPONENT[i],
        xml({ AppId: COMPONENT[i], CreateTime: 1, InfoType: 'component_verify_ticket', ComponentVerifyTicket: ticket }),
      );
      expect(
        await (
          await fetch(`${n.url}/wechat-tp/${codeNames.wechat[i]}/events?${p.query}`, { method: 'POST', body: p.body })
        ).text(),
      ).to.equal('success');
      const st = signedPush(
        TOKEN,
        AES,
        SUITE[i],
        xml({ SuiteId: SUITE[i], InfoType: 'suite_ticket', TimeStamp: 1, SuiteTicket: wc.ticket(SUITE[i]) }),
      );
      expect(
        await (
          await fetch(`${n.url}/wecom-tp/${codeNames.wecom[i]}/events?${st.query}`, { method: 'POST', body: st.body })
        ).text(),
      ).to.equal('success');
    }
  };

  before(async () => {
    ({ fake, wx, wc, fn, ss } = await startFakes());
    for (const i of [0, 1]) {
      fake.app(COMPONENT[i], SECRET);
      wc.suite(SUITE[i], SECRET);
      fn.app(FN_APP[i], SECRET);
      ss.client(SS_CLIENT[i], SECRET);
    }
    wx.approveAs = AUTHORIZER;
  });
  after(async () => fake?.stop());

  describe('every flow', () => {
    beforeEach(async () => {
      node = await startNode({ dialect, fake, env: env() });
      await configure(node);
      fake.reset();
    });
    afterEach(async () => node?.close());

    for (const f of flows) {
      describe(f.name, () => {
        it('a forged state (missing, made up, or a merchant code) → 400 page, no exchange, no store change', async () => {
          await f.page(node, 0); // a live nonce exists, but none of these is it
          const before = await snapshot(node);
          const forged = [undefined, '', '0123456789abcdef0123456789abcdef', MERCHANT, 'x'.repeat(300)];
          for (const state of forged) {
            // Fengniao's callback without a state is judged on its code (see the decision test below)
            if (f.name.startsWith('Fengniao') && state === undefined) continue;
            const r = await f.land(node, 0, state);
            expect(r.status, `state ${String(state).slice(0, 40)}`).to.equal(400);
            expect(r.type).to.match(/^text\/html/);
            expect(r.text).to.include('Invalid or expired authorization');
          }
          expect(f.exchanges()).to.equal(0);
          expect(await snapshot(node)).to.equal(before);
        });

        it('the state the page issued completes the flow once; a replay → 400, no second exchange', async () => {
          const state = await f.page(node, 0);
          expect(state).to.match(/^[0-9a-f]{32}$/);
          const ok = await f.land(node, 0, state);
          expect(ok.status).to.equal(200);
          expect(f.exchanges()).to.equal(1);
          const before = await snapshot(node);
          const replay = await f.land(node, 0, state);
          expect(replay.status).to.equal(400);
          expect(replay.type).to.match(/^text\/html/);
          expect(f.exchanges()).to.equal(1);
          expect(await snapshot(node)).to.equal(before);
        });

        it('an expired state → 400, no exchange, no store change', async () => {
          const state = await f.page(node, 0);
          await exec(node, 'UPDATE auth_states SET expires_at = ?', [Date.now() - 1]);
          const before = await snapshot(node);
          const r = await f.land(node, 0, state);
          expect(r.status).to.equal(400);
          expect(f.exchanges()).to.equal(0);
          expect(await snapshot(node)).to.equal(before);
        });

        it('a state issued for codeName X, used at codeName Y → 400, no exchange; X may still use it', async () => {
          const state = await f.page(node, 0);
          const before = await snapshot(node);
          const r = await f.land(node, 1, state);
          expect(r.status).to.equal(400);
          expect(f.exchanges()).to.equal(0);
          expect(await snapshot(node)).to.equal(before);
          expect((await f.land(node, 0, state)).status).to.equal(200);
          expect(f.exchanges()).to.equal(1);
        });

        it('concurrent uses of one state: exactly one exchanges, the others get 400', async () => {
          const state = await f.page(node, 0);
          const all = await Promise.all(Array.from({ length: 6 }, () => f.land(node, 0, state)));
          expect(all.map((r) => r.status).sort()).to.deep.equal([200, 400, 400, 400, 400, 400]);
          expect(f.exchanges()).to.equal(1);
        });
      });
    }

    it('a state of one platform is no good on another', async () => {
      const shansong = await flows[3].page(node, 0);
      const wechat = await flows[0].page(node, 0);
      expect((await flows[0].land(node, 0, shansong)).status).to.equal(400);
      expect((await flows[1].land(node, 0, wechat)).status).to.equal(400);
      expect((await flows[2].land(node, 0, wechat)).status).to.equal(400);
      expect((await flows[3].land(node, 0, wechat)).status).to.equal(400);
      expect(
        fake.count('api_query_auth') +
          fake.count('get_permanent_code') +
          fake.count('fengniao_token') +
          fake.count('oauth_token'),
      ).to.equal(0);
    });

    it('Shansong: the merchant comes from the state the page issued, never from the redirect (state=<merchant> overwrote it)', async () => {
      // the reported attack: a code of the attacker's choosing with state = the victim's merchant code
      const attack = await get(
        node,
        `/shansong/ss/authorized?code=${ss.code(SS_CLIENT[0], 'attacker')}&state=${MERCHANT_B}`,
      );
      expect(attack.status).to.equal(400);
      expect(fake.count('oauth_token')).to.equal(0);
      const state = await flows[3].page(node, 0, { merchant: MERCHANT });
      expect((await flows[3].land(node, 0, state)).status).to.equal(200);
      const rows = await node.db.query("SELECT authorizer_id FROM authorizers WHERE platform = 'shansong_app'");
      expect(rows.map((r) => r.authorizer_id)).to.deep.equal([MERCHANT]);
    });

    it('Fengniao: a page opened for merchant A does not authorize merchant B (400, no exchange); A still can', async () => {
      const state = await flows[2].page(node, 0, { merchant: MERCHANT });
      const before = await snapshot(node);
      const r = await flows[2].land(node, 0, state, { merchant: MERCHANT_B });
      expect(r.status).to.equal(400);
      expect(fake.count('fengniao_token')).to.equal(0);
      expect(await snapshot(node)).to.equal(before);
      expect((await flows[2].land(node, 0, state, { merchant: MERCHANT })).status).to.equal(200);
      expect(fake.count('fengniao_token', MERCHANT)).to.equal(1);
    });

    it('Fengniao: a callback that echoes no state is judged on its code alone (Fengniao binds the code to app and merchant)', async () => {
      const genuine = await flows[2].land(node, 0, undefined);
      expect(genuine.status).to.equal(200);
      expect(fake.count('fengniao_token')).to.equal(1);
      const forged = await fetch(`${node.url}/fengniao/fn/auth-callback`, {
        method: 'POST',
        body: JSON.stringify({ code: 'fncode_forged', merchant_id: MERCHANT_B }),
        headers: { 'content-type': 'application/json' },
      });
      expect(forged.status).to.not.equal(200);
      expect(
        await node.db.query("SELECT * FROM authorizers WHERE platform = 'fengniao_app' AND authorizer_id = ?", [
          MERCHANT_B,
        ]),
      ).to.deep.equal([]);
    });

    it('WeCom: the caller-supplied state is handed on to redirectUrl; the nonce goes to WeCom', async () => {
      await node.rpc(
        'admin.app.put',
        {
          platform: 'wecom_tp',
          codeName: 'suite',
          config: {
            suiteId: SUITE[0],
            secret: SECRET,
            token: TOKEN,
            aesKey: AES,
            redirectUrl: 'https://admin.example.com/done?x=1',
          },
        },
        node.token(),
      );
      const nonce = await flows[1].page(node, 0, { callerState: 'from-admin_7' });
      expect(nonce).to.match(/^[0-9a-f]{32}$/);
      const r = await flows[1].land(node, 0, nonce);
      expect(r.status).to.equal(302);
      const loc = new URL(r.location!);
      expect(loc.searchParams.get('state')).to.equal('from-admin_7');
      expect(loc.searchParams.get('auth_corpid')).to.equal(CORP);
      expect(loc.searchParams.get('x')).to.equal('1');
    });

    it('store: takeAuthState hands a row out once (20 concurrent takes), only for its platform, codeName, subject and lifetime', async () => {
      const store = node.gh.services.store;
      const now = Date.now();
      const row = {
        platform: 'shansong_app',
        codeName: 'ss',
        subject: 'm1',
        callerState: 'cs',
        createdAt: now,
        expiresAt: now + 60_000,
      };
      await store.putAuthState({ ...row, nonceHash: 'a'.repeat(64) });
      expect(await store.takeAuthState('a'.repeat(64), 'fengniao_app', 'ss', null, now)).to.equal(null);
      expect(await store.takeAuthState('a'.repeat(64), 'shansong_app', 'ss2', null, now)).to.equal(null);
      expect(await store.takeAuthState('a'.repeat(64), 'shansong_app', 'ss', 'm2', now)).to.equal(null);
      expect(await store.takeAuthState('a'.repeat(64), 'shansong_app', 'ss', null, now + 60_000)).to.equal(null);
      expect(await store.takeAuthState(`${'a'.repeat(63)}A`, 'shansong_app', 'ss', null, now)).to.equal(null);
      const takes = await Promise.all(
        Array.from({ length: 20 }, () => store.takeAuthState('a'.repeat(64), 'shansong_app', 'ss', 'm1', now)),
      );
      const won = takes.filter((t) => t !== null);
      expect(won).to.deep.equal([{ ...row, nonceHash: 'a'.repeat(64) }]);
      expect(await store.takeAuthState('a'.repeat(64), 'shansong_app', 'ss', 'm1', now)).to.equal(null);
    });

    it('the nonce itself is never stored, only its hash; expired nonces are pruned', async () => {
      const state = await flows[3].page(node, 0);
      const rows = await node.db.query('SELECT * FROM auth_states');
      expect(rows).to.have.length(1);
      expect(JSON.stringify(rows)).to.not.include(state);
      expect(rows[0]).to.include({ platform: 'shansong_app', code_name: 'ss', subject: MERCHANT });
      expect(Number(rows[0].expires_at) - Number(rows[0].created_at)).to.be.at.most(10 * 60_000);
      await exec(node, 'UPDATE auth_states SET expires_at = ?', [Date.now() - 1]);
      expect(await node.gh.services.store.pruneAuthStates(Date.now())).to.equal(1);
      expect(await node.db.query('SELECT * FROM auth_states')).to.deep.equal([]);
    });
  });

  // several nodes share one store on MariaDB (the SQLite variant has no such case, rather than a skipped one)
  if (dialect === 'mariadb')
    describe('several nodes on one store', () => {
      const nodes: TestNode[] = [];
      before(async function () {
        await requireMariadb(this);
        nodes.push(await startNode({ dialect, fake, env: env() }));
        nodes.push(await startNode({ dialect, fake, env: env(), db: nodes[0].db }));
        await configure(nodes[0]);
      });
      after(async () => {
        for (const n of nodes.reverse()) await n.close();
      });
      beforeEach(() => fake.reset());

      for (const f of flows) {
        it(`${f.name}: a page served by node A completes on node B; concurrent uses on A and B exchange once`, async () => {
          expect((await f.land(nodes[1], 0, await f.page(nodes[0], 0))).status).to.equal(200);
          expect(f.exchanges()).to.equal(1);
          const state = await f.page(nodes[1], 0);
          const all = await Promise.all([0, 1, 0, 1].map((k) => f.land(nodes[k], 0, state)));
          expect(all.map((r) => r.status).sort()).to.deep.equal([200, 400, 400, 400]);
          expect(f.exchanges()).to.equal(2);
        });
      }
    });

  describe('public per-IP rate limit on the page routes', () => {
    const LIMIT = 3;
    let limited: TestNode;
    before(async () => {
      limited = await startNode({
        dialect,
        fake,
        env: env({ GATEHOUSE_PUBLIC_RATE_LIMIT: String(LIMIT), GATEHOUSE_TRUST_PROXY: 'true' }),
      });
      await configure(limited);
    });
    after(async () => limited?.close());

    const routes: [string, string, string?][] = [
      ['GET', '/wechat-tp/tp/authorize'],
      ['GET', '/wechat-tp/tp/authorized?auth_code=x&state=y'],
      ['GET', '/wecom-tp/suite/install?state=s'],
      ['GET', '/wecom-tp/suite/installed?auth_code=x&state=y'],
      ['GET', '/fengniao/fn/authorize'],
      ['POST', '/fengniao/fn/auth-callback', JSON.stringify({ code: 'x', merchant_id: '1', state: 'y' })],
      ['GET', `/shansong/ss/authorize/${MERCHANT}`],
      ['GET', '/shansong/ss/authorized?code=x&state=y'],
    ];

    routes.forEach(([method, path, body], k) => {
      it(`${method} ${path.split('?')[0]}: 429 with Retry-After and an HTML page past the limit; no platform call`, async () => {
        // the burst within one window of the limiter (a fresh address for each attempt)
        const answers = await inOneSecond((attempt) => {
          fake.reset();
          const hit = () =>
            fetch(`${limited.url}${path}`, {
              method,
              body,
              redirect: 'manual',
              headers: { 'x-forwarded-for': `10.9.${k}.${attempt + 1}`, 'content-type': 'application/json' },
            });
          return Promise.all(Array.from({ length: LIMIT + 2 }, hit));
        });
        const refused = answers.filter((r) => r.status === 429);
        expect(refused).to.have.length(2);
        expect(answers.filter((r) => r.status !== 429)).to.have.length(LIMIT);
        expect(refused[0].headers.get('retry-after')).to.equal('1');
        expect(refused[0].headers.get('content-type')).to.match(/^text\/html/);
        expect(await refused[0].text()).to.include('Too many requests');
        // only the answered hits may have spent a pre_auth_code; nothing was exchanged
        expect(fake.count('api_create_preauthcode') + fake.count('get_pre_auth_code')).to.be.at.most(LIMIT);
        expect(
          fake.count('api_query_auth') +
            fake.count('get_permanent_code') +
            fake.count('fengniao_token') +
            fake.count('oauth_token'),
        ).to.equal(0);
        // another client is not limited
        expect(
          (
            await fetch(`${limited.url}${path}`, {
              method,
              body,
              redirect: 'manual',
              headers: { 'x-forwarded-for': `10.8.${k}.1`, 'content-type': 'application/json' },
            })
          ).status,
        ).to.not.equal(429);
      });
    });

    it('RPC public interfaces and the page routes share one limiter per node', async () => {
      // five calls in a row from one address, within one window of the limiter (a fresh address for each attempt)
      const got = await inOneSecond(async (attempt) => {
        const headers = { 'x-forwarded-for': `10.7.0.${attempt + 1}` };
        const rpc = () =>
          limited
            .post(
              JSON.stringify({ interface: { interfaceName: 'qcloud.cam.auth', para: { id: 'a', skey: 'b' } } }),
              headers,
            )
            .then((r) => r.body.returnCode);
        const page = async () => (await fetch(`${limited.url}/shansong/ss/authorize/${MERCHANT}`, { headers })).status;
        return [await rpc(), await rpc(), await page(), await page(), await rpc()];
      });
      expect(got).to.deep.equal([60012, 60012, 200, 429, 4029]);
    });
  });
});
