import { expect } from 'chai';
import http from 'node:http';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';

/**
 * Which subjects does an `apps` claim cover (§4, trust): a table of every interface and proxy that
 * names an app (and an authorizer, corp or merchant below it) × claims. A claim covers a request
 * only when it covers every subject the request names — each subject under any one of its names.
 */

const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const APPS: Array<[string, string, Record<string, unknown>]> = [
  ['wechat_app', 'mine', { appId: 'wxmine000000001', secret: 'mine-secret' }],
  ['wechat_app', 'shop', { appId: 'wxshop000000001', secret: 'shop-secret' }],
  ['wechat_tp', 'tp', { appId: 'wxtp00000000001', secret: 'tp-secret', token: 'tp-token', aesKey: AES }],
  ['wecom_corp', 'hr', { corpId: 'wwcorp000000001', agentId: '1000002', secret: 'hr-secret' }],
  ['wecom_tp', 'suite', { suiteId: 'wwsuite00000001', secret: 'suite-secret', token: 'suite-token', aesKey: AES }],
  ['toutiao_app', 'tt', { appId: 'tt0000000000001', secret: 'tt-secret' }],
  ['fengniao_app', 'fn', { appId: 'fn0000000000001', devId: 'dev1', secret: 'fn-secret' }],
  ['shansong_app', 'ss', { appId: 'ss0000000000001', secret: 'ss-secret' }],
  ['cos', 'cosp', { appId: '1250000000', secretId: 'AKIDcosprofile01', secretKey: 'cos-secret-key' }],
];

/** a subject and the names it may be claimed under */
type Subject = string[];
const MINE: Subject = ['mine', 'wxmine000000001'];
const TP: Subject = ['tp', 'wxtp00000000001'];
const AUTHORIZER: Subject = ['wxauthorizer0001'];
const HR: Subject = ['hr', 'wwcorp000000001', 'wwcorp000000001:1000002'];
const SUITE: Subject = ['suite', 'wwsuite00000001'];
const CORP: Subject = ['wwauthcorp00001'];
const TT: Subject = ['tt', 'tt0000000000001'];
const FN: Subject = ['fn', 'fn0000000000001'];
const MERCHANT_ID: Subject = ['3001'];
const SS: Subject = ['ss', 'ss0000000000001'];
const MERCHANT_CODE: Subject = ['m-0001'];
const COS: Subject = ['cosp', '1250000000'];

interface RpcCase {
  name: string;
  para: Record<string, unknown>;
  subjects: Subject[];
}
interface ProxyCase {
  path: string;
  scope: string;
  method: 'GET' | 'POST';
  subjects: Subject[];
}

