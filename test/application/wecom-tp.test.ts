import { expect } from 'chai';
import type BetterSqlite3 from 'better-sqlite3';
import crypto from 'node:crypto';
// an independent implementation of WeCom's message crypto, to build what WeCom would push
import { decrypt as wecomDecrypt, encrypt as wecomEncrypt, getSignature } from '@wecom/crypto';
import { MsgCrypt } from '../../application/services/crypto/msgcrypt';
import { signCaller } from '../../system/callers';
import { FakePlatform } from '../fake/platform';
import { installWecomTp, type FakeWecomTp } from '../fake/wecom-tp';
import { freePort, serve, type ServeProcess } from '../helpers/cli';
import { forEachDialect, freshDatabase, requireMariadb, type TestDatabase } from '../helpers/db';
import { JWT_SECRET, startNode, type TestNode } from '../helpers/gatehouse';
import { until } from '../helpers/wait';

const SUITE = 'wwsuite0000000a1';
const SUITE2 = 'wwsuite0000000b2';
const SECRET = 'suite-secret-0001';
const PUSH_TOKEN = 'suitePushToken1';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const AES2 = 'ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj';
const CORP = 'wwcorp000000000c1';
const PUBLIC = 'https://gh.example.test';
const REDIRECT = 'https://example.com/installed';
const MASTER = crypto.randomBytes(32).toString('base64');

const nowS = () => Math.floor(Date.now() / 1000);

