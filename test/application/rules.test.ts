import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import { FakePlatform } from '../fake/platform';
import { FakeWechatTp } from '../fake/wechat-tp';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { thief } from '../helpers/net';
import { signedPush, xml } from '../helpers/push';
import { until } from '../helpers/wait';
import type { RuleRow } from '../../db/rules';
import {
  fieldsXml,
  isGatehouse,
  matchesPattern,
  samplePush,
  selectRules,
  type OfferedPush,
} from '../../application/services/rules';
import { parsePushXml } from '../../system/xml';

const COMPONENT = 'wxcomponent000001';
const SECRET = 'component-secret';
const TOKEN = 'push-token-1';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const AUTHORIZER = 'wxauthorizer00001';
const SUITE = 'wwsuite0000000r1';
const PUBLIC = 'https://gh.example.com';

interface Got {
  path: string;
  type: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
}

/**
 * A forwarding target that records every request; `plan` answers each request in turn (a status, 'stall' to
 * never answer, or `redirect:<url>`); past the plan it answers 200.
 */
async function receiver() {
  const got: Got[] = [];
  const plan: (number | 'stall' | `redirect:${string}`)[] = [];
  const server = http.createServer((req, res) => {
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (b += d));
    req.on('end', () => {
      let json: unknown;
      try {
        json = JSON.parse(b);
      } catch {
        json = undefined;
      }
      got.push({
        path: req.url ?? '',
        type: String(req.headers['content-type'] ?? ''),
        headers: req.headers,
        body: b,
        json,
      });
      const step = plan.shift() ?? 200;
      if (step === 'stall') return;
      if (typeof step === 'string') {
        res.writeHead(302, { location: step.slice('redirect:'.length) });
        return res.end();
      }
      res.statusCode = step;
      res.end(step === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    base,
    url: (path: string) => `${base}${path}`,
    got,
    plan,
    at: (path: string) => got.filter((g) => g.path.split('?')[0] === path),
    clear() {
      got.length = 0;
      plan.length = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function rule(over: Partial<RuleRow>): RuleRow {
  return {
    id: 'r',
    name: 'r',
    enabled: true,
    priority: 100,
    platform: 'wechat_tp',
    codeName: null,
    appId: null,
    infoType: null,
    msgType: null,
    event: null,
    url: 'http://127.0.0.1:1/x',
    format: 'json',
    timeoutMs: 1000,
    retries: 0,
    continue: false,
    createdAt: 1,
    updatedAt: 1,
    ...over,
  };
}

function offered(fields: Record<string, unknown>, over: Partial<OfferedPush> = {}): OfferedPush {
  return {
    platform: 'wechat_tp',
    codeName: 'tp',
    appId: AUTHORIZER,
    infoType: 'x',
    pushAt: 1,
    fields,
    json: fields,
    ...over,
  };
}

describe('push forwarding rules: matching (units)', () => {
  it('exact, prefix (ending in *), * alone (present), absent (anything)', () => {
    expect(matchesPattern('weapp_audit_*', 'weapp_audit_success')).to.equal(true);
    expect(matchesPattern('weapp_audit_*', 'weapp_audit_')).to.equal(true);
    expect(matchesPattern('weapp_audit_*', 'weapp_audi')).to.equal(false);
    expect(matchesPattern('weapp_audit', 'weapp_audit_success')).to.equal(false);
    expect(matchesPattern('weapp_audit', 'weapp_audit')).to.equal(true);
    expect(matchesPattern('subscribe', 'SUBSCRIBE')).to.equal(false);
    expect(matchesPattern('*', 'anything')).to.equal(true);
    expect(matchesPattern('*', undefined)).to.equal(false);
    expect(matchesPattern('text', null)).to.equal(false);
    expect(matchesPattern(null, undefined)).to.equal(true);
  });

  it('first match only, unless it continues; disabled rules skipped; the old forward URL last', () => {
    const rules = [
      rule({ id: 'off', enabled: false }),
      rule({ id: 'a', event: 'weapp_audit_*', continue: true }),
      rule({ id: 'b', msgType: 'event' }),
      rule({ id: 'c' }),
    ];
    const audit = offered({ MsgType: 'event', Event: 'weapp_audit_fail' });
    expect(selectRules(rules, audit).map((r) => r.id)).to.deep.equal(['a', 'b']);
    const text = offered({ MsgType: 'text' }, { legacy: { name: 'msgForwardUrl', url: 'http://127.0.0.1:1/m' } });
    expect(selectRules(rules, text).map((r) => r.id)).to.deep.equal(['c']);
    // nothing stored matches: the old forward alone; a stored rule that matches and stops replaces it
    expect(selectRules([rules[0]], text).map((r) => r.id)).to.deep.equal(['app:msgForwardUrl']);
    expect(selectRules([rule({ id: 'k', continue: true })], text).map((r) => r.id)).to.deep.equal([
      'k',
      'app:msgForwardUrl',
    ]);
    // each match field: platform, codeName, appId, InfoType
    const ev = offered({ InfoType: 'authorized' });
    expect(selectRules([rule({ platform: 'wecom_tp' })], ev)).to.deep.equal([]);
    expect(selectRules([rule({ codeName: 'other' })], ev)).to.deep.equal([]);
    expect(selectRules([rule({ appId: 'wxauth*' })], ev)).to.have.length(1);
    expect(selectRules([rule({ appId: 'wxother*' })], ev)).to.deep.equal([]);
    expect(selectRules([rule({ infoType: 'unauthorized' })], ev)).to.deep.equal([]);
    expect(selectRules([rule({ infoType: 'authorized' })], ev)).to.have.length(1);
  });

  it('XML written from fields reads back the same (CDATA split around ]]>, nesting, repeats)', () => {
    const fields = { A: 'x]]>y<z>&', B: { C: '1', D: ['2', '3'] }, E: '' };
    expect(parsePushXml(fieldsXml(fields))).to.deep.equal(fields);
  });

  it('gatehouse itself: its public origin, or its port on loopback', () => {
    const config = { publicUrl: 'https://gh.example.com/base', port: 4236 };
    expect(isGatehouse('https://gh.example.com/wechat-tp/tp/events', config)).to.equal(true);
    expect(isGatehouse('http://gh.example.com/x', config)).to.equal(false);
    expect(isGatehouse('http://127.0.0.1:4236/', config)).to.equal(true);
    expect(isGatehouse('http://localhost:4236/', config)).to.equal(true);
    expect(isGatehouse('http://[::1]:4236/', config)).to.equal(true);
    expect(isGatehouse('http://127.0.0.1:4237/', config)).to.equal(false);
    expect(isGatehouse('http://127.0.0.1:4236/', { ...config, port: 0 })).to.equal(false);
  });

  it('a test push from the match fields: an event, or a message when MsgType / Event are named', () => {
    const ev = samplePush(rule({ infoType: 'notify_*', appId: 'wxabc' }));
    expect(ev.fields).to.include({ InfoType: 'notify_test', AuthorizerAppid: 'wxabc' });
    expect(ev.json).to.equal(ev.fields);
    const msg = samplePush(rule({ event: 'weapp_audit_success', codeName: 'tp' }));
    expect(msg.fields).to.include({ MsgType: 'event', Event: 'weapp_audit_success' });
    expect(msg.json).to.deep.equal({ appid: 'wxgatehousetest0', message: msg.fields });
  });
});

forEachDialect('Push forwarding rules', (dialect) => {
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let node: TestNode;
  let tok: string;
  let hook: Awaited<ReturnType<typeof receiver>>;

  const rpc = (name: string, para: Record<string, unknown>, t = tok) => node.rpc(name, para, t);
  const put = async (para: Record<string, unknown>) => {
    const r = await rpc('admin.rule.put', { name: 'rule', platform: 'wechat_tp', retries: 0, ...para });
    expect(r.returnCode, JSON.stringify(r)).to.equal(0);
    return r.returnData.id as string;
  };
  const pushTo = async (path: string, inner: string) => {
    const p = signedPush(TOKEN, AES, COMPONENT, inner);
    const started = Date.now();
    const res = await fetch(`${node.url}${path}?${p.query}`, {
      method: 'POST',
      body: p.body,
      headers: { 'content-type': 'text/xml' },
    });
    return { status: res.status, text: await res.text(), ms: Date.now() - started };
  };
  const event = (fields: Record<string, string | number>) =>
    pushTo('/wechat-tp/tp/events', xml({ AppId: COMPONENT, CreateTime: 10, ...fields }));
  const message = (fields: Record<string, string | number>) =>
    pushTo(
      `/wechat-tp/tp/messages/${AUTHORIZER}`,
      xml({ ToUserName: 'gh_1', FromUserName: 'o_u', CreateTime: 10, ...fields }),
    );
  const pushes = async () => (await rpc('admin.push.list', { platform: 'wechat_tp' })).returnData.pushes as any[];
  /** waits until `n` deliveries are recorded in all, then the push log */
  const deliveries = async (n: number) => {
    await until(async () => (await node.db.query('SELECT id FROM push_deliveries')).length >= n, `${n} deliveries`);
    return pushes();
  };
  const putApp = (config: Record<string, unknown> = {}) =>
    rpc('admin.app.put', {
      platform: 'wechat_tp',
      codeName: 'tp',
      config: { appId: COMPONENT, secret: SECRET, token: TOKEN, aesKey: AES, ...config },
    });

  before(async () => {
    fake = await new FakePlatform().start();
    wx = new FakeWechatTp(fake);
    fake.app(COMPONENT, SECRET);
    hook = await receiver();
  });
  after(async () => {
    await fake?.stop();
    await hook?.close();
  });
  beforeEach(async () => {
    node = await startNode({ dialect, fake, env: { GATEHOUSE_WECHAT_MP: fake.url, GATEHOUSE_PUBLIC_URL: PUBLIC } });
    tok = node.token('admin.*');
    expect((await putApp()).returnCode).to.equal(0);
    hook.clear();
  });
  afterEach(async () => node?.close());

  it('a JSON rule delivers the decrypted fields exactly; the outcome shows in admin.push.list', async () => {
    const id = await put({ id: 'fasteregister', infoType: 'notify_third_fasteregister', url: hook.url('/json') });
    const r = await event({ InfoType: 'notify_third_fasteregister', appid: 'wxnew', status: 0, msg: 'OK & <b>' });
    expect(r).to.include({ status: 200, text: 'success' });
    const [p] = await deliveries(1);
    expect(hook.at('/json')).to.have.length(1);
    const got = hook.at('/json')[0];
    expect(got.type).to.equal('application/json');
    expect(got.headers['x-gatehouse-rule']).to.equal(id);
    expect(got.json).to.deep.equal({
      AppId: COMPONENT,
      CreateTime: '10',
      InfoType: 'notify_third_fasteregister',
      appid: 'wxnew',
      status: '0',
      msg: 'OK & <b>',
    });
    expect(p.infoType).to.equal('notify_third_fasteregister');
    expect(p.deliveries).to.have.length(1);
    expect(p.deliveries[0]).to.deep.include({
      ruleId: 'fasteregister',
      ruleName: 'rule',
      host: new URL(hook.base).host,
      delivered: true,
      status: 200,
      error: null,
      attempts: 1,
    });
  });

  it('an XML rule delivers the original decrypted XML, byte for byte', async () => {
    await put({ msgType: 'text', url: hook.url('/xml'), format: 'xml' });
    const inner =
      '<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_u]]></FromUserName>' +
      '<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>' +
      '<Content><![CDATA[a <b> ]]]]><![CDATA[> 你好]]></Content><MsgId>9223372036854775807</MsgId></xml>';
    expect((await pushTo(`/wechat-tp/tp/messages/${AUTHORIZER}`, inner)).text).to.equal('success');
    await deliveries(1);
    const [got] = hook.at('/xml');
    expect(got.body).to.equal(inner);
    expect(got.type).to.equal('text/xml; charset=utf-8');
    expect(got.headers['x-gatehouse-appid']).to.equal(AUTHORIZER);
  });

  it('prefix vs exact; first match only unless continue; priority orders; disabled rules are not used', async () => {
    await put({ id: 'off', priority: 1, event: 'weapp_audit_*', url: hook.url('/off'), enabled: false });
    await put({ id: 'exact', priority: 5, event: 'weapp_audit', url: hook.url('/exact') });
    await put({ id: 'prefix', priority: 10, event: 'weapp_audit_*', url: hook.url('/prefix') });
    await put({ id: 'events', priority: 20, msgType: 'event', url: hook.url('/events') });
    await message({ MsgType: 'event', Event: 'weapp_audit_success' });
    await message({ MsgType: 'event', Event: 'weapp_audit_fail' });
    await message({ MsgType: 'event', Event: 'subscribe' });
    await deliveries(3);
    expect(hook.at('/prefix').map((g) => g.json.message.Event)).to.deep.equal([
      'weapp_audit_success',
      'weapp_audit_fail',
    ]);
    expect(hook.at('/events').map((g) => g.json.message.Event)).to.deep.equal(['subscribe']);
    expect(hook.at('/exact')).to.have.length(0);
    expect(hook.at('/off')).to.have.length(0);
    // the first match continues: the next matching rule gets it too
    await put({ id: 'prefix', priority: 10, event: 'weapp_audit_*', url: hook.url('/prefix'), continue: true });
    await message({ MsgType: 'event', Event: 'weapp_audit_delay' });
    await deliveries(5);
    expect(hook.at('/events').map((g) => g.json.message.Event)).to.deep.equal(['subscribe', 'weapp_audit_delay']);
    expect(hook.at('/prefix')).to.have.length(3);
    const [latest] = await pushes();
    expect(latest.deliveries.map((d: any) => d.ruleId).sort()).to.deep.equal(['events', 'prefix']);
    // priority: a rule put before the others takes it alone
    await put({ id: 'first', priority: 0, appId: AUTHORIZER, url: hook.url('/first') });
    await message({ MsgType: 'event', Event: 'weapp_audit_success' });
    await deliveries(6);
    expect(hook.at('/first')).to.have.length(1);
    expect(hook.at('/prefix')).to.have.length(3);
  });

  it('retries: a target failing twice then answering is delivered at the third attempt; fewer retries fail', async () => {
    await put({ id: 'retry', infoType: 'notify_*', url: hook.url('/flaky'), retries: 2 });
    hook.plan.push(500, 503);
    await event({ InfoType: 'notify_third_fasteregister', appid: 'wx1' });
    let [p] = await deliveries(1);
    expect(hook.at('/flaky')).to.have.length(3);
    expect(new Set(hook.at('/flaky').map((g) => g.body)).size).to.equal(1);
    expect(p.deliveries[0]).to.deep.include({ delivered: true, status: 200, attempts: 3, error: null });
    expect(p.deliveries[0].ms).to.be.at.least(500 + 1000 - 50);
    await put({ id: 'retry', infoType: 'notify_*', url: hook.url('/flaky'), retries: 1 });
    hook.plan.push(500, 502);
    await event({ InfoType: 'notify_other', appid: 'wx2' });
    [p] = await deliveries(2);
    expect(p.deliveries[0]).to.deep.include({ delivered: false, status: 502, attempts: 2, error: 'HTTP 502' });
    expect(hook.at('/flaky')).to.have.length(5);
  });

  it('timeout: a target that never answers fails after timeoutMs and never delays success', async () => {
    await put({ id: 'slow', infoType: 'notify_*', url: hook.url('/stall'), timeoutMs: 1500, retries: 0 });
    hook.plan.push('stall');
    const r = await event({ InfoType: 'notify_slow', appid: 'wx3' });
    expect(r).to.include({ status: 200, text: 'success' });
    expect(r.ms).to.be.below(1000);
    const [p] = await deliveries(1);
    expect(p.deliveries[0]).to.deep.include({ delivered: false, status: null, attempts: 1 });
    expect(p.deliveries[0].error).to.equal('timed out after 1500 ms (ETIMEDOUT)');
    expect(p.deliveries[0].ms).to.be.within(1450, 5000);
  });

  it('a redirecting target is not followed (the push goes nowhere else)', async () => {
    const elsewhere = await thief();
    try {
      await put({ id: 'moved', infoType: 'notify_*', url: hook.url('/moved') });
      hook.plan.push(`redirect:${elsewhere.url}/stolen`);
      await event({ InfoType: 'notify_moved', appid: 'wx4' });
      const [p] = await deliveries(1);
      expect(p.deliveries[0]).to.deep.include({
        delivered: false,
        status: 302,
        attempts: 1,
        error: 'HTTP 302 (redirect not followed)',
      });
      expect(elsewhere.got).to.deep.equal([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('an app configured the old way (authForwardUrl, msgForwardUrl) forwards exactly as before', async () => {
    expect((await putApp({ authForwardUrl: hook.url('/auth'), msgForwardUrl: hook.url('/msg') })).returnCode).to.equal(
      0,
    );
    wx.acceptTicket(COMPONENT, 'ticket@@@secret');
    await event({ InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'ticket@@@secret' });
    const code = wx.authorizationCode(COMPONENT, AUTHORIZER);
    await event({ InfoType: 'authorized', CreateTime: 12, AuthorizerAppid: AUTHORIZER, AuthorizationCode: code });
    await message({ MsgType: 'text', Content: 'hi', MsgId: '1' });
    const list = await deliveries(2);
    // the ticket is never forwarded; the authorization event as it came (code included, as always); the message wrapped
    expect(hook.at('/auth').map((g) => g.json)).to.deep.equal([
      {
        AppId: COMPONENT,
        CreateTime: '12',
        InfoType: 'authorized',
        AuthorizerAppid: AUTHORIZER,
        AuthorizationCode: code,
      },
    ]);
    expect(hook.at('/msg').map((g) => g.json)).to.deep.equal([
      {
        appid: AUTHORIZER,
        message: {
          ToUserName: 'gh_1',
          FromUserName: 'o_u',
          CreateTime: '10',
          MsgType: 'text',
          Content: 'hi',
          MsgId: '1',
        },
      },
    ]);
    for (const g of hook.got) {
      expect(g.type).to.equal('application/json');
      expect(Object.keys(g.headers).filter((h) => h.startsWith('x-gatehouse'))).to.deep.equal([]);
    }
    const auth = list.find((p) => p.infoType === 'authorized');
    expect(auth.deliveries).to.have.length(1);
    expect(auth.deliveries[0]).to.deep.include({
      ruleId: 'app:authForwardUrl',
      ruleName: 'tp authForwardUrl',
      delivered: true,
    });
    expect(list.find((p) => p.infoType === 'text').deliveries[0].ruleId).to.equal('app:msgForwardUrl');
    expect(
      list.filter((p) => p.infoType === 'component_verify_ticket').every((p) => p.deliveries.length === 0),
    ).to.equal(true);
    // a stored rule that matches replaces the old forward for what it matches; with continue, both deliver
    hook.clear();
    await put({ id: 'texts', msgType: 'text', url: hook.url('/texts') });
    await message({ MsgType: 'text', Content: 'hi again', MsgId: '2' });
    await message({ MsgType: 'image', PicUrl: 'http://p/1', MsgId: '3' });
    await deliveries(4);
    expect(hook.at('/texts').map((g) => g.json.message.MsgId)).to.deep.equal(['2']);
    expect(hook.at('/msg').map((g) => g.json.message.MsgId)).to.deep.equal(['3']);
    await put({ id: 'texts', msgType: 'text', url: hook.url('/texts'), continue: true });
    await message({ MsgType: 'text', Content: 'and again', MsgId: '4' });
    await deliveries(6);
    expect(hook.at('/texts').map((g) => g.json.message.MsgId)).to.deep.equal(['2', '4']);
    expect(hook.at('/msg').map((g) => g.json.message.MsgId)).to.deep.equal(['3', '4']);
  });

  it('a ticket push is never delivered, even by a rule that matches everything', async () => {
    await put({ id: 'all', url: hook.url('/all') });
    await put({ id: 'tickets', priority: 0, infoType: 'component_verify_ticket', url: hook.url('/all') });
    await event({ InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'ticket@@@never' });
    await event({ InfoType: 'notify_after', appid: 'wx5' });
    await deliveries(1);
    expect(hook.got.map((g) => g.json.InfoType)).to.deep.equal(['notify_after']);
    expect(hook.got.map((g) => g.body).join()).to.not.include('ticket@@@never');
  });

  it('WeCom suite pushes go through the rules too, codes masked as in the push log; suite_ticket never', async () => {
    const suite = await rpc('admin.app.put', {
      platform: 'wecom_tp',
      codeName: 'suite',
      config: { suiteId: SUITE, secret: 'suite-secret', token: TOKEN, aesKey: AES },
    });
    expect(suite.returnCode).to.equal(0);
    await put({ id: 'wecom', platform: 'wecom_tp', url: hook.url('/wecom'), format: 'xml' });
    const send = async (fields: Record<string, string | number>) => {
      const p = signedPush(TOKEN, AES, SUITE, xml(fields));
      const res = await fetch(`${node.url}/wecom-tp/suite/events?${p.query}`, { method: 'POST', body: p.body });
      expect(await res.text()).to.equal('success');
    };
    await send({ SuiteId: SUITE, InfoType: 'suite_ticket', TimeStamp: 100, SuiteTicket: 'suite-ticket-secret' });
    await send({
      SuiteId: SUITE,
      InfoType: 'change_contact',
      TimeStamp: 101,
      AuthCorpId: 'wwcorp1',
      UserID: 'u1',
      WelcomeCode: 'welcome-secret-1',
    });
    await until(async () => (await node.db.query('SELECT id FROM push_deliveries')).length >= 1, 'the WeCom delivery');
    expect(hook.at('/wecom')).to.have.length(1);
    const body = hook.at('/wecom')[0].body;
    expect(parsePushXml(body)).to.deep.equal({
      SuiteId: SUITE,
      InfoType: 'change_contact',
      TimeStamp: '101',
      AuthCorpId: 'wwcorp1',
      UserID: 'u1',
      WelcomeCode: '****et-1',
    });
    expect(body).to.not.include('suite-ticket-secret');
    const list = (await rpc('admin.push.list', { platform: 'wecom_tp' })).returnData.pushes;
    expect(list.find((p: any) => p.infoType === 'change_contact').deliveries[0]).to.deep.include({
      ruleId: 'wecom',
      delivered: true,
    });
  });

  it('admin.rule.put / list / delete; bad para → 1003 with nothing stored', async () => {
    const bad: Record<string, unknown>[] = [
      { url: 'ftp://example.com/x' },
      { url: 'http://' },
      { url: 'example.com/x' },
      { url: `${PUBLIC}/wechat-tp/tp/events` },
      { url: `http://127.0.0.1:${new URL(node.url).port}/`, name: 'not a loop through GATEHOUSE_PORT=0' },
      { retries: 6 },
      { retries: -1 },
      { timeoutMs: 10 },
      { timeoutMs: 60_000 },
      { format: 'yaml' },
      { platform: 'nowhere' },
      { event: 'weapp*audit' },
      { infoType: '' },
      { msgType: 'a b' },
      { id: 'app:authForwardUrl' },
      { id: '' },
      { priority: -1 },
      { unknown: 1 },
      { name: '' },
    ];
    for (const over of bad.slice(0, 4).concat(bad.slice(5))) {
      const r = await rpc('admin.rule.put', { name: 'x', platform: 'wechat_tp', url: hook.url('/x'), ...over });
      expect(r.returnCode, JSON.stringify(over)).to.equal(1003);
      expect(r.returnData.errors.length, JSON.stringify(over)).to.be.above(0);
    }
    expect(await node.db.query('SELECT id FROM push_rules')).to.deep.equal([]);
    expect((await rpc('admin.rule.list', {})).returnData.rules).to.deep.equal([]);
    // the node's own port is only known when it is configured (GATEHOUSE_PORT=0 here): allowed
    const loopback = await rpc('admin.rule.put', { name: 'x', platform: 'wechat_tp', ...bad[4] });
    expect(loopback.returnCode).to.equal(0);
    const made = await rpc('admin.rule.put', { name: 'made', platform: 'wecom_tp', url: hook.url('/m') });
    expect(made.returnCode).to.equal(0);
    expect(made.returnData.created).to.equal(true);
    expect(made.returnData.id).to.match(/^r-[0-9a-f]{10}$/);
    const again = await rpc('admin.rule.put', {
      id: made.returnData.id,
      name: 'renamed',
      platform: 'wecom_tp',
      url: hook.url('/m'),
      infoType: 'create_*',
    });
    expect(again.returnData).to.deep.equal({ id: made.returnData.id, created: false });
    const listed = (await rpc('admin.rule.list', { platform: 'wecom_tp' })).returnData.rules;
    expect(listed).to.have.length(1);
    expect(listed[0]).to.deep.include({
      id: made.returnData.id,
      name: 'renamed',
      enabled: true,
      priority: 100,
      platform: 'wecom_tp',
      codeName: null,
      appId: null,
      infoType: 'create_*',
      msgType: null,
      event: null,
      url: hook.url('/m'),
      format: 'json',
      timeoutMs: 5000,
      retries: 3,
      continue: false,
    });
    expect((await rpc('admin.rule.list', {})).returnData.rules).to.have.length(2);
    expect((await rpc('admin.rule.delete', { id: made.returnData.id })).returnData).to.deep.equal({ deleted: true });
    expect((await rpc('admin.rule.delete', { id: made.returnData.id })).returnData).to.deep.equal({ deleted: false });
    expect((await rpc('admin.rule.list', {})).returnData.rules).to.have.length(1);
    // every write is audited, by name only (never the URL: its query may hold the receiver's secret)
    const audit = (await node.db.query(
      "SELECT interface_name, target FROM audit_log WHERE interface_name LIKE 'admin.rule.%' ORDER BY id",
    )) as any[];
    expect(audit.map((a) => a.interface_name)).to.deep.equal([
      'admin.rule.put',
      'admin.rule.put',
      'admin.rule.put',
      'admin.rule.delete',
      'admin.rule.delete',
    ]);
    expect(JSON.parse(audit[2].target)).to.deep.equal({
      id: made.returnData.id,
      name: 'renamed',
      platform: 'wecom_tp',
    });
    expect(audit.map((a) => a.target).join()).to.not.include('127.0.0.1');
  });

  it('admin.rule.* need admin scope; a caller limited by an apps claim touches only rules of its exact app and authorizer', async () => {
    await put({ id: 'keep', url: hook.url('/k') });
    const backend = node.token('wechat.* proxy.*');
    const limited = node.token('admin.*', ['tp', AUTHORIZER]);
    for (const [name, para] of [
      ['admin.rule.list', {}],
      ['admin.rule.put', { id: 'evil', name: 'evil', platform: 'wechat_tp', url: 'http://127.0.0.1:1/evil' }],
      ['admin.rule.delete', { id: 'keep' }],
      ['admin.rule.test', { id: 'keep' }],
    ] as const) {
      expect((await rpc(name, para, backend)).returnCode, name).to.equal(4003);
      expect((await node.rpc(name, para)).returnCode, name).to.equal(4001);
      // 'keep' names no app: not the limited caller's to see, change, delete or test
      if (name === 'admin.rule.list') expect((await rpc(name, para, limited)).returnData.rules).to.deep.equal([]);
      else expect((await rpc(name, para, limited)).returnCode, name).to.equal(4003);
    }
    const own = { name: 'own', platform: 'wechat_tp', codeName: 'tp', appId: AUTHORIZER, url: hook.url('/own') };
    for (const over of [
      { codeName: undefined },
      { codeName: 't*' },
      { appId: undefined },
      { appId: 'wx*' },
      { appId: 'wxother' },
    ])
      expect((await rpc('admin.rule.put', { ...own, ...over }, limited)).returnCode, JSON.stringify(over)).to.equal(
        4003,
      );
    // over a rule it does not cover, even with its own match fields
    expect((await rpc('admin.rule.put', { ...own, id: 'keep' }, limited)).returnCode).to.equal(4003);
    expect((await rpc('admin.rule.put', { ...own, id: 'own' }, limited)).returnCode).to.equal(0);
    expect((await rpc('admin.rule.list', {}, limited)).returnData.rules.map((r: any) => r.id)).to.deep.equal(['own']);
    expect((await rpc('admin.rule.test', { id: 'own' }, limited)).returnData.delivered).to.equal(true);
    expect((await rpc('admin.rule.delete', { id: 'own' }, limited)).returnData).to.deep.equal({ deleted: true });
    expect((await node.db.query('SELECT id FROM push_rules')).map((r: any) => r.id)).to.deep.equal(['keep']);
    expect(hook.got.map((g) => g.path)).to.deep.equal(['/own']);
  });

  it('admin.rule.test sends a sample push through the rule and answers the outcome; nothing is recorded', async () => {
    await put({ id: 'audit', event: 'weapp_audit_*', url: hook.url('/test'), enabled: false });
    const r = await rpc('admin.rule.test', { id: 'audit' });
    expect(r.returnCode).to.equal(0);
    expect(r.returnData).to.deep.include({ delivered: true, status: 200, error: null, attempts: 1 });
    expect(r.returnData.contentType).to.equal('application/json');
    const [got] = hook.at('/test');
    expect(got.headers['x-gatehouse-test']).to.equal('1');
    expect(got.body).to.equal(r.returnData.body);
    expect(got.json.message).to.include({ MsgType: 'event', Event: 'weapp_audit_test' });
    await put({ id: 'xml', infoType: 'authorized', url: hook.url('/test-xml'), format: 'xml', retries: 1 });
    hook.plan.push(500, 500);
    const x = await rpc('admin.rule.test', { id: 'xml' });
    expect(x.returnData).to.deep.include({ delivered: false, status: 500, error: 'HTTP 500', attempts: 2 });
    expect(parsePushXml(hook.at('/test-xml')[0].body)).to.include({ InfoType: 'authorized' });
    expect((await rpc('admin.rule.test', { id: 'missing' })).returnCode).to.equal(1003);
    expect(await node.db.query('SELECT id FROM pushes')).to.deep.equal([]);
    expect(await node.db.query('SELECT id FROM push_deliveries')).to.deep.equal([]);
  });

  it('nothing secret in the logs: not the code delivered, not the target URL path or query', async () => {
    const code = 'authcode@@@never-in-logs-0001';
    await put({ id: 'leaky', infoType: 'notify_*', url: hook.url('/p4th-s3cret?key=query-s3cret') });
    hook.plan.push(500);
    await event({ InfoType: 'notify_code', appid: 'wx6', auth_code: code });
    const [p] = await deliveries(1);
    expect(p.deliveries[0]).to.deep.include({ delivered: false, host: new URL(hook.base).host });
    expect(hook.at('/p4th-s3cret')[0].json.auth_code).to.equal(code);
    const log = fs.readFileSync(node.logFile, 'utf8');
    expect(log).to.include('push delivery failed');
    for (const secret of [code, 'p4th-s3cret', 'query-s3cret']) expect(log).to.not.include(secret);
    expect(JSON.stringify(p)).to.not.include(code);
  });
});