const RPC: RpcCase[] = [
  { name: 'wechat.app.token', para: { codeName: 'mine' }, subjects: [MINE] },
  { name: 'wechat.app.ticket', para: { codeName: 'mine' }, subjects: [MINE] },
  { name: 'wechat.app.jsconfig', para: { codeName: 'mine', url: 'https://a.example/' }, subjects: [MINE] },
  { name: 'wechat.app.code2session', para: { codeName: 'mine', jsCode: 'code' }, subjects: [MINE] },
  { name: 'qcloud.mimi.access_token', para: { appid: 'wxmine000000001' }, subjects: [MINE] },
  { name: 'wechat.tp.token', para: { codeName: 'tp' }, subjects: [TP] },
  { name: 'wechat.tp.authorizers', para: { codeName: 'tp' }, subjects: [TP] },
  { name: 'wechat.tpauth.token', para: { codeName: 'tp', authorizerAppId: AUTHORIZER[0] }, subjects: [TP, AUTHORIZER] },
  {
    name: 'wechat.tpauth.ticket',
    para: { codeName: 'tp', authorizerAppId: AUTHORIZER[0] },
    subjects: [TP, AUTHORIZER],
  },
  {
    name: 'wechat.tpauth.jsconfig',
    para: { codeName: 'tp', authorizerAppId: AUTHORIZER[0], url: 'https://a.example/' },
    subjects: [TP, AUTHORIZER],
  },
  {
    name: 'wechat.tpauth.code2session',
    para: { codeName: 'tp', authorizerAppId: AUTHORIZER[0], jsCode: 'c' },
    subjects: [TP, AUTHORIZER],
  },
  { name: 'wecom.corp.token', para: { codeName: 'hr' }, subjects: [HR] },
  { name: 'wecom.corp.ticket', para: { codeName: 'hr' }, subjects: [HR] },
  { name: 'wecom.corp.jsconfig', para: { codeName: 'hr', url: 'https://a.example/' }, subjects: [HR] },
  { name: 'qcloud.work.access_token', para: { corpid: 'wwcorp000000001', agentid: 1000002 }, subjects: [HR] },
  { name: 'qcloud.work.ticket', para: { corpid: 'wwcorp000000001', agentid: '1000002' }, subjects: [HR] },
  { name: 'qcloud.work.agent.ticket', para: { corpid: 'wwcorp000000001', agentid: '1000002' }, subjects: [HR] },
  { name: 'wecom.tp.token', para: { codeName: 'suite' }, subjects: [SUITE] },
  { name: 'wecom.tp.authorizers', para: { codeName: 'suite' }, subjects: [SUITE] },
  { name: 'wecom.tpauth.token', para: { codeName: 'suite', corpId: CORP[0] }, subjects: [SUITE, CORP] },
  { name: 'toutiao.app.token', para: { codeName: 'tt' }, subjects: [TT] },
  { name: 'toutiao.app.code2session', para: { codeName: 'tt', code: 'c' }, subjects: [TT] },
  {
    name: 'fengniao.merchant.token',
    para: { codeName: 'fn', merchantId: MERCHANT_ID[0] },
    subjects: [FN, MERCHANT_ID],
  },
  {
    name: 'shansong.merchant.token',
    para: { codeName: 'ss', merchantCode: MERCHANT_CODE[0] },
    subjects: [SS, MERCHANT_CODE],
  },
  { name: 'qcloud.cos.auth.v5', para: { profile: 'cosp', method: 'get', path: '/a.txt' }, subjects: [COS] },
  { name: 'qcloud.cos.auth.nonreusable', para: { profile: 'cosp', bucket: 'b' }, subjects: [COS] },
  {
    name: 'qcloud.cos.auth.reusable',
    para: { profile: 'cosp', bucket: 'b', expiration: Math.floor(Date.now() / 1000) + 600 },
    subjects: [COS],
  },
  { name: 'admin.app.get', para: { platform: 'wechat_app', codeName: 'mine' }, subjects: [['mine']] },
  { name: 'admin.app.delete', para: { platform: 'wechat_app', codeName: 'ghost' }, subjects: [['ghost']] },
  { name: 'admin.token.list', para: { codeName: 'mine' }, subjects: [['mine']] },
  { name: 'admin.push.list', para: { codeName: 'tp' }, subjects: [['tp']] },
];

const PROXIES: ProxyCase[] = [
  {
    path: '/proxy/wechat-app/mine/cgi-bin/get_api_domain_ip',
    scope: 'proxy.wechat_app',
    method: 'GET',
    subjects: [MINE],
  },
  {
    path: '/proxy/wechat-tp/tp/cgi-bin/component/api_get_authorizer_list',
    scope: 'proxy.wechat_tp',
    method: 'POST',
    subjects: [TP],
  },
  {
    path: `/proxy/wechat-tpauth/tp/${AUTHORIZER[0]}/cgi-bin/get_api_domain_ip`,
    scope: 'proxy.wechat_tp',
    method: 'GET',
    subjects: [TP, AUTHORIZER],
  },
  { path: '/proxy/wecom-corp/hr/cgi-bin/user/list', scope: 'proxy.wecom_corp', method: 'GET', subjects: [HR] },
  {
    path: '/proxy/wecom-tp/suite/cgi-bin/service/get_auth_info',
    scope: 'proxy.wecom_tp',
    method: 'POST',
    subjects: [SUITE],
  },
  {
    path: `/proxy/wecom-tpauth/suite/${CORP[0]}/cgi-bin/user/list`,
    scope: 'proxy.wecom_tp',
    method: 'GET',
    subjects: [SUITE, CORP],
  },
  {
    path: `/proxy/fengniao/fn/${MERCHANT_ID[0]}/queryOrder`,
    scope: 'proxy.fengniao_app',
    method: 'POST',
    subjects: [FN, MERCHANT_ID],
  },
  {
    path: `/proxy/shansong/ss/${MERCHANT_CODE[0]}/orderInfo`,
    scope: 'proxy.shansong_app',
    method: 'POST',
    subjects: [SS, MERCHANT_CODE],
  },
];

/**
 * The claims to try for a request naming `subjects`: each name of each subject with the first
 * name of the others (covered), and for each subject every claim that leaves it out (not covered).
 * Claims never name a subject of another request only by accident: 'shop' (another app) is in
 * every claim, so "covers something else" never passes for "covers this".
 */
function claims(subjects: Subject[]): Array<{ apps: string[]; covered: boolean }> {
  const out: Array<{ apps: string[]; covered: boolean }> = [{ apps: ['shop'], covered: false }];
  subjects.forEach((s, i) => {
    for (const name of s)
      out.push({ apps: ['shop', ...subjects.map((o, j) => (j === i ? name : o[0]))], covered: true });
    if (subjects.length > 1) out.push({ apps: ['shop', ...subjects.filter((_, j) => j !== i).flat()], covered: false });
  });
  return out;
}

