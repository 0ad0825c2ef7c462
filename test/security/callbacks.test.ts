import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
// an independent implementation of WeCom's message crypto, to build what WeCom would push
import { encrypt as wecomEncrypt, getSignature as wecomSignature } from '@wecom/crypto';
import { ENVELOPE_LIMITS, XmlRejected, parsePushXml } from '../../system/xml';
import { FakePlatform } from '../fake/platform';
import { FakeWechatTp } from '../fake/wechat-tp';
import { installWecomTp, type FakeWecomTp } from '../fake/wecom-tp';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { sink } from '../helpers/net';
import { signedPush, xml } from '../helpers/push';
import { until } from '../helpers/wait';
import wechat from '../../application/platforms/wechat';
import wecom from '../../application/platforms/wecom';

/*
 * Issue 9, the callback items, tried as an attacker would:
 *   4  unauthenticated callback bodies must cost linear, bounded CPU (no backtracking regex)
 *   6  authorization events apply only when newer than the last one applied (per authorizer / corp)
 *   9  an element named __proto__ / constructor is a clean 400; CDATA text is data, never markup
 *  10  admin.push.list masks every code, ticket and secret of every push kind, at any depth
 */

const COMPONENT = 'wxcomponentsec001';
const WX_SECRET = 'component-secret-sec';
const WX_TOKEN = 'wxPushTokenSec';
const WX_AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const AUTHORIZER = 'wxauthorizer00001';
const SUITE = 'wwsuitesec000001';
const WC_SECRET = 'suite-secret-sec';
const WC_TOKEN = 'wcPushTokenSec';
const WC_AES = 'ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj';
const CORP = 'wwcorpsec0000001';

const nowS = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a WeCom push (TimeStamp a plain number, the rest CDATA), built with @wecom/crypto */
function wecomPush(inner: string): { query: string; body: string } {
  const enc = wecomEncrypt(WC_AES, inner, SUITE);
  const timestamp = String(nowS());
  const nonce = crypto.randomBytes(5).toString('hex');
  return {
    query: new URLSearchParams({
      msg_signature: wecomSignature(WC_TOKEN, timestamp, nonce, enc),
      timestamp,
      nonce,
    }).toString(),
    body: `<xml><ToUserName><![CDATA[${SUITE}]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`,
  };
}

/**
 * A client on a worker thread (its own event loop): 'probe' GETs /healthz every 5 ms until
 * stopped and answers the times taken; 'attack' POSTs every case at once and answers each
 * status and time.
 */