/** the XML WeCom encrypts (TimeStamp as a plain number, the rest in CDATA, as WeCom sends them) */
function toXml(fields: Record<string, string | number>): string {
  const parts = Object.entries(fields).map(([k, v]) =>
    typeof v === 'number' ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`,
  );
  return `<xml>${parts.join('')}</xml>`;
}

interface Signed {
  query: string;
  body: string;
}

/** a push as WeCom sends it to a suite's 指令回调URL, built with @wecom/crypto */
function buildPush(
  fields: Record<string, string | number>,
  o: { suiteId?: string; token?: string; aesKey?: string; receiver?: string } = {},
): Signed {
  const suiteId = o.suiteId ?? SUITE;
  const enc = wecomEncrypt(o.aesKey ?? AES, toXml(fields), o.receiver ?? suiteId);
  const timestamp = String(nowS());
  const nonce = crypto.randomBytes(5).toString('hex');
  const sig = getSignature(o.token ?? PUSH_TOKEN, timestamp, nonce, enc);
  return {
    query: new URLSearchParams({ msg_signature: sig, timestamp, nonce }).toString(),
    body: `<xml><ToUserName><![CDATA[${suiteId}]]></ToUserName><Encrypt><![CDATA[${enc}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`,
  };
}

async function deliver(
  base: string,
  codeName: string,
  p: Signed,
  query = p.query,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}/wecom-tp/${codeName}/events?${query}`, {
    method: 'POST',
    body: p.body,
    headers: { 'content-type': 'text/xml' },
  });
  return { status: res.status, text: await res.text() };
}

const push = (
  base: string,
  fields: Record<string, string | number>,
  codeName = 'suite',
  o: Parameters<typeof buildPush>[1] = {},
) => deliver(base, codeName, buildPush(fields, o));

const ticketPush = (
  base: string,
  ticket: string,
  timestamp = nowS(),
  suiteId = SUITE,
  codeName = 'suite',
  o: Parameters<typeof buildPush>[1] = {},
) =>
  push(base, { SuiteId: suiteId, InfoType: 'suite_ticket', TimeStamp: timestamp, SuiteTicket: ticket }, codeName, {
    suiteId,
    ...o,
  });

const createAuth = (base: string, authCode: string, timestamp = nowS()) =>
  push(base, { SuiteId: SUITE, AuthCode: authCode, InfoType: 'create_auth', TimeStamp: timestamp, State: 'st1' });

const cancelAuth = (base: string, corpId: string, timestamp = nowS()) =>
  push(base, { SuiteId: SUITE, InfoType: 'cancel_auth', TimeStamp: timestamp, AuthCorpId: corpId });

/** the URL an HTML forward page goes on to */
function forwardTarget(html: string): URL {
  const m = /id="go" href="([^"]+)"/.exec(html);
  expect(m, 'forward link').to.not.equal(null);
  return new URL(
    m![1]
      .replace(/&amp;/g, '&')
      .replace(/&#39;/g, "'")
      .replace(/&quot;/g, '"'),
  );
}

describe('WeCom message crypto against @wecom/crypto', () => {
  it('gatehouse and the independent implementation read each other (receiver id = suite id)', () => {
    const c = new MsgCrypt(PUSH_TOKEN, AES, SUITE);
    const msg = toXml({ SuiteId: SUITE, InfoType: 'suite_ticket', TimeStamp: 1403610513, SuiteTicket: '中文ticket' });
    const ours = c.encrypt(msg);
    expect(wecomDecrypt(AES, ours)).to.include({ message: msg, id: SUITE });
    expect(c.decrypt(wecomEncrypt(AES, msg, SUITE))).to.equal(msg);
    expect(c.signature('1403610513', 'nonce', ours)).to.equal(getSignature(PUSH_TOKEN, '1403610513', 'nonce', ours));
  });
});

forEachDialect('WeCom third-party suites (wecom_tp)', (dialect) => {
  let fake: FakePlatform;
  let wt: FakeWecomTp;
  let node: TestNode;
  let tok: string;

  const rpc = (name: string, para: Record<string, unknown>, token = tok) => node.rpc(name, para, token);
  const suiteToken = (para: Record<string, unknown> = {}) => rpc('wecom.tp.token', { codeName: 'suite', ...para });
  const corpToken = (para: Record<string, unknown> = {}) =>
    rpc('wecom.tpauth.token', { codeName: 'suite', corpId: CORP, ...para });
  /** a state nonce as the install page issues it (§7 trust), here without spending a pre_auth_code */
  const installState = (callerState = '') =>
    node.gh.services.authStates.issue({ platform: 'wecom_tp', codeName: 'suite', callerState });
  const tables = async () => {
    const out: Record<string, unknown> = {};
    for (const t of ['tickets', 'authorizers', 'pushes', 'tokens'])
      out[t] = await node.db.query(`SELECT * FROM ${t} ORDER BY 1, 2`);
    return JSON.stringify(out);
  };
  /** a ready suite: a suite_ticket pushed */
  const ready = async () => {
    expect(await ticketPush(node.url, wt.ticket(SUITE))).to.deep.equal({ status: 200, text: 'success' });
  };
  /** a ready suite with CORP installed through a create_auth push */
  const installed = async () => {
    await ready();
    expect(await createAuth(node.url, wt.authCode(SUITE, CORP))).to.deep.equal({ status: 200, text: 'success' });
  };

  before(async () => {
    fake = await new FakePlatform().start();
    wt = installWecomTp(fake);
    wt.suite(SUITE, SECRET);
    wt.suite(SUITE2, 'suite-secret-0002');
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    fake.lifetimeS = 7200;
    for (const api of ['get_suite_token', 'get_pre_auth_code', 'get_permanent_code', 'get_corp_token'])
      fake.mode(api, null);
    node = await startNode({
      dialect,
      fake,
      env: {
        GATEHOUSE_WECOM_OPEN: fake.url,
        GATEHOUSE_PUBLIC_URL: PUBLIC,
        GATEHOUSE_MASTER_KEY: MASTER,
        GATEHOUSE_REFRESH_SCAN_MS: '100',
      },
    });
    tok = node.token('wecom.* admin.*');
    const put = await rpc('admin.app.put', {
      platform: 'wecom_tp',
      codeName: 'suite',
      config: { suiteId: SUITE, secret: SECRET, token: PUSH_TOKEN, aesKey: AES, redirectUrl: REDIRECT },
    });
    expect(put.returnCode).to.equal(0);
    fake.reset();
  });
  afterEach(async () => node?.close());

  describe('callback URL', () => {
    it('URL verification: a signed echostr (receiver id = suite id) is answered with its plaintext', async () => {
      const plain = `echo-${crypto.randomBytes(8).toString('hex')}`;
      // an echostr with a "+" in it (the random IV decides; about a third have none): the case below always runs
      let echostr = wecomEncrypt(AES, plain, SUITE);
      for (let i = 0; i < 100 && !echostr.includes('+'); i++) echostr = wecomEncrypt(AES, plain, SUITE);
      expect(echostr).to.include('+');
      const timestamp = String(nowS());
      const nonce = 'n0nce';
      const q = (o: Record<string, string>) =>
        new URLSearchParams({
          msg_signature: getSignature(PUSH_TOKEN, timestamp, nonce, echostr),
          timestamp,
          nonce,
          echostr,
          ...o,
        }).toString();
      const get = (query: string, code = 'suite') => fetch(`${node.url}/wecom-tp/${code}/events?${query}`);

      const ok = await get(q({}));
      expect(ok.status).to.equal(200);
      expect(ok.headers.get('content-type')).to.match(/^text\/plain/);
      expect(await ok.text()).to.equal(plain);
      // an unencoded "+" in echostr arrives as a space: still verified
      const unencoded = q({}).replace(/%2B/g, '+');
      expect(unencoded).to.not.include('%2B');
      const spaced = await get(unencoded);
      expect(spaced.status).to.equal(200);
      expect(await spaced.text()).to.equal(plain);

      expect((await get(q({ msg_signature: '0'.repeat(40) }))).status).to.equal(403);
      expect((await get(q({ nonce: 'other' }))).status).to.equal(403);
      // correctly signed, but for another receiver / not decryptable
      const other = wecomEncrypt(AES, plain, 'wwsomebodyelse');
      expect(
        (
          await get(
            new URLSearchParams({
              msg_signature: getSignature(PUSH_TOKEN, timestamp, nonce, other),
              timestamp,
              nonce,
              echostr: other,
            }).toString(),
          )
        ).status,
      ).to.equal(400);
      const junk = Buffer.alloc(48, 7).toString('base64');
      expect(
        (
          await get(
            new URLSearchParams({
              msg_signature: getSignature(PUSH_TOKEN, timestamp, nonce, junk),
              timestamp,
              nonce,
              echostr: junk,
            }).toString(),
          )
        ).status,
      ).to.equal(400);
      expect((await get(new URLSearchParams({ msg_signature: 'x', timestamp, nonce }).toString())).status).to.equal(
        400,
      );
      const unknown = await get(q({}), 'nosuch');
      expect(unknown.status).to.equal(404);
      expect(await unknown.json()).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
    });

    it('1014 before the first suite_ticket; after one, wecom.tp.token makes exactly 1 upstream call', async () => {
      const before = await suiteToken();
      expect(before.returnCode).to.equal(1014);
      expect(fake.count('get_suite_token')).to.equal(0);

      const ticket = wt.ticket(SUITE);
      const ts = nowS();
      expect(await ticketPush(node.url, ticket, ts)).to.deep.equal({ status: 200, text: 'success' });
      const [row] = await node.db.query('SELECT * FROM tickets');
      expect(row).to.include({ platform: 'wecom_tp', app_id: SUITE, value: ticket });
      expect(Number(row.create_time)).to.equal(ts);

      const all = await Promise.all(Array.from({ length: 20 }, () => suiteToken()));
      expect(all.map((r) => r.returnCode)).to.deep.equal(Array(20).fill(0));
      expect(fake.count('get_suite_token')).to.equal(1);
      const r = all[0].returnData;
      expect(Object.keys(r).sort()).to.deep.equal(['expiresAt', 'suiteId', 'token']);
      expect(r.suiteId).to.equal(SUITE);
      expect(fake.isLive(r.token)).to.equal(true);
      expect(r.expiresAt).to.be.closeTo(nowS() + 7200, 5);
      expect((await suiteToken()).returnData.token).to.equal(r.token);
      expect(fake.count('get_suite_token')).to.equal(1);
    });

    it('an older or equal suite_ticket never replaces the stored one; a newer one does; suites never mix tickets', async () => {
      const t0 = nowS();
      const newer = wt.ticket(SUITE);
      expect((await ticketPush(node.url, newer, t0)).status).to.equal(200);
      const stored = JSON.stringify(await node.db.query('SELECT * FROM tickets'));

      expect((await ticketPush(node.url, wt.ticket(SUITE), t0 - 600)).status).to.equal(200);
      expect((await ticketPush(node.url, wt.ticket(SUITE), t0)).status).to.equal(200);
      expect(JSON.stringify(await node.db.query('SELECT * FROM tickets'))).to.equal(stored);

      const newest = wt.ticket(SUITE);
      expect((await ticketPush(node.url, newest, t0 + 600)).status).to.equal(200);
      let rows = await node.db.query('SELECT * FROM tickets');
      expect(rows).to.have.length(1);
      expect(rows[0].value).to.equal(newest);

      // a second suite on the same deployment keeps its own ticket
      expect(
        (
          await rpc('admin.app.put', {
            platform: 'wecom_tp',
            codeName: 'suite2',
            config: { suiteId: SUITE2, secret: 'suite-secret-0002', token: 'pushToken2', aesKey: AES2 },
          })
        ).returnCode,
      ).to.equal(0);
      const t2 = wt.ticket(SUITE2);
      expect(
        await ticketPush(node.url, t2, t0 - 3600, SUITE2, 'suite2', { token: 'pushToken2', aesKey: AES2 }),
      ).to.deep.equal({ status: 200, text: 'success' });
      rows = await node.db.query('SELECT app_id, value FROM tickets ORDER BY app_id');
      expect(rows).to.deep.equal([
        { app_id: SUITE, value: newest },
        { app_id: SUITE2, value: t2 },
      ]);
      // suite 2's push does not verify under suite 1's URL
      expect(
        (await ticketPush(node.url, wt.ticket(SUITE2), t0, SUITE2, 'suite', { token: 'pushToken2', aesKey: AES2 }))
          .status,
      ).to.equal(403);
      expect((await rpc('wecom.tp.token', { codeName: 'suite2' })).returnData.suiteId).to.equal(SUITE2);
      expect((await suiteToken()).returnData.suiteId).to.equal(SUITE);
      expect(fake.count('get_suite_token', SUITE)).to.equal(1);
      expect(fake.count('get_suite_token', SUITE2)).to.equal(1);
    });

    it('bad signature → 403, garbage → 400, over 64 KiB → 413, unknown codeName → 404; none of them writes anything', async () => {
      await ready();
      const before = await tables();
      const good = buildPush({
        SuiteId: SUITE,
        InfoType: 'suite_ticket',
        TimeStamp: nowS() + 60,
        SuiteTicket: wt.ticket(SUITE),
      });

      const badSig = good.query.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'a'.repeat(40)}`);
      expect((await deliver(node.url, 'suite', good, badSig)).status).to.equal(403);
      expect(
        (
          await push(
            node.url,
            { SuiteId: SUITE, InfoType: 'suite_ticket', TimeStamp: nowS() + 60, SuiteTicket: 'x' },
            'suite',
            { token: 'wrong-token' },
          )
        ).status,
      ).to.equal(403);
      expect((await deliver(node.url, 'suite', { ...good, body: 'this is not xml at all' })).status).to.equal(400);
      expect(
        (await deliver(node.url, 'suite', { ...good, body: '<xml><Encrypt><![CDATA[x]]></Encrypt>' })).status,
      ).to.equal(400);
      expect(
        (
          await deliver(node.url, 'suite', {
            ...good,
            body: '<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>',
          })
        ).status,
      ).to.equal(400);
      expect(
        (await deliver(node.url, 'suite', { ...good, body: '<xml><ToUserName>x</ToUserName></xml>' })).status,
      ).to.equal(400);
      // correctly signed, not decryptable / for another receiver
      const junk = Buffer.alloc(64, 9).toString('base64');
      const ts = String(nowS());
      const junkQuery = new URLSearchParams({
        msg_signature: getSignature(PUSH_TOKEN, ts, 'n', junk),
        timestamp: ts,
        nonce: 'n',
      }).toString();
      expect(
        (
          await deliver(node.url, 'suite', {
            query: junkQuery,
            body: `<xml><Encrypt><![CDATA[${junk}]]></Encrypt></xml>`,
          })
        ).status,
      ).to.equal(400);
      expect(
        (
          await push(
            node.url,
            { SuiteId: SUITE, InfoType: 'suite_ticket', TimeStamp: nowS() + 60, SuiteTicket: 'x' },
            'suite',
            { receiver: 'wwother' },
          )
        ).status,
      ).to.equal(400);
      // over 64 KiB, correctly signed
      const big = buildPush({
        SuiteId: SUITE,
        InfoType: 'suite_ticket',
        TimeStamp: nowS() + 60,
        SuiteTicket: 'x',
        Pad: 'p'.repeat(70_000),
      });
      expect((await deliver(node.url, 'suite', big)).status).to.equal(413);
      expect((await deliver(node.url, 'nosuch', good)).status).to.equal(404);
      // a disabled suite is unknown too
      await rpc('admin.app.put', {
        platform: 'wecom_tp',
        codeName: 'off',
        config: { suiteId: SUITE, secret: SECRET, token: PUSH_TOKEN, aesKey: AES, enabled: false },
      });
      const off = await deliver(node.url, 'off', good);
      expect(off.status).to.equal(404);
      expect(JSON.parse(off.text)).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });
      expect(await tables()).to.equal(before);
      // and the good one still goes through
      expect(await deliver(node.url, 'suite', good)).to.deep.equal({ status: 200, text: 'success' });
      expect(await tables()).to.not.equal(before);
    });
  });

  describe('authorized corps', () => {
    it('create_auth stores the corp with its permanent code sealed and seeds its token: no get_corp_token call', async () => {
      const code = wt.authCode(SUITE, CORP, 'Acme');
      // before any suite_ticket (or while WeCom fails) the push is not acknowledged: WeCom pushes it again
      const empty = await tables();
      expect((await createAuth(node.url, code)).status).to.equal(503);
      await ready();
      fake.mode('get_permanent_code', { http: 502 });
      expect((await createAuth(node.url, code)).status).to.equal(503);
      fake.mode('get_permanent_code', { errcode: -1, errmsg: 'system busy' });
      expect((await createAuth(node.url, code)).status).to.equal(503);
      fake.mode('get_permanent_code', null);
      expect(JSON.parse(await tables()).authorizers).to.deep.equal(JSON.parse(empty).authorizers);
      fake.reset();

      expect(await createAuth(node.url, code)).to.deep.equal({ status: 200, text: 'success' });
      expect(fake.count('get_permanent_code')).to.equal(1);
      const permanent = wt.permanentCode(SUITE, CORP)!;
      expect(permanent).to.be.a('string');

      const [row] = await node.db.query('SELECT * FROM authorizers');
      expect(row).to.include({ platform: 'wecom_tp', owner_id: SUITE, authorizer_id: CORP });
      expect(Number(row.authorized)).to.equal(1);
      expect(String(row.refresh_token)).to.match(/^enc:v1:/);
      expect(JSON.stringify(row)).to.not.include(permanent);
      expect(JSON.parse(String(row.info)).auth_corp_info.corp_name).to.equal('Acme');
      expect(JSON.stringify(await node.db.query('SELECT * FROM pushes'))).to.not.include(code);

      const r = await corpToken();
      expect(r.returnCode).to.equal(0);
      expect(Object.keys(r.returnData).sort()).to.deep.equal(['corpId', 'expiresAt', 'suiteId', 'token']);
      expect(r.returnData).to.include({ suiteId: SUITE, corpId: CORP });
      expect(fake.isLive(r.returnData.token)).to.equal(true);
      expect(r.returnData.expiresAt).to.be.closeTo(nowS() + 7200, 5);
      expect(fake.count('get_corp_token')).to.equal(0);

      const list = await rpc('wecom.tp.authorizers', { codeName: 'suite' });
      expect(list.returnCode).to.equal(0);
      expect(list.returnData.corps).to.have.length(1);
      expect(list.returnData.corps[0]).to.include({ corpId: CORP, authorized: true });
      expect(list.returnData.corps[0].updatedAt).to.be.closeTo(nowS(), 5);

      // a forced refresh goes through get_corp_token with the (opened) permanent code
      const forced = await corpToken({ force: true });
      expect(forced.returnCode).to.equal(0);
      expect(forced.returnData.token).to.not.equal(r.returnData.token);
      expect(fake.isLive(forced.returnData.token)).to.equal(true);
      expect(fake.count('get_corp_token')).to.equal(1);
      expect(fake.count('get_suite_token')).to.equal(0); // the one fetched for the first attempts is still good
    });

    it('install page: an HTML page on to WeCom with suite_id, a fresh pre_auth_code, redirect_uri and state', async () => {
      const notReady = await fetch(`${node.url}/wecom-tp/suite/install?state=s1`);
      expect(notReady.status).to.equal(503);
      expect(notReady.headers.get('content-type')).to.match(/^text\/html/);
      const unknown = await fetch(`${node.url}/wecom-tp/nosuch/install`);
      expect(unknown.status).to.equal(404);
      expect(await unknown.json()).to.deep.equal({ returnCode: 1012, returnMessage: 'NO_APP' });

      await ready();
      const res = await fetch(`${node.url}/wecom-tp/suite/install?state=from-admin_1`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
      const target = forwardTarget(await res.text());
      expect(`${target.origin}${target.pathname}`).to.equal(`${fake.url}/3rdapp/install`);
      expect(target.searchParams.get('suite_id')).to.equal(SUITE);
      expect(wt.preAuthOf(target.searchParams.get('pre_auth_code')!)).to.equal(SUITE);
      expect(target.searchParams.get('redirect_uri')).to.equal(`${PUBLIC}/wecom-tp/suite/installed`);
      // WeCom gets the page's single-use nonce (§7 trust); the caller's state comes back to redirectUrl
      expect(target.searchParams.get('state')).to.match(/^[0-9a-f]{32}$/);
      expect(fake.count('get_pre_auth_code')).to.equal(1);
      // the install page on the (fake) WeCom site gets them; its redirect lands with the caller's state
      const landing = await (await fetch(target)).text();
      expect(landing).to.include(SUITE).and.include(target.searchParams.get('pre_auth_code')!);
      const approve = new URL(/id="approve" href="([^"]+)"/.exec(landing)![1].replace(/&#38;/g, '&'));
      const back = await fetch(`${node.url}${approve.pathname}${approve.search}`, { redirect: 'manual' });
      expect(back.status).to.equal(302);
      expect(new URL(back.headers.get('location')!).searchParams.get('state')).to.equal('from-admin_1');

      // each visit gets a fresh code
      const again = forwardTarget(await (await fetch(`${node.url}/wecom-tp/suite/install`)).text());
      expect(again.searchParams.get('pre_auth_code')).to.not.equal(target.searchParams.get('pre_auth_code'));
      expect(again.searchParams.get('state'))
        .to.match(/^[0-9a-f]{32}$/)
        .and.not.equal(target.searchParams.get('state'));
      expect((await fetch(`${node.url}/wecom-tp/suite/install?state=${'x'.repeat(129)}`)).status).to.equal(400);

      // WeCom refusing the pre_auth_code call: a page, not a 500
      fake.mode('get_pre_auth_code', { errcode: 40083, errmsg: 'invalid suiteid' });
      const refused = await fetch(`${node.url}/wecom-tp/suite/install`);
      expect(refused.status).to.equal(502);
      fake.mode('get_pre_auth_code', { http: 500 });
      expect((await fetch(`${node.url}/wecom-tp/suite/install`)).status).to.equal(503);
    });

    it('a rejected suite token (42009 expired / 40082 invalid) is compare-and-refreshed once', async () => {
      await ready();
      const first = (await suiteToken()).returnData.token;
      fake.expireAll(); // WeCom now answers 42009 for it
      const res = await fetch(`${node.url}/wecom-tp/suite/install`);
      expect(res.status).to.equal(200);
      expect(fake.count('get_suite_token')).to.equal(2);
      expect(fake.count('get_pre_auth_code')).to.equal(2);
      const now = (await suiteToken()).returnData.token;
      expect(now).to.not.equal(first);
      expect(fake.isLive(now)).to.equal(true);

      // a stored token WeCom never issued: 40082
      // (a minute later: the 30 s refresh budget of the first invalidation has passed)
      await rawUpdate(node, 'UPDATE tokens SET value = ?, forced_at = NULL WHERE kind = ?', [
        'not-a-suite-token',
        'suite_access_token',
      ]);
      node.gh.services.engine.forget(`wecom_tp:${SUITE}:suite_access_token`);
      expect((await suiteToken()).returnData.token).to.equal('not-a-suite-token');
      expect(
        (
          await fetch(
            `${node.url}/wecom-tp/suite/installed?auth_code=${wt.authCode(SUITE, CORP)}&state=${await installState()}`,
            { redirect: 'manual' },
          )
        ).status,
      ).to.equal(302);
      expect(fake.count('get_suite_token')).to.equal(3);
      expect(fake.count('get_permanent_code')).to.equal(2);
      expect(fake.isLive((await suiteToken()).returnData.token)).to.equal(true);
    });

    it('/installed exchanges auth_code at once, stores the corp and redirects to redirectUrl with the query', async () => {
      await ready();
      const code = wt.authCode(SUITE, CORP);
      const res = await fetch(
        `${node.url}/wecom-tp/suite/installed?auth_code=${code}&expires_in=1200&state=${await installState('abc')}`,
        { redirect: 'manual' },
      );
      expect(res.status).to.equal(302);
      const loc = new URL(res.headers.get('location')!);
      expect(`${loc.origin}${loc.pathname}`).to.equal(REDIRECT);
      expect(loc.searchParams.get('state')).to.equal('abc');
      expect(loc.searchParams.get('auth_code')).to.equal(code);
      expect(loc.searchParams.get('expires_in')).to.equal('1200');
      expect(loc.searchParams.get('auth_corpid')).to.equal(CORP);
      expect(fake.count('get_permanent_code')).to.equal(1);
      const [row] = await node.db.query('SELECT * FROM authorizers');
      expect(row).to.include({ owner_id: SUITE, authorizer_id: CORP });
      expect(JSON.stringify(row)).to.not.include(wt.permanentCode(SUITE, CORP)!);
      const t = await corpToken();
      expect(t.returnCode).to.equal(0);
      expect(fake.isLive(t.returnData.token)).to.equal(true);
      expect(fake.count('get_corp_token')).to.equal(0);

      // the same code in a create_auth push (already exchanged: WeCom says 40078) is acknowledged, the corp stays
      expect(await createAuth(node.url, code)).to.deep.equal({ status: 200, text: 'success' });
      expect((await corpToken()).returnData.token).to.equal(t.returnData.token);
      // used again on the redirect: a page, not a 500
      const reused = await fetch(
        `${node.url}/wecom-tp/suite/installed?auth_code=${code}&state=${await installState()}`,
        { redirect: 'manual' },
      );
      expect(reused.status).to.equal(502);
      // without a state the install page issued: 400, nothing exchanged
      const exchanges = fake.count('get_permanent_code');
      expect(
        (
          await fetch(`${node.url}/wecom-tp/suite/installed?auth_code=${wt.authCode(SUITE, CORP)}`, {
            redirect: 'manual',
          })
        ).status,
      ).to.equal(400);
      expect(fake.count('get_permanent_code')).to.equal(exchanges);
      for (const q of ['', '?auth_code=', `?auth_code=${'c'.repeat(513)}&state=${await installState()}`]) {
        const missing = await fetch(`${node.url}/wecom-tp/suite/installed${q}`, { redirect: 'manual' });
        expect(missing.status, q).to.equal(400);
        expect(await missing.text(), q).to.include('Missing auth_code');
      }
      expect(fake.count('get_permanent_code')).to.equal(exchanges);
      expect(
        (await fetch(`${node.url}/wecom-tp/nosuch/installed?auth_code=x`, { redirect: 'manual' })).status,
      ).to.equal(404);

      // without a redirectUrl: a success page
      await rpc('admin.app.put', {
        platform: 'wecom_tp',
        codeName: 'suite',
        config: { suiteId: SUITE, secret: SECRET, token: PUSH_TOKEN, aesKey: AES },
      });
      const page = await fetch(
        `${node.url}/wecom-tp/suite/installed?auth_code=${wt.authCode(SUITE, 'wwcorp000000000c2')}&state=${await installState()}`,
        { redirect: 'manual' },
      );
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      expect(await page.text()).to.include('wwcorp000000000c2');
      expect(
        (await rpc('wecom.tp.authorizers', { codeName: 'suite' })).returnData.corps.map(
          (c: { corpId: string }) => c.corpId,
        ),
      ).to.deep.equal([CORP, 'wwcorp000000000c2']);
    });

    it('cancel_auth answers 1014 at once and clears the token; a replayed older cancel changes nothing; a new install serves again', async () => {
      const t0 = nowS();
      await ready();
      expect((await createAuth(node.url, wt.authCode(SUITE, CORP), t0)).status).to.equal(200);
      expect((await corpToken()).returnCode).to.equal(0);

      // an out-of-order cancel from before this authorization
      expect(await cancelAuth(node.url, CORP, t0 - 3600)).to.deep.equal({ status: 200, text: 'success' });
      expect((await corpToken()).returnCode).to.equal(0);

      expect(await cancelAuth(node.url, CORP, t0 + 1)).to.deep.equal({ status: 200, text: 'success' });
      const r = await corpToken();
      expect(r.returnCode).to.equal(1014);
      expect(r.returnData).to.equal('');
      const [tokenRow] = await node.db.query("SELECT value FROM tokens WHERE kind = 'corp_access_token'");
      expect(tokenRow.value).to.equal(null);
      expect((await rpc('wecom.tp.authorizers', { codeName: 'suite' })).returnData.corps[0]).to.include({
        corpId: CORP,
        authorized: false,
      });
      // replayed: still harmless
      expect((await cancelAuth(node.url, CORP, t0 + 1)).status).to.equal(200);
      // a cancel for a corp gatehouse never saw is recorded as not authorized
      expect((await cancelAuth(node.url, 'wwneverseen0001')).status).to.equal(200);
      expect((await corpToken({ corpId: 'wwneverseen0001' })).returnCode).to.equal(1014);

      expect((await createAuth(node.url, wt.authCode(SUITE, CORP), t0 + 2)).status).to.equal(200);
      const back = await corpToken();
      expect(back.returnCode).to.equal(0);
      expect(fake.isLive(back.returnData.token)).to.equal(true);
    });

    it('reset_permanent_code stores the new permanent code; change_auth is recorded', async () => {
      await installed();
      const [before] = await node.db.query('SELECT refresh_token FROM authorizers');
      const old = wt.permanentCode(SUITE, CORP);
      expect(
        await push(node.url, {
          SuiteId: SUITE,
          AuthCode: wt.authCode(SUITE, CORP),
          InfoType: 'reset_permanent_code',
          TimeStamp: nowS(),
        }),
      ).to.deep.equal({ status: 200, text: 'success' });
      expect(wt.permanentCode(SUITE, CORP)).to.not.equal(old);
      const [after] = await node.db.query('SELECT refresh_token FROM authorizers');
      expect(after.refresh_token).to.not.equal(before.refresh_token);
      fake.reset();
      const forced = await corpToken({ force: true });
      expect(forced.returnCode).to.equal(0);
      expect(fake.count('get_corp_token')).to.equal(1); // accepted: the current permanent code was sent

      expect(
        await push(node.url, {
          SuiteId: SUITE,
          InfoType: 'change_auth',
          TimeStamp: nowS(),
          AuthCorpId: CORP,
          State: 'x',
        }),
      ).to.deep.equal({ status: 200, text: 'success' });
      expect((await corpToken()).returnCode).to.equal(0);
      const pushes = (await rpc('admin.push.list', { platform: 'wecom_tp', infoType: 'change_auth' })).returnData
        .pushes;
      expect(pushes).to.have.length(1);
      expect(pushes[0]).to.include({ appId: CORP, codeName: 'suite' });
    });

    it('a permanent code WeCom no longer accepts (40084) marks the corp for re-installation: 1014, not retried', async () => {
      await installed();
      wt.revoke(SUITE, CORP);
      const r = await corpToken({ force: true });
      expect(r.returnCode).to.equal(1014);
      expect(fake.count('get_corp_token')).to.equal(1);
      expect((await corpToken({ force: true })).returnCode).to.equal(1014);
      expect(fake.count('get_corp_token')).to.equal(1);
      expect((await rpc('wecom.tp.authorizers', { codeName: 'suite' })).returnData.corps[0]).to.include({
        corpId: CORP,
        authorized: false,
      });
      const list = (await rpc('admin.token.list', { platform: 'wecom_tp' })).returnData.tokens;
      expect(JSON.stringify(list)).to.match(/40084|permanent code invalid/);
    });

    it('the background refresher renews a corp token ahead of expiry', async () => {
      await installed();
      const first = (await corpToken()).returnData.token;
      // make the stored token due for refresh-ahead; the refresher scans every 100 ms in these tests
      await rawUpdate(node, 'UPDATE tokens SET refresh_at = ? WHERE kind = ?', [Date.now() - 1, 'corp_access_token']);
      // the new token is stored after WeCom answers: wait for the row, not for the call
      const stored = async () =>
        (await node.db.query("SELECT value, refresh_at FROM tokens WHERE kind = 'corp_access_token'"))[0];
      await until(async () => (await stored()).value !== first, 'the refreshed corp token stored', 10_000);
      expect(fake.count('get_corp_token')).to.equal(1);
      const row = await stored();
      expect(row.value).to.not.equal(first);
      expect(fake.isLive(String(row.value))).to.equal(true);
      expect(Number(row.refresh_at)).to.be.greaterThan(Date.now());
    });
  });

  describe('interfaces', () => {
    it('validates para, answers 1012 for unknown suites and corps, honours the apps claim', async () => {
      await installed();
      expect((await corpToken({ force: 'true' })).returnCode).to.equal(1003);
      expect((await corpToken({ extra: 1 })).returnCode).to.equal(1003);
      expect((await rpc('wecom.tpauth.token', { codeName: 'suite' })).returnCode).to.equal(1003);
      expect((await rpc('wecom.tp.authorizers', { codeName: 'suite', sync: true })).returnCode).to.equal(1003);
      expect((await corpToken({ codeName: 'nosuch' })).returnCode).to.equal(1012);
      expect((await corpToken({ corpId: 'wwunknown0000001' })).returnCode).to.equal(1012);
      expect((await rpc('wecom.tp.token', { codeName: 'nosuch' })).returnCode).to.equal(1012);
      expect((await node.rpc('wecom.tp.token', { codeName: 'suite' })).returnCode).to.equal(4001);

      expect(
        (await rpc('wecom.tpauth.token', { codeName: 'suite', corpId: CORP }, node.token('wecom.tpauth.*', ['other'])))
          .returnCode,
      ).to.equal(4003);
      expect((await rpc('wecom.tp.token', { codeName: 'suite' }, node.token('wecom.tpauth.*'))).returnCode).to.equal(
        4003,
      );
      // like wechat.tpauth.*: the claim must cover the suite (codeName or suite id) and the corp
      for (const apps of [
        ['suite', CORP],
        [SUITE, CORP],
      ]) {
        expect(
          (await rpc('wecom.tpauth.token', { codeName: 'suite', corpId: CORP }, node.token('wecom.tpauth.*', apps)))
            .returnCode,
          apps[0],
        ).to.equal(0);
      }
      for (const apps of [['suite'], [CORP]]) {
        expect(
          (await rpc('wecom.tpauth.token', { codeName: 'suite', corpId: CORP }, node.token('wecom.tpauth.*', apps)))
            .returnCode,
          apps[0],
        ).to.equal(4003);
      }
      expect(
        (await rpc('wecom.tp.token', { codeName: 'suite' }, node.token('wecom.tp.*', [SUITE]))).returnCode,
      ).to.equal(0);

      // invalidToken compare-and-refresh
      const cur = (await corpToken()).returnData.token;
      expect((await corpToken({ invalidToken: 'not-the-current-one' })).returnData.token).to.equal(cur);
      expect(fake.count('get_corp_token')).to.equal(0);
      const fresh = (await corpToken({ invalidToken: cur })).returnData.token;
      expect(fresh).to.not.equal(cur);
      expect(fake.count('get_corp_token')).to.equal(1);

      const doc = (await (await fetch(`${node.url}/openrpc.json`)).json()) as { methods: Array<{ name: string }> };
      const names = doc.methods.map((m) => m.name);
      for (const n of ['wecom.tp.token', 'wecom.tp.authorizers', 'wecom.tpauth.token']) expect(names).to.include(n);
    });

    it('admin.push.list shows the pushes, decrypted, with SuiteTicket and AuthCode masked', async () => {
      const ticket = wt.ticket(SUITE);
      expect((await ticketPush(node.url, ticket)).status).to.equal(200);
      const code = wt.authCode(SUITE, CORP);
      expect((await createAuth(node.url, code)).status).to.equal(200);
      expect((await cancelAuth(node.url, CORP)).status).to.equal(200);
      const list = await rpc('admin.push.list', { platform: 'wecom_tp' });
      expect(list.returnCode).to.equal(0);
      const pushes = list.returnData.pushes as Array<{
        infoType: string;
        appId: string;
        body: Record<string, string>;
        verified: boolean;
        codeName: string;
        platform: string;
      }>;
      expect(pushes.map((p) => p.infoType)).to.deep.equal(['cancel_auth', 'create_auth', 'suite_ticket']);
      expect(pushes.every((p) => p.verified && p.codeName === 'suite' && p.platform === 'wecom_tp')).to.equal(true);
      expect(pushes[0].appId).to.equal(CORP);
      expect(pushes[1].appId).to.equal(CORP);
      expect(pushes[2].appId).to.equal(SUITE);
      expect(pushes[2].body.SuiteTicket).to.equal(`****${ticket.slice(-4)}`);
      expect(pushes[2].body.SuiteId).to.equal(SUITE);
      expect(pushes[1].body.AuthCode).to.equal(`****${code.slice(-4)}`);
      expect(pushes[1].body.State).to.equal('st1');
      const text = JSON.stringify(list) + JSON.stringify(await node.db.query('SELECT * FROM pushes'));
      expect(text).to.not.include(ticket).and.not.include(code);
      // nothing secret in the log either
      const log = (await import('node:fs')).readFileSync(node.logFile, 'utf8');
      expect(log)
        .to.not.include(ticket)
        .and.not.include(code)
        .and.not.include(wt.permanentCode(SUITE, CORP) ?? 'n/a');
    });
  });
});

/** runs a write against the test database (TestDatabase.query opens SQLite read-only) */
async function rawUpdate(node: TestNode, sql: string, params: unknown[]): Promise<void> {
  if (node.db.dialect === 'mariadb') {
    await node.db.query(sql, params);
    return;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(node.db.url.slice('sqlite:'.length));
  try {
    db.prepare(sql).run(...(params as never[]));
  } finally {
    db.close();
  }
}

/** Two real gatehouse processes on one MariaDB: a cancel_auth pushed to one stops the other at once. */
describe('WeCom suites across two nodes on one MariaDB', function () {
  this.timeout(90_000);
  let db: TestDatabase;
  let fake: FakePlatform;
  let wt: FakeWecomTp;
  let nodes: ServeProcess[] = [];
  const TOKEN = signCaller(JWT_SECRET, { sub: 'wecom-tp-cluster', scope: '*', ttlSeconds: 3600 });
  const rpc = async (n: ServeProcess, interfaceName: string, para: unknown) => {
    const res = await fetch(`${n.url}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ interface: { interfaceName, para } }),
    });
    return (await res.json()) as { returnCode: number; returnData: any };
  };

  before(async function () {
    await requireMariadb(this);
    db = await freshDatabase('mariadb');
    fake = await new FakePlatform().start();
    wt = installWecomTp(fake);
    wt.suite(SUITE, SECRET);
    const env = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_MASTER_KEY: MASTER,
      GATEHOUSE_WECHAT_API: fake.url,
      GATEHOUSE_WECOM_API: fake.url,
      GATEHOUSE_WECOM_OPEN: fake.url,
      GATEHOUSE_PUBLIC_URL: PUBLIC,
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
    };
    // one after the other: both migrate the same fresh database
    nodes.push(await serve({ ...env, GATEHOUSE_PORT: freePort() }));
    nodes.push(await serve({ ...env, GATEHOUSE_PORT: freePort() }));
  });
  after(async () => {
    for (const n of nodes) n.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    nodes = [];
    await fake?.stop();
    await db?.drop();
  });

  it('cancel_auth delivered to node A → node B answers 1014 for wecom.tpauth.token immediately', async () => {
    const [a, b] = nodes;
    expect(
      (
        await rpc(a, 'admin.app.put', {
          platform: 'wecom_tp',
          codeName: 'suite',
          config: { suiteId: SUITE, secret: SECRET, token: PUSH_TOKEN, aesKey: AES },
        })
      ).returnCode,
    ).to.equal(0);
    expect(await ticketPush(a.url, wt.ticket(SUITE))).to.deep.equal({ status: 200, text: 'success' });
    expect(await createAuth(b.url, wt.authCode(SUITE, CORP))).to.deep.equal({ status: 200, text: 'success' });
    // both nodes serve (and cache) the corp's token
    const ta = await rpc(a, 'wecom.tpauth.token', { codeName: 'suite', corpId: CORP });
    const tb = await rpc(b, 'wecom.tpauth.token', { codeName: 'suite', corpId: CORP });
    expect([ta.returnCode, tb.returnCode]).to.deep.equal([0, 0]);
    expect(tb.returnData.token).to.equal(ta.returnData.token);
    expect(fake.count('get_corp_token')).to.equal(0);
    expect(fake.count('get_suite_token')).to.equal(1);

    expect(await cancelAuth(a.url, CORP)).to.deep.equal({ status: 200, text: 'success' });
    const [rb, ra] = await Promise.all([
      rpc(b, 'wecom.tpauth.token', { codeName: 'suite', corpId: CORP }),
      rpc(a, 'wecom.tpauth.token', { codeName: 'suite', corpId: CORP }),
    ]);
    expect(rb.returnCode).to.equal(1014);
    expect(ra.returnCode).to.equal(1014);
    expect((await rpc(b, 'wecom.tp.authorizers', { codeName: 'suite' })).returnData.corps).to.deep.equal([
      {
        corpId: CORP,
        authorized: false,
        updatedAt: (await rpc(a, 'wecom.tp.authorizers', { codeName: 'suite' })).returnData.corps[0].updatedAt,
      },
    ]);
    expect(fake.count('get_corp_token')).to.equal(0);
    // the permanent code is sealed in the shared store
    const [row] = await db.query('SELECT refresh_token FROM authorizers');
    expect(String(row.refresh_token)).to.match(/^enc:v1:/);
    expect(String(row.refresh_token)).to.not.include(wt.permanentCode(SUITE, CORP)!);
  });
});