/** a platform that refuses every call at once with a credential error (never retried) */
async function refuser(): Promise<{ url: string; calls: number; close(): Promise<void> }> {
  const state = { url: '', calls: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    req.resume();
    state.calls++;
    res.setHeader('content-type', 'application/json');
    res.end('{"errcode":40013,"errmsg":"invalid appid","code":"40013","msg":"invalid appid","status":400}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  state.close = () => new Promise((r) => server.close(() => r()));
  return state;
}

forEachDialect('security: an apps claim covers a request only when it covers every subject (table)', (dialect) => {
  let node: TestNode;
  let platform: Awaited<ReturnType<typeof refuser>>;

  before(async () => {
    // every platform refuses: a covered request fails past the claim check, never at it
    platform = await refuser();
    const env: Record<string, string> = { GATEHOUSE_PUBLIC_RATE_LIMIT: '0' };
    for (const v of [
      'WECHAT_API',
      'WECHAT_MP',
      'WECOM_API',
      'WECOM_OPEN',
      'TOUTIAO_API',
      'FENGNIAO_API',
      'FENGNIAO_OPEN',
      'SHANSONG_API',
    ])
      env[`GATEHOUSE_${v}`] = platform.url;
    node = await startNode({ dialect, env });
    const admin = node.token('admin.*');
    for (const [platform, codeName, config] of APPS) {
      expect(
        (await node.rpc('admin.app.put', { platform, codeName, config }, admin)).returnCode,
        `${platform} ${codeName}`,
      ).to.equal(0);
    }
  });
  after(async () => {
    await node?.close();
    await platform?.close();
  });

  for (const c of RPC) {
    it(`${c.name}: ${c.subjects.map((s) => s[0]).join(' + ')}`, async () => {
      for (const { apps, covered } of claims(c.subjects)) {
        const before = platform.calls;
        const r = await node.rpc(c.name, c.para, node.token('*', apps));
        if (covered) expect(r.returnCode, `apps ${JSON.stringify(apps)}`).to.not.be.oneOf([4001, 4003]);
        else {
          expect(r, `apps ${JSON.stringify(apps)}`).to.deep.include({
            returnCode: 4003,
            returnMessage: 'FORBIDDEN',
            returnData: '',
          });
          expect(platform.calls, 'a refused call spends no platform quota').to.equal(before);
        }
      }
    });
  }

  for (const c of PROXIES) {
    it(`${c.method} ${c.path.split('/').slice(0, 5).join('/')}…: ${c.subjects.map((s) => s[0]).join(' + ')}`, async () => {
      for (const { apps, covered } of claims(c.subjects)) {
        const before = platform.calls;
        const res = await fetch(node.url + c.path, {
          method: c.method,
          headers: { authorization: `Bearer ${node.token(c.scope, apps)}`, 'content-type': 'application/json' },
          body: c.method === 'POST' ? '{}' : undefined,
        });
        const body = await res.text();
        if (covered) expect(res.status, `apps ${JSON.stringify(apps)}: ${body}`).to.not.be.oneOf([401, 403]);
        else {
          expect(platform.calls).to.equal(before);
          expect(res.status, `apps ${JSON.stringify(apps)}`).to.equal(403);
          expect(JSON.parse(body)).to.deep.equal({ returnCode: 4003, returnMessage: 'FORBIDDEN' });
        }
      }
    });
  }

  it('a limited caller is refused where the subjects are not declared (fail closed), and lists show it only its own', async () => {
    const limited = node.token('admin.*', ['mine']);
    const list = await node.rpc('admin.app.list', {}, limited);
    expect(list.returnCode).to.equal(0);
    expect(list.returnData.apps.map((a: { codeName: string }) => a.codeName)).to.deep.equal(['mine']);
    // an interface added later that forgets to declare its subjects: refused to limited callers
    // (before its para is even read), served to the others
    let ran = 0;
    if (!node.gh.registry.get('test.undeclared')) {
      node.gh.registry.add({
        name: 'test.undeclared',
        access: 'backend',
        summary: 'a test interface without an apps hook',
        para: {
          type: 'object',
          properties: { codeName: { type: 'string' } },
          required: ['codeName'],
          additionalProperties: false,
        },
        result: {},
        handler: () => ({ ran: ++ran }),
      });
    }
    expect(await node.rpc('test.undeclared', { codeName: 'mine' }, node.token('test.*', ['mine']))).to.deep.include({
      returnCode: 4003,
      returnData: '',
    });
    expect(await node.rpc('test.undeclared', {}, node.token('test.*', ['mine']))).to.deep.include({ returnCode: 4003 });
    expect(ran).to.equal(0);
    expect((await node.rpc('test.undeclared', { codeName: 'mine' }, node.token('test.*'))).returnData).to.deep.equal({
      ran: 1,
    });
    // and the real ones: every non-public interface either declares its subjects or filters what it shows
    expect(
      node.gh.registry
        .all()
        .filter((d) => d.access !== 'public' && d.name !== 'test.undeclared' && !d.apps && !d.appsFiltered)
        .map((d) => d.name),
    ).to.deep.equal([]);
  });

  it('the lists show a row only when the claim covers its app and what it names below the app (an authorizer alone is not enough)', async () => {
    // rows as the TP and the suite would have recorded them: a message of an authorizer, a corp's push, their tokens
    const now = Date.now();
    await node.gh.services.store.addPush({
      at: now,
      platform: 'wechat_tp',
      codeName: 'tp',
      infoType: 'message',
      appId: AUTHORIZER[0],
      verified: true,
      body: '{"Content":"a user message"}',
    });
    await node.gh.services.store.addPush({
      at: now,
      platform: 'wechat_tp',
      codeName: 'tp',
      infoType: 'component_verify_ticket',
      appId: TP[1],
      verified: true,
      body: '{}',
    });
    await node.gh.services.store.addPush({
      at: now,
      platform: 'wecom_tp',
      codeName: 'suite',
      infoType: 'create_auth',
      appId: CORP[0],
      verified: true,
      body: '{}',
    });
    for (const [platform, codeName, subject, kind] of [
      ['wechat_tp', 'tp', TP[1], 'component_access_token'],
      ['wechat_tp', 'tp', `${TP[1]}:${AUTHORIZER[0]}`, 'authorizer_access_token'],
      ['wecom_corp', 'hr', 'wwcorp000000001:1000002', 'access_token'],
    ]) {
      await node.gh.services.store.ensureToken({
        key: `${platform}:${subject}:${kind}`,
        platform,
        codeName,
        subject,
        kind,
      });
    }
    const pushes = async (apps: string[]) =>
      (
        (await node.rpc('admin.push.list', {}, node.token('admin.push.list', apps))).returnData.pushes as Array<{
          codeName: string;
          infoType: string;
        }>
      )
        .map((p) => `${p.codeName} ${p.infoType}`)
        .sort();
    const tokens = async (apps: string[]) =>
      (
        (await node.rpc('admin.token.list', {}, node.token('admin.token.list', apps))).returnData.tokens as Array<{
          codeName: string;
          kind: string;
        }>
      )
        .map((t) => `${t.codeName} ${t.kind}`)
        .sort();
    // the authorizer alone (say, the caller's own mini program) does not open the TP's log
    expect(await pushes([AUTHORIZER[0]])).to.deep.equal([]);
    expect(await tokens([AUTHORIZER[0]])).to.deep.equal([]);
    expect(await pushes(['suite'])).to.deep.equal([]);
    expect(await pushes([CORP[0]])).to.deep.equal([]);
    // the TP alone: its own rows, not the authorizer's; the TP and the authorizer: both
    expect(await pushes(['tp'])).to.deep.equal(['tp component_verify_ticket']);
    // (the table's calls above may have left rows of their own: only kinds matter here)
    expect(await tokens([TP[1]]))
      .to.include('tp component_access_token')
      .and.not.include('tp authorizer_access_token');
    expect(await pushes([TP[1], AUTHORIZER[0]])).to.deep.equal(['tp component_verify_ticket', 'tp message']);
    expect(await tokens(['tp', AUTHORIZER[0]])).to.include.members([
      'tp authorizer_access_token',
      'tp component_access_token',
    ]);
    expect(await pushes(['suite', CORP[0]])).to.deep.equal(['suite create_auth']);
    // a WeCom agent's token is the app itself (corpId:agentId is its identity), under any of its names
    for (const name of HR) {
      const listed = await tokens([name]);
      expect(listed, name).to.include('hr access_token');
      expect(
        listed.every((t) => t.startsWith('hr ')),
        name,
      ).to.equal(true);
    }
  });

  it('a proxy refuses an uncovered caller before looking the app up (403, not 404, for an unknown codeName)', async () => {
    const res = await fetch(`${node.url}/proxy/wechat-app/nosuchapp/cgi-bin/x`, {
      headers: { authorization: `Bearer ${node.token('proxy.wechat_app', ['mine'])}` },
    });
    expect(res.status).to.equal(403);
    const open = await fetch(`${node.url}/proxy/wechat-app/nosuchapp/cgi-bin/x`, {
      headers: { authorization: `Bearer ${node.token('proxy.wechat_app')}` },
    });
    expect(open.status).to.equal(404);
  });
});