function clientThread(
  mode: 'probe' | 'attack',
  url: string,
  load?: { bodies: string[]; cases: Array<{ path: string; body: number; type: string }> },
) {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const http = require('node:http');
    const { mode, url, load } = workerData;
    const base = new URL(url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const send = (path, method, type, body) => new Promise((resolve) => {
      const t = performance.now();
      const headers = body === undefined ? {} : { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) };
      const req = http.request({ host: base.hostname, port: base.port, path, method, headers, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t }));
      });
      req.on('error', () => resolve({ status: 0, ms: performance.now() - t }));
      req.end(body);
    });
    (async () => {
      if (mode === 'probe') {
        let stop = false;
        parentPort.on('message', () => (stop = true));
        await send('/healthz', 'GET');
        parentPort.postMessage({ ready: true });
        const times = [];
        while (!stop) {
          const r = await send('/healthz', 'GET');
          times.push(r.status === 200 ? r.ms : Infinity);
          await new Promise((r) => setTimeout(r, 5));
        }
        parentPort.postMessage({ done: times });
      } else {
        const answers = await Promise.all(load.cases.map((c) => send(c.path, 'POST', c.type, load.bodies[c.body])));
        parentPort.postMessage({ done: answers });
      }
      agent.destroy();
    })();
  `;
  const w = new Worker(code, { eval: true, workerData: { mode, url, load } });
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const done = new Promise<unknown>((resolve, reject) => {
    w.on('message', (m: { ready?: boolean; done?: unknown }) => (m.ready ? ready() : resolve(m.done)));
    w.on('error', reject);
  });
  return {
    ready: readyP,
    done,
    stop: async () => {
      w.postMessage('stop');
      const r = await done;
      await w.terminate();
      return r;
    },
  };
}

forEachDialect('callbacks under attack (issue 9: items 4, 6, 9, 10)', (dialect) => {
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let wt: FakeWecomTp;
  let node: TestNode;
  let tok: string;
  let hook: Awaited<ReturnType<typeof sink>>;

  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para, tok);
  const post = async (path: string, query: string, body: string) => {
    const res = await fetch(`${node.url}${path}?${query}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/xml' },
    });
    return { status: res.status, text: await res.text() };
  };
  /** a signed WeChat TP push to the events route (or another path) */
  const wxPush = (inner: string, path = '/wechat-tp/tp/events') => {
    const p = signedPush(WX_TOKEN, WX_AES, COMPONENT, inner);
    return post(path, p.query, p.body);
  };
  const wcPush = (inner: string) => {
    const p = wecomPush(inner);
    return post('/wecom-tp/suite/events', p.query, p.body);
  };
  const ticketPush = (createTime: number) => {
    const ticket = `ticket@@@${crypto.randomBytes(6).toString('hex')}`;
    wx.acceptTicket(COMPONENT, ticket);
    return wxPush(
      xml({
        AppId: COMPONENT,
        CreateTime: createTime,
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: ticket,
      }),
    );
  };
  const suiteTicketPush = () =>
    wcPush(xml({ SuiteId: SUITE, InfoType: 'suite_ticket', TimeStamp: nowS(), SuiteTicket: wt.ticket(SUITE) }));
  const state = async () =>
    JSON.stringify(
      await Promise.all(
        ['tickets', 'authorizers', 'tokens', 'pushes', 'apps'].map((t) => node.db.query(`SELECT * FROM ${t}`)),
      ),
    );
  const logText = () => fs.readFileSync(node.logFile, 'utf8');

  before(async () => {
    fake = await new FakePlatform().start();
    wx = new FakeWechatTp(fake);
    wt = installWecomTp(fake);
    fake.app(COMPONENT, WX_SECRET);
    wt.suite(SUITE, WC_SECRET);
    hook = await sink();
  });
  after(async () => {
    await fake?.stop();
    await hook?.close();
  });
  beforeEach(async () => {
    node = await startNode({ dialect, fake });
    tok = node.token('*');
    const apps: Array<[string, string, Record<string, unknown>]> = [
      [
        'wechat_tp',
        'tp',
        { appId: COMPONENT, secret: WX_SECRET, token: WX_TOKEN, aesKey: WX_AES, msgForwardUrl: hook.url },
      ],
      ['wecom_tp', 'suite', { suiteId: SUITE, secret: WC_SECRET, token: WC_TOKEN, aesKey: WC_AES }],
      ['fengniao_app', 'fn', { appId: 'fn-app-sec', devId: 'fn-dev-sec', secret: 'fengniao-secret-sec' }],
      ['shansong_app', 'ss', { appId: 'ss00000sec', secret: 'shansong-secret-sec' }],
    ];
    for (const [platform, codeName, config] of apps)
      expect((await rpc('admin.app.put', { platform, codeName, config })).returnCode, codeName).to.equal(0);
    fake.reset();
    hook.clear();
  });
  afterEach(async () => node?.close());

  // ---------------------------------------------------------------------------------------------
  describe('item 4: what a callback does before its signature is verified is linear and bounded', () => {
    /** hostile bodies under 64 KiB that made the old pre-parse checks (or the parser) backtrack */
    const XML_BODIES: Array<[string, string]> = [
      ['unclosed "<a" × 32700', `<xml>${'<a'.repeat(32700)}`],
      ['"<a " × 21000', `<xml>${'<a '.repeat(21000)}`],
      ['"<a b=" × 12000', `<xml><a ${'b='.repeat(12000)}`],
      ['"<a/>" × 16000', `<xml>${'<a/>'.repeat(16000)}</xml>`],
      ['"&" × 60000', `<xml><a>${'&'.repeat(60000)}</a></xml>`],
      ['"<![CDATA[" × 7000', `<xml>${'<![CDATA['.repeat(7000)}`],
      ['"<!--" × 15000', `<xml>${'<!--'.repeat(15000)}`],
      ['attributes × 6000', `<xml><a ${Array.from({ length: 6000 }, (_, i) => `b${i}=""`).join(' ')}/></xml>`],
      ['"</a>" × 15000', `<xml>${'</a>'.repeat(15000)}`],
      ['"<a>" × 20000', `<xml>${'<a>'.repeat(20000)}`],
    ];
    const ROUTES = ['/wechat-tp/tp/events', `/wechat-tp/tp/messages/${AUTHORIZER}`, '/wecom-tp/suite/events'];
    const QUERY = `timestamp=${nowS()}&nonce=abc&encrypt_type=aes&msg_signature=${'0'.repeat(40)}`;
    const JSON_BODIES = [
      `${'['.repeat(30000)}${']'.repeat(30000)}`,
      `${'{"a":'.repeat(10000)}1${'}'.repeat(10000)}`,
      `{"business_data":${JSON.stringify('['.repeat(30000) + ']'.repeat(30000))}}`,
    ];

    it('each hostile body is refused as an envelope in a few ms at most, and read as a message in linear time', () => {
      /** the fastest of five runs (a loaded machine may preempt any one of them) */
      const fastest = (fn: () => void) =>
        Math.min(
          ...Array.from({ length: 5 }, () => {
            const t = performance.now();
            fn();
            return performance.now() - t;
          }),
        );
      for (const [what, body] of XML_BODIES) {
        expect(Buffer.byteLength(body), what).to.be.below(64 * 1024);
        expect(
          fastest(() => expect(() => parsePushXml(body, ENVELOPE_LIMITS), what).to.throw(XmlRejected)),
          `${what} (envelope), ms`,
        ).to.be.below(5);
        const asMessage = () => {
          try {
            parsePushXml(body);
          } catch (err) {
            expect(err, what).to.be.instanceOf(XmlRejected);
          }
        };
        expect(fastest(asMessage), `${what} (message), ms`).to.be.below(25);
      }
    });

    it('50 hostile bodies at once: each answered 400 quickly, /healthz stays under 250 ms, nothing written', async function () {
      this.timeout(180_000);
      const before = await state();
      const bodies = [...XML_BODIES.map(([, b]) => b), ...JSON_BODIES];
      const cases = Array.from({ length: 50 }, (_, i) => {
        if (i % 10 === 9)
          return {
            path: i % 20 === 9 ? '/fengniao/fn/callback' : '/shansong/ss/callback',
            body: XML_BODIES.length + (i % JSON_BODIES.length),
            type: 'application/json',
          };
        return { path: `${ROUTES[i % ROUTES.length]}?${QUERY}`, body: i % XML_BODIES.length, type: 'text/xml' };
      });
      // The server runs on this thread; the attacker and the /healthz prober each run on a worker
      // thread of their own, so that what is measured here is the server's event loop alone. On a
      // loaded machine the OS may still preempt a thread: the best of up to five rounds is judged (the
      // backtracking regex this guards against blocked the loop for seconds in every round). The
      // bound is 250 ms, not tens: a loaded 2-core machine (mutation runs, parallel suites) stretched
      // a healthy node's worst probe to ~60 ms, and what this catches costs seconds.
      const LIMIT_MS = 250;
      let best: { healthz: number; loop: number; probes: number } | undefined;
      for (let round = 0; round < 5 && !(best && best.healthz < LIMIT_MS && best.loop < LIMIT_MS); round++) {
        const loop = monitorEventLoopDelay({ resolution: 2 });
        const prober = clientThread('probe', node.url);
        await prober.ready;
        loop.enable();
        const answers = (await clientThread('attack', node.url, { bodies, cases }).done) as Array<{
          status: number;
          ms: number;
        }>;
        await sleep(50);
        loop.disable();
        const probes = (await prober.stop()) as number[];

        expect(answers.map((a) => a.status)).to.deep.equal(cases.map(() => 400));
        expect(Math.max(...answers.map((a) => a.ms)), 'slowest hostile request, ms').to.be.below(2000);
        expect(probes.length).to.be.greaterThan(3);
        const measured = { healthz: Math.max(...probes), loop: loop.max / 1e6, probes: probes.length };
        if (!best || Math.max(measured.healthz, measured.loop) < Math.max(best.healthz, best.loop)) best = measured;
      }
      expect(
        best!.healthz,
        `slowest /healthz of ${best!.probes} while 50 hostile bodies were in flight, ms`,
      ).to.be.below(LIMIT_MS);
      expect(best!.loop, 'longest event-loop stall, ms').to.be.below(LIMIT_MS);
      expect(await state()).to.equal(before);
    });

    it('a hostile echostr on the WeCom URL verification is refused in linear time', async () => {
      const started = performance.now();
      const res = await fetch(
        `${node.url}/wecom-tp/suite/events?msg_signature=${'0'.repeat(40)}&timestamp=1&nonce=n&echostr=${'%20'.repeat(2500)}`,
      );
      expect(res.status).to.equal(403);
      expect(performance.now() - started).to.be.below(1000);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('item 6: authorization events apply in event order, per authorizer / corp', () => {
    const T = nowS();
    const authorizerRow = async (id = AUTHORIZER) =>
      (await node.db.query('SELECT authorized, last_event_at FROM authorizers WHERE authorizer_id = ?', [id]))[0];
    const corpRow = async (id = CORP) =>
      (await node.db.query('SELECT authorized, last_event_at FROM authorizers WHERE authorizer_id = ?', [id]))[0];
    const wxToken = () => rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER });
    const corpToken = (o: { force?: boolean } = {}) =>
      rpc('wecom.tpauth.token', { codeName: 'suite', corpId: CORP, ...o });
    const unauthorized = (createTime: number) =>
      wxPush(xml({ AppId: COMPONENT, CreateTime: createTime, InfoType: 'unauthorized', AuthorizerAppid: AUTHORIZER }));
    const authorized = (createTime: number, infoType = 'authorized') =>
      wxPush(
        xml({
          AppId: COMPONENT,
          CreateTime: createTime,
          InfoType: infoType,
          AuthorizerAppid: AUTHORIZER,
          AuthorizationCode: wx.authorizationCode(COMPONENT, AUTHORIZER),
          AuthorizationCodeExpiredTime: createTime + 3600,
          PreAuthCode: 'pre',
        }),
      );
    const cancelAuth = (ts: number) =>
      wcPush(xml({ SuiteId: SUITE, InfoType: 'cancel_auth', TimeStamp: ts, AuthCorpId: CORP }));
    const createAuth = (ts: number, infoType = 'create_auth', withCorp = false) =>
      wcPush(
        xml({
          SuiteId: SUITE,
          AuthCode: wt.authCode(SUITE, CORP),
          InfoType: infoType,
          TimeStamp: ts,
          ...(withCorp ? { AuthCorpId: CORP } : {}),
          State: 's',
        }),
      );
    const ok = { status: 200, text: 'success' };

    describe('WeChat TP', () => {
      beforeEach(async () => {
        expect((await ticketPush(T - 1000)).status).to.equal(200);
      });

      it('unauthorized (T−100), authorized (T−50), the first replayed: stays authorized and served', async () => {
        expect(await unauthorized(T - 100)).to.deep.equal(ok);
        expect(await authorized(T - 50)).to.deep.equal(ok);
        expect((await wxToken()).returnCode).to.equal(0);
        expect(await unauthorized(T - 100)).to.deep.equal(ok);
        expect((await wxToken()).returnCode).to.equal(0);
        expect((await rpc('wechat.tp.authorizers', { codeName: 'tp' })).returnData.authorizers[0]).to.include({
          authorizerAppId: AUTHORIZER,
          authorized: true,
        });
        expect(await authorizerRow()).to.deep.include({ authorized: 1, last_event_at: (T - 50) * 1000 });
      });

      it('a late authorized / updateauthorized (older than the unauthorized applied) is not even exchanged; a newer one is', async () => {
        expect(await authorized(T - 200)).to.deep.equal(ok);
        expect(await unauthorized(T - 100)).to.deep.equal(ok);
        fake.reset();
        expect(await authorized(T - 150)).to.deep.equal(ok);
        expect(await authorized(T - 101, 'updateauthorized')).to.deep.equal(ok);
        expect(fake.count('api_query_auth')).to.equal(0);
        expect(await authorizerRow()).to.deep.include({ authorized: 0, last_event_at: (T - 100) * 1000 });
        expect((await wxToken()).returnCode).to.equal(1014);
        // the pushes are still recorded (and acknowledged: WeChat stops retrying)
        const listed = (await rpc('admin.push.list', { platform: 'wechat_tp', infoType: 'authorized' })).returnData
          .pushes;
        expect(listed).to.have.length(2);
        expect(await authorized(T - 10, 'updateauthorized')).to.deep.equal(ok);
        expect(fake.count('api_query_auth')).to.equal(1);
        expect((await wxToken()).returnCode).to.equal(0);
      });

      it('the authorization page redirect orders at the second of its exchange: older pushes are stale, one of the same second or later applies', async () => {
        const tp = await node.gh.services.parts(wechat).tp.require('tp');
        const before = Date.now();
        expect(
          await node.gh.services.parts(wechat).tp.authorize(tp, wx.authorizationCode(COMPONENT, AUTHORIZER)),
        ).to.equal(AUTHORIZER);
        const exchanged = Date.now();
        // from before the redirect, arriving late
        expect(await unauthorized(Math.floor(before / 1000) - 1)).to.deep.equal(ok);
        expect((await wxToken()).returnCode).to.equal(0);
        // the exchange counts as the start of its second: a push of that same second applies
        const at = Number((await authorizerRow()).last_event_at);
        expect(at).to.be.within(Math.floor(before / 1000) * 1000, exchanged);
        expect(at % 1000).to.equal(0);
        expect(await unauthorized(at / 1000)).to.deep.equal(ok);
        expect((await wxToken()).returnCode).to.equal(1014);
      });

      it('events of the same second apply in arrival order', async () => {
        expect(await authorized(T - 10)).to.deep.equal(ok);
        expect(await unauthorized(T - 10)).to.deep.equal(ok);
        expect((await wxToken()).returnCode).to.equal(1014);
        expect(await authorized(T - 10)).to.deep.equal(ok);
        expect((await wxToken()).returnCode).to.equal(0);
      });

      it('two nodes receiving the events in any order end in the state of the newest one', async () => {
        const other = await startNode({ dialect, fake, db: node.db });
        try {
          for (const finalAuthorized of [true, false]) {
            // eight events, alternating, the newest decides; sent at once, shuffled, half to each node
            const base = T + (finalAuthorized ? 0 : 100);
            const events = Array.from({ length: 8 }, (_, i) => ({
              at: base + i,
              auth: i % 2 === (finalAuthorized ? 1 : 0),
            }));
            const shuffled = [...events].sort(() => Math.random() - 0.5);
            const answers = await Promise.all(
              shuffled.map((e, i) => {
                const inner = e.auth
                  ? xml({
                      AppId: COMPONENT,
                      CreateTime: e.at,
                      InfoType: 'authorized',
                      AuthorizerAppid: AUTHORIZER,
                      AuthorizationCode: wx.authorizationCode(COMPONENT, AUTHORIZER),
                      AuthorizationCodeExpiredTime: e.at + 3600,
                      PreAuthCode: 'pre',
                    })
                  : xml({ AppId: COMPONENT, CreateTime: e.at, InfoType: 'unauthorized', AuthorizerAppid: AUTHORIZER });
                const p = signedPush(WX_TOKEN, WX_AES, COMPONENT, inner);
                return fetch(`${(i % 2 ? other : node).url}/wechat-tp/tp/events?${p.query}`, {
                  method: 'POST',
                  body: p.body,
                }).then((r) => r.status);
              }),
            );
            expect(answers).to.deep.equal(shuffled.map(() => 200));
            expect((await wxToken()).returnCode).to.equal(finalAuthorized ? 0 : 1014);
            expect(await authorizerRow()).to.deep.include({
              authorized: finalAuthorized ? 1 : 0,
              last_event_at: (base + 7) * 1000,
            });
          }
        } finally {
          await other.close();
        }
      });
    });

    describe('WeCom suite', () => {
      beforeEach(async () => {
        expect((await suiteTicketPush()).status).to.equal(200);
      });

      it('cancel_auth (T−100), create_auth (T−50), the cancel replayed: the corp stays authorized and served', async () => {
        expect(await cancelAuth(T - 100)).to.deep.equal(ok);
        expect(await createAuth(T - 50)).to.deep.equal(ok);
        expect((await corpToken()).returnCode).to.equal(0);
        expect(await cancelAuth(T - 100)).to.deep.equal(ok);
        expect((await corpToken()).returnCode).to.equal(0);
        expect(await corpRow()).to.deep.include({ authorized: 1, last_event_at: (T - 50) * 1000 });
      });

      it('a late create_auth is exchanged but not applied; a late reset_permanent_code naming the corp is not even exchanged', async () => {
        expect(await createAuth(T - 200)).to.deep.equal(ok);
        const permanent = await node.db.query('SELECT refresh_token FROM authorizers');
        expect(await cancelAuth(T - 100)).to.deep.equal(ok);
        fake.reset();
        // create_auth does not name the corp: known only after the exchange
        expect(await createAuth(T - 150)).to.deep.equal(ok);
        expect(fake.count('get_permanent_code')).to.equal(1);
        expect(await createAuth(T - 120, 'reset_permanent_code', true)).to.deep.equal(ok);
        expect(fake.count('get_permanent_code')).to.equal(1);
        expect((await corpToken()).returnCode).to.equal(1014);
        expect(await node.db.query('SELECT refresh_token FROM authorizers')).to.deep.equal(permanent);
        expect(await corpRow()).to.deep.include({ authorized: 0, last_event_at: (T - 100) * 1000 });
        expect(await createAuth(T - 10)).to.deep.equal(ok);
        expect((await corpToken()).returnCode).to.equal(0);
      });

      it('change_auth (T−20) orders too: a cancel_auth from before it is stale', async () => {
        expect(await createAuth(T - 50)).to.deep.equal(ok);
        expect(
          await wcPush(
            xml({ SuiteId: SUITE, InfoType: 'change_auth', TimeStamp: T - 20, AuthCorpId: CORP, State: 's' }),
          ),
        ).to.deep.equal(ok);
        expect(await cancelAuth(T - 30)).to.deep.equal(ok);
        expect((await corpToken()).returnCode).to.equal(0);
        expect(await corpRow()).to.deep.include({ authorized: 1, last_event_at: (T - 20) * 1000 });
      });

      it('the install redirect orders at the second of its exchange: an older cancel is stale; a reset of the same second applies', async () => {
        const tp = await node.gh.services.parts(wecom).tp.require('suite');
        const before = Date.now();
        expect(await node.gh.services.parts(wecom).tp.authorize(tp, wt.authCode(SUITE, CORP))).to.equal(CORP);
        expect(await cancelAuth(Math.floor(before / 1000) - 1)).to.deep.equal(ok);
        expect((await corpToken()).returnCode).to.equal(0);
        const at = Number((await corpRow()).last_event_at);
        expect(at % 1000).to.equal(0);
        const permanent = wt.permanentCode(SUITE, CORP);
        expect(await createAuth(at / 1000, 'reset_permanent_code')).to.deep.equal(ok);
        expect(wt.permanentCode(SUITE, CORP)).to.not.equal(permanent);
        expect(await corpRow()).to.deep.include({ authorized: 1, last_event_at: at });
        expect((await corpToken({ force: true })).returnCode).to.equal(0); // the new permanent code was kept
        expect(await cancelAuth(at / 1000 + 1)).to.deep.equal(ok);
        expect((await corpToken()).returnCode).to.equal(1014);
      });
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('item 9: element names and CDATA', () => {
    const RESERVED = ['__proto__', 'constructor', 'prototype'];
    const PLACES: Array<[string, (name: string) => Promise<{ status: number; text: string }>]> = [
      [
        'a child of the decrypted event',
        (n) =>
          wxPush(
            `<xml><AppId>${COMPONENT}</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType><${n}>x</${n}></xml>`,
          ),
      ],
      [
        'nested in the decrypted event',
        (n) =>
          wxPush(
            `<xml><InfoType>unauthorized</InfoType><AuthorizerAppid>${AUTHORIZER}</AuthorizerAppid><info><${n}><polluted>yes</polluted></${n}></info></xml>`,
          ),
      ],
      [
        'in a message',
        (n) =>
          wxPush(
            `<xml><MsgType>text</MsgType><${n}><polluted>1</polluted></${n}></xml>`,
            `/wechat-tp/tp/messages/${AUTHORIZER}`,
          ),
      ],
      [
        'in a WeCom push',
        (n) =>
          wcPush(
            `<xml><SuiteId>${SUITE}</SuiteId><InfoType>cancel_auth</InfoType><TimeStamp>${nowS()}</TimeStamp><AuthCorpId>${CORP}</AuthCorpId><${n}/></xml>`,
          ),
      ],
      [
        'in the outer envelope',
        (n) => {
          const p = signedPush(
            WX_TOKEN,
            WX_AES,
            COMPONENT,
            xml({ InfoType: 'unauthorized', AuthorizerAppid: AUTHORIZER }),
            { outer: `<${n}><polluted>1</polluted></${n}>` },
          );
          return post('/wechat-tp/tp/events', p.query, p.body);
        },
      ],
    ];
    for (const name of RESERVED) {
      for (const [where, send] of PLACES) {
        it(`<${name}> ${where}: 400, no error logged, nothing written, no prototype touched`, async () => {
          const before = await state();
          const r = await send(name);
          expect(r.status).to.equal(400);
          expect(r.text).to.match(/not accepted/);
          expect(await state()).to.equal(before);
          expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
          expect(logText()).to.not.match(/push handling failed|"level":50/);
          // a valid message after it: its forward is the first and only one to arrive
          const sentinel =
            '<xml><ToUserName><![CDATA[gh_1]]></ToUserName><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[sentinel]]></Content></xml>';
          expect(await wxPush(sentinel, `/wechat-tp/tp/messages/${AUTHORIZER}`)).to.deep.equal({
            status: 200,
            text: 'success',
          });
          await until(() => hook.got.length > 0, 'the sentinel forward');
          expect(hook.got).to.deep.equal([
            { appid: AUTHORIZER, message: { ToUserName: 'gh_1', MsgType: 'text', Content: 'sentinel' } },
          ]);
        });
      }
    }

    const CDATA_TEXTS: Array<[string, string]> = [
      ['markup', '<a><b>hi</b></a>'],
      ['a DOCTYPE', '<!DOCTYPE html><p>x</p>'],
      ['an entity declaration', '<!ENTITY e SYSTEM "file:///etc/passwd"> &e;'],
      ['deep-looking nesting', '<a>'.repeat(40)],
      ['the root element', '</xml><xml>'],
      ['a declaration and a comment', '<?xml version="1.0"?><!-- hi -->'],
      ['entities (as text)', '&lt;&amp;&#60; & &foo;'],
      ['element names', '<__proto__><constructor/></__proto__>'],
      ['spaces around', '  padded  '],
    ];
    for (const [what, content] of CDATA_TEXTS) {
      it(`a user message whose CDATA holds ${what} is accepted and forwarded exactly`, async () => {
        const inner = `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_user]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${content}]]></Content><MsgId>9223372036854775807</MsgId></xml>`;
        const r = await wxPush(inner, `/wechat-tp/tp/messages/${AUTHORIZER}`);
        expect(r).to.deep.equal({ status: 200, text: 'success' });
        await until(() => hook.got.length > 0, 'the forward');
        expect(hook.got).to.deep.equal([
          {
            appid: AUTHORIZER,
            message: {
              ToUserName: 'gh_1',
              FromUserName: 'o_user',
              CreateTime: '1700000000',
              MsgType: 'text',
              Content: content,
              MsgId: '9223372036854775807',
            },
          },
        ]);
      });
    }

    it('"]]>" split across two CDATA sections (as WeChat sends it) is read back whole', async () => {
      const inner = `<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>`;
      expect(await wxPush(inner, `/wechat-tp/tp/messages/${AUTHORIZER}`)).to.deep.equal({
        status: 200,
        text: 'success',
      });
      await until(() => hook.got.length > 0, 'the forward');
      expect(hook.got[0].message.Content).to.equal('a]]>b');
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe('item 10: admin.push.list masks every code, ticket and secret of every push kind', () => {
    interface Kind {
      kind: string;
      /** sends the push; returns the values that must never be listed in clear (path → value) */
      send(): Promise<Record<string, string>>;
      infoType: string;
      platform: 'wechat_tp' | 'wecom_tp';
    }
    const secret = (label: string) => `${label}_${crypto.randomBytes(10).toString('hex')}`;
    const KINDS: Kind[] = [
      {
        kind: 'component_verify_ticket',
        platform: 'wechat_tp',
        infoType: 'component_verify_ticket',
        async send() {
          const t = secret('cvt');
          expect(
            (
              await wxPush(
                xml({
                  AppId: COMPONENT,
                  CreateTime: nowS(),
                  InfoType: 'component_verify_ticket',
                  ComponentVerifyTicket: t,
                }),
              )
            ).status,
          ).to.equal(200);
          return { ComponentVerifyTicket: t };
        },
      },
      ...(['authorized', 'updateauthorized'] as const).map((infoType): Kind => ({
        kind: infoType,
        platform: 'wechat_tp',
        infoType,
        async send() {
          await ticketPush(nowS());
          const code = wx.authorizationCode(COMPONENT, AUTHORIZER);
          const pre = secret('preauthcode');
          expect(
            (
              await wxPush(
                xml({
                  AppId: COMPONENT,
                  CreateTime: nowS(),
                  InfoType: infoType,
                  AuthorizerAppid: AUTHORIZER,
                  AuthorizationCode: code,
                  AuthorizationCodeExpiredTime: nowS() + 3600,
                  PreAuthCode: pre,
                }),
              )
            ).status,
          ).to.equal(200);
          return { AuthorizationCode: code, PreAuthCode: pre };
        },
      })),
      {
        kind: 'notify_third_fasteregister (auth_code, nested info.code)',
        platform: 'wechat_tp',
        infoType: 'notify_third_fasteregister',
        async send() {
          const authCode = secret('fastauth');
          const code = secret('corpcode');
          const inner = `<xml><AppId><![CDATA[${COMPONENT}]]></AppId><CreateTime>${nowS()}</CreateTime><InfoType><![CDATA[notify_third_fasteregister]]></InfoType><appid>wxnewmini0000001</appid><status>0</status><auth_code>${authCode}</auth_code><msg>OK</msg><info><name><![CDATA[某公司]]></name><code><![CDATA[${code}]]></code><code_type>1</code_type><legal_persona_wechat><![CDATA[lp]]></legal_persona_wechat></info></xml>`;
          expect((await wxPush(inner)).status).to.equal(200);
          return { auth_code: authCode, 'info.code': code };
        },
      },
      {
        kind: 'a message event with a QR Ticket and a card code (any case)',
        platform: 'wechat_tp',
        infoType: 'subscribe',
        async send() {
          const ticket = secret('qrticket');
          const card = secret('cardcode');
          const token = secret('token');
          const inner = `<xml><ToUserName>gh_1</ToUserName><FromUserName>o_1</FromUserName><CreateTime>${nowS()}</CreateTime><MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_1</EventKey><Ticket>${ticket}</Ticket><USERCARDCODE>${card}</USERCARDCODE><Items><Item><access_token>${token}</access_token></Item><Item><x>1</x></Item></Items></xml>`;
          expect((await wxPush(inner, `/wechat-tp/tp/messages/${AUTHORIZER}`)).status).to.equal(200);
          return { Ticket: ticket, USERCARDCODE: card, 'Items.Item.0.access_token': token };
        },
      },
      {
        kind: 'suite_ticket',
        platform: 'wecom_tp',
        infoType: 'suite_ticket',
        async send() {
          const t = wt.ticket(SUITE);
          expect(
            (await wcPush(xml({ SuiteId: SUITE, InfoType: 'suite_ticket', TimeStamp: nowS(), SuiteTicket: t }))).status,
          ).to.equal(200);
          return { SuiteTicket: t };
        },
      },
      ...(['create_auth', 'reset_permanent_code'] as const).map((infoType): Kind => ({
        kind: infoType,
        platform: 'wecom_tp',
        infoType,
        async send() {
          await suiteTicketPush();
          const code = wt.authCode(SUITE, CORP);
          expect(
            (await wcPush(xml({ SuiteId: SUITE, AuthCode: code, InfoType: infoType, TimeStamp: nowS(), State: 'st1' })))
              .status,
          ).to.equal(200);
          return { AuthCode: code };
        },
      })),
      {
        kind: 'register_corp (RegisterCode, nested ContactSync.AccessToken)',
        platform: 'wecom_tp',
        infoType: 'register_corp',
        async send() {
          const reg = secret('registercode');
          const at = secret('accesstoken');
          const inner = `<xml><ServiceCorpId><![CDATA[wwservice]]></ServiceCorpId><InfoType><![CDATA[register_corp]]></InfoType><TimeStamp>${nowS()}</TimeStamp><RegisterCode><![CDATA[${reg}]]></RegisterCode><AuthCorpId><![CDATA[${CORP}]]></AuthCorpId><ContactSync><AccessToken><![CDATA[${at}]]></AccessToken><ExpiresIn><![CDATA[1800]]></ExpiresIn></ContactSync><AuthUserInfo><UserId><![CDATA[u1]]></UserId></AuthUserInfo></xml>`;
          expect((await wcPush(inner)).status).to.equal(200);
          return { RegisterCode: reg, 'ContactSync.AccessToken': at };
        },
      },
      {
        kind: 'change_external_contact (WelcomeCode), PermanentCode',
        platform: 'wecom_tp',
        infoType: 'change_external_contact',
        async send() {
          const welcome = secret('welcome');
          const pc = secret('permanent');
          const inner = `<xml><SuiteId><![CDATA[${SUITE}]]></SuiteId><AuthCorpId><![CDATA[${CORP}]]></AuthCorpId><InfoType><![CDATA[change_external_contact]]></InfoType><TimeStamp>${nowS()}</TimeStamp><ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID><WelcomeCode><![CDATA[${welcome}]]></WelcomeCode><permanent_code>${pc}</permanent_code></xml>`;
          expect((await wcPush(inner)).status).to.equal(200);
          return { WelcomeCode: welcome, permanent_code: pc };
        },
      },
    ];

    const at = (body: any, path: string): unknown =>
      path.split('.').reduce((v, k) => (v === undefined || v === null ? undefined : v[k]), body);

    for (const k of KINDS) {
      it(`${k.kind}: no issued value listed; each reads "****" + last 4`, async () => {
        const secrets = await k.send();
        const list = await rpc('admin.push.list', { platform: k.platform, infoType: k.infoType, limit: 200 });
        expect(list.returnCode).to.equal(0);
        const pushes = list.returnData.pushes as Array<{ body: any }>;
        expect(pushes.length).to.be.greaterThan(0);
        const listed = JSON.stringify(await rpc('admin.push.list', { limit: 200 }));
        for (const [path, value] of Object.entries(secrets)) {
          expect(listed, path).to.not.include(value);
          expect(at(pushes[0].body, path), path).to.equal(`****${value.slice(-4)}`);
        }
        expect(JSON.stringify(await node.db.query('SELECT body FROM pushes'))).to.not.include(
          Object.values(secrets)[0],
        );
      });
    }

    it('data fields stay readable (InfoType, appid, status, EventKey, State, code_type, ErrCode)', async () => {
      await wxPush(
        `<xml><AppId>${COMPONENT}</AppId><CreateTime>${nowS()}</CreateTime><InfoType>notify_third_fasteregister</InfoType><appid>wxnewmini0000001</appid><status>89249</status><ErrCode>0</ErrCode><auth_code>abcdefgh</auth_code><msg>x</msg><info><code_type>1</code_type></info></xml>`,
      );
      await wcPush(xml({ SuiteId: SUITE, InfoType: 'change_auth', TimeStamp: nowS(), AuthCorpId: CORP, State: 'st9' }));
      const all = (await rpc('admin.push.list', { limit: 200 })).returnData.pushes as Array<{
        infoType: string;
        body: any;
      }>;
      const fast = all.find((p) => p.infoType === 'notify_third_fasteregister')!.body;
      expect(fast).to.deep.equal({
        AppId: COMPONENT,
        CreateTime: fast.CreateTime,
        InfoType: 'notify_third_fasteregister',
        appid: 'wxnewmini0000001',
        status: '89249',
        ErrCode: '0',
        auth_code: '****efgh',
        msg: 'x',
        info: { code_type: '1' },
      });
      expect(all.find((p) => p.infoType === 'change_auth')!.body).to.include({ State: 'st9', AuthCorpId: CORP });
    });
  });
});
