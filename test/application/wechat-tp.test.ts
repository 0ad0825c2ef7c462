import { expect } from 'chai';
import crypto from 'node:crypto';
import http from 'node:http';
import { FakePlatform } from '../fake/platform';
import { FakeWechatTp } from '../fake/wechat-tp';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { sink } from '../helpers/net';
import { signedPush, xml } from '../helpers/push';
import { until } from '../helpers/wait';

const COMPONENT = 'wxcomponent000001';
const SECRET = 'component-secret';
const TOKEN = 'push-token-1';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const AUTHORIZER = 'wxauthorizer00001';

forEachDialect('WeChat third-party platform', (dialect) => {
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let node: TestNode;
  let tok: string;
  let hook: Awaited<ReturnType<typeof sink>>;

  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para, tok);
  const push = async (inner: string, opts: { timestamp?: string; path?: string; codeName?: string } = {}) => {
    const p = signedPush(TOKEN, AES, COMPONENT, inner, opts);
    const res = await fetch(`${node.url}${opts.path ?? `/wechat-tp/${opts.codeName ?? 'tp'}/events`}?${p.query}`, {
      method: 'POST',
      body: p.body,
      headers: { 'content-type': 'text/xml' },
    });
    return { status: res.status, text: await res.text() };
  };
  const ticketPush = (ticket: string, createTime: number) => {
    wx.acceptTicket(COMPONENT, ticket);
    return push(
      xml({
        AppId: COMPONENT,
        CreateTime: createTime,
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: ticket,
      }),
    );
  };
  const state = async () =>
    JSON.stringify([
      await node.db.query('SELECT * FROM tickets ORDER BY app_id'),
      await node.db.query('SELECT * FROM authorizers ORDER BY authorizer_id'),
      await node.db.query('SELECT * FROM pushes ORDER BY id'),
    ]);
  const authorize = async () => {
    const page = await (await fetch(`${node.url}/wechat-tp/tp/authorize?mode=scan`)).text();
    const target = /href="([^"]+)"/.exec(page)![1].replace(/&amp;/g, '&');
    const login = await (await fetch(target)).text();
    const approve = new URL(
      /id="approve" href="([^"]+)"/
        .exec(login)![1]
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&'),
    );
    // GATEHOUSE_PUBLIC_URL is the public name; the test reaches the node on loopback
    expect(approve.origin).to.equal('https://gh.example.com');
    return fetch(`${node.url}${approve.pathname}${approve.search}`, { redirect: 'manual' });
  };

  before(async () => {
    fake = await new FakePlatform().start();
    wx = new FakeWechatTp(fake);
    fake.app(COMPONENT, SECRET);
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
      env: { GATEHOUSE_WECHAT_MP: fake.url, GATEHOUSE_PUBLIC_URL: 'https://gh.example.com' },
    });
    tok = node.token('*');
    const config = {
      appId: COMPONENT,
      secret: SECRET,
      token: TOKEN,
      aesKey: AES,
      redirectUrl: 'https://admin.example.com/done?from=gh',
      authForwardUrl: hook.url,
      msgForwardUrl: hook.url,
    };
    expect((await rpc('admin.app.put', { platform: 'wechat_tp', codeName: 'tp', config })).returnCode).to.equal(0);
    fake.reset();
    hook.clear();
  });
  afterEach(async () => node?.close());

  it('component token: 1014 before the first ticket, then one api_component_token call', async () => {
    const before = await rpc('wechat.tp.token', { codeName: 'tp' });
    expect(before).to.include({ returnCode: 1014, returnMessage: 'NOT_READY' });
    expect(fake.count('api_component_token')).to.equal(0);
    expect(await ticketPush('ticket@@@1', 1000)).to.deep.equal({ status: 200, text: 'success' });
    const t = await rpc('wechat.tp.token', { codeName: 'tp' });
    expect(t.returnCode).to.equal(0);
    expect(t.returnData.appId).to.equal(COMPONENT);
    expect(fake.isLive(t.returnData.token)).to.equal(true);
    expect((await rpc('wechat.tp.token', { codeName: 'tp' })).returnData.token).to.equal(t.returnData.token);
    expect(fake.count('api_component_token')).to.equal(1);
  });

  it('an older or replayed ticket never replaces the stored one; a newer one does', async () => {
    await ticketPush('ticket@@@new', 2000);
    await ticketPush('ticket@@@old', 1000);
    await ticketPush('ticket@@@replay', 2000);
    let [row] = await node.db.query('SELECT value, create_time FROM tickets');
    expect(row).to.deep.include({ value: 'ticket@@@new' });
    await ticketPush('ticket@@@newer', 3000);
    [row] = await node.db.query('SELECT value FROM tickets');
    expect(row.value).to.equal('ticket@@@newer');
  });

  it('concurrent pushes: each answered success only once its push-log row is committed, in shared writes', async () => {
    // the push log's group commit (system/group-commit.ts): slow writes, so that pushes pile up behind one
    const store = node.gh.services.store;
    const original = store.addPushes.bind(store);
    const writes: number[] = [];
    let committed = 0;
    store.addPushes = async (rows) => {
      writes.push(rows.length);
      await new Promise((r) => setTimeout(r, 15));
      await original(rows);
      committed += rows.length;
    };
    let answered = 0;
    const n = 40;
    const results = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const r = await ticketPush(`ticket@@@c${i}`, 1000 + i);
        answered++;
        expect(committed, 'a push answered before its row was committed').to.be.at.least(answered);
        return r;
      }),
    );
    expect(results.map((r) => `${r.status} ${r.text}`)).to.deep.equal(Array(n).fill('200 success'));
    expect(writes.reduce((a, b) => a + b, 0)).to.equal(n);
    expect(writes.length, `${writes.join(',')}: rows written together`).to.be.below(n / 2);
    const rows = await node.db.query("SELECT COUNT(*) AS n FROM pushes WHERE info_type = 'component_verify_ticket'");
    expect(Number(rows[0].n)).to.equal(n);
    expect((await node.db.query('SELECT value FROM tickets'))[0].value).to.equal(`ticket@@@c${n - 1}`);
  });

  it('a failed component refresh recovers as soon as a valid ticket is pushed', async () => {
    await push(
      xml({
        AppId: COMPONENT,
        CreateTime: 100,
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: 'not-accepted',
      }),
    );
    const failed = await rpc('wechat.tp.token', { codeName: 'tp' });
    expect(failed.returnCode).to.equal(40029);
    expect(failed.returnData.errcode).to.equal(61006);
    await ticketPush('ticket@@@good', 200);
    expect((await rpc('wechat.tp.token', { codeName: 'tp' })).returnCode).to.equal(0);
  });

  it('bad signature → 403, garbage → 400, > 64 KiB → 413, unknown platform → 404; none writes anything', async () => {
    const before = await state();
    const p = signedPush(
      TOKEN,
      AES,
      COMPONENT,
      xml({ AppId: COMPONENT, CreateTime: 5, InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'x' }),
    );
    const post = (q: string, body: string, path = '/wechat-tp/tp/events') =>
      fetch(`${node.url}${path}?${q}`, { method: 'POST', body });
    expect((await post(p.query.replace(/msg_signature=[0-9a-f]+/, 'msg_signature=0000'), p.body)).status).to.equal(403);
    expect((await post(p.query.replace(/nonce=[^&]+/, 'nonce=other'), p.body)).status).to.equal(403);
    expect((await post(p.query, 'not xml at all')).status).to.equal(400);
    expect((await post(p.query, '<xml><Encrypt>AAAA</Encrypt></xml>')).status).to.equal(403);
    const wrongKey = signedPush(TOKEN, AES, 'wxsomeoneelse', xml({ InfoType: 'component_verify_ticket' }));
    expect((await post(wrongKey.query, wrongKey.body)).status).to.equal(400);
    expect((await post(p.query, `<xml><Encrypt>${'A'.repeat(70_000)}</Encrypt></xml>`)).status).to.equal(413);
    expect((await post(p.query, '<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>')).status).to.equal(
      400,
    );
    expect((await post(p.query, p.body, '/wechat-tp/nope/events')).status).to.equal(404);
    expect(await state()).to.equal(before);
  });

  it('authorization: page → WeChat login page → authorized redirect → authorizer token (seeded) → rotated refresh token', async () => {
    await ticketPush('ticket@@@1', 1);
    const res = await authorize();
    expect(res.status).to.equal(302);
    const loc = new URL(res.headers.get('location')!);
    expect(`${loc.origin}${loc.pathname}`).to.equal('https://admin.example.com/done');
    expect(loc.searchParams.get('from')).to.equal('gh');
    expect(loc.searchParams.get('authorizer_appid')).to.equal(AUTHORIZER);
    expect(loc.searchParams.get('auth_code')).to.match(/^queryauthcode@@@/);
    expect(loc.searchParams.has('state')).to.equal(false); // the spent nonce is gatehouse's own
    expect(fake.count('api_query_auth')).to.equal(1);
    const list = await rpc('wechat.tp.authorizers', { codeName: 'tp' });
    expect(list.returnData.authorizers).to.have.length(1);
    expect(list.returnData.authorizers[0]).to.include({ authorizerAppId: AUTHORIZER, authorized: true });
    const t = await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER });
    expect(t.returnCode).to.equal(0);
    expect(t.returnData).to.include({ appId: COMPONENT, authorizerAppId: AUTHORIZER });
    expect(fake.isLive(t.returnData.token)).to.equal(true);
    expect(fake.count('api_authorizer_token')).to.equal(0);
    const forced = await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER, force: true });
    expect(forced.returnData.token).to.not.equal(t.returnData.token);
    expect(fake.count('api_authorizer_token')).to.equal(1);
    const [row] = await node.db.query('SELECT refresh_token FROM authorizers');
    expect(row.refresh_token).to.equal(wx.authorizations.get(`${COMPONENT}:${AUTHORIZER}`)!.refreshToken);
  });

  it('the link mode page goes to bindcomponent; without a ticket the page says not ready (503)', async () => {
    const notReady = await fetch(`${node.url}/wechat-tp/tp/authorize?mode=link`);
    expect(notReady.status).to.equal(503);
    await ticketPush('ticket@@@1', 1);
    const page = await (await fetch(`${node.url}/wechat-tp/tp/authorize?mode=link`)).text();
    const target = new URL(/href="([^"]+)"/.exec(page)![1].replace(/&amp;/g, '&'));
    expect(target.pathname).to.equal('/safe/bindcomponent');
    expect(target.searchParams.get('component_appid')).to.equal(COMPONENT);
    // the page's single-use state nonce rides in redirect_uri (WeChat carries no state of its own)
    const redirect = new URL(target.searchParams.get('redirect_uri')!);
    expect(`${redirect.origin}${redirect.pathname}`).to.equal('https://gh.example.com/wechat-tp/tp/authorized');
    expect([...redirect.searchParams.keys()]).to.deep.equal(['state']);
    expect(redirect.searchParams.get('state')).to.match(/^[0-9a-f]{32}$/);
    expect(target.searchParams.get('pre_auth_code')).to.match(/^preauthcode@@@/);
    expect(target.hash).to.equal('#wechat_redirect');
  });

  it('61023 marks the authorizer as needing re-authorization (1014) instead of retrying', async () => {
    await ticketPush('ticket@@@1', 1);
    await authorize();
    wx.revoke(COMPONENT, AUTHORIZER);
    const res = await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER, force: true });
    expect(res.returnCode).to.equal(0); // the seeded token is still valid: served through the failure
    await node.db.query('SELECT 1');
    const again = await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER });
    expect(again.returnCode).to.equal(1014);
    const calls = fake.count('api_authorizer_token');
    expect(
      (await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER, force: true })).returnCode,
    ).to.equal(1014);
    expect(fake.count('api_authorizer_token')).to.equal(calls);
    expect((await rpc('wechat.tp.authorizers', { codeName: 'tp' })).returnData.authorizers[0].authorized).to.equal(
      false,
    );
  });

  it('authorized / unauthorized events: code exchanged before success, forwarded, token stops at once', async () => {
    await ticketPush('ticket@@@1', 1);
    const code = wx.authorizationCode(COMPONENT, AUTHORIZER);
    const r = await push(
      xml({
        AppId: COMPONENT,
        CreateTime: 10,
        InfoType: 'authorized',
        AuthorizerAppid: AUTHORIZER,
        AuthorizationCode: code,
        AuthorizationCodeExpiredTime: 99,
        PreAuthCode: 'pre',
      }),
    );
    expect(r.text).to.equal('success');
    expect((await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER })).returnCode).to.equal(0);
    await push(xml({ AppId: COMPONENT, CreateTime: 11, InfoType: 'unauthorized', AuthorizerAppid: AUTHORIZER }));
    expect((await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER })).returnCode).to.equal(
      1014,
    );
    await until(() => hook.got.length >= 2, 'both forwards');
    expect(hook.got.map((g) => g.InfoType)).to.deep.equal(['authorized', 'unauthorized']);
    expect(hook.got[0].AuthorizationCode).to.equal(code);
    const pushes = (await rpc('admin.push.list', { platform: 'wechat_tp' })).returnData.pushes;
    expect(pushes.map((p: any) => p.infoType)).to.deep.equal(['unauthorized', 'authorized', 'component_verify_ticket']);
    expect(pushes[1].body.AuthorizationCode).to.equal(`****${code.slice(-4)}`);
    expect(pushes[2].body.ComponentVerifyTicket).to.equal('****@@@1'.slice(-8));
    expect(pushes[1]).to.include({ platform: 'wechat_tp', codeName: 'tp', appId: AUTHORIZER, verified: true });
  });

  it('updateauthorized: the new code is exchanged, the new refresh token and token replace the old, the push is forwarded', async () => {
    await ticketPush('ticket@@@1', 1);
    const first = wx.authorizationCode(COMPONENT, AUTHORIZER);
    expect(
      (
        await push(
          xml({
            AppId: COMPONENT,
            CreateTime: 10,
            InfoType: 'authorized',
            AuthorizerAppid: AUTHORIZER,
            AuthorizationCode: first,
            AuthorizationCodeExpiredTime: 99,
            PreAuthCode: 'pre',
          }),
        )
      ).text,
    ).to.equal('success');
    const before = (await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER })).returnData.token;
    const [oldRow] = await node.db.query('SELECT refresh_token FROM authorizers');
    fake.reset();
    const code = wx.authorizationCode(COMPONENT, AUTHORIZER);
    const r = await push(
      xml({
        AppId: COMPONENT,
        CreateTime: 20,
        InfoType: 'updateauthorized',
        AuthorizerAppid: AUTHORIZER,
        AuthorizationCode: code,
        AuthorizationCodeExpiredTime: 99,
        PreAuthCode: 'pre2',
      }),
    );
    expect(r.text).to.equal('success');
    expect(fake.count('api_query_auth')).to.equal(1);
    const [row] = await node.db.query('SELECT refresh_token, authorized FROM authorizers');
    expect(row.refresh_token).to.equal(wx.authorizations.get(`${COMPONENT}:${AUTHORIZER}`)!.refreshToken);
    expect(row.refresh_token).to.not.equal(oldRow.refresh_token);
    expect(Number(row.authorized)).to.equal(1);
    const after = (await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER })).returnData.token;
    expect(after).to.not.equal(before);
    expect(after).to.equal(fake.lastIssued('AAT', AUTHORIZER));
    expect(fake.count('api_authorizer_token')).to.equal(0); // the token came with the exchange
    // a late one (older than the last applied) is acknowledged and not exchanged
    expect(
      (
        await push(
          xml({
            AppId: COMPONENT,
            CreateTime: 15,
            InfoType: 'updateauthorized',
            AuthorizerAppid: AUTHORIZER,
            AuthorizationCode: code,
            AuthorizationCodeExpiredTime: 99,
            PreAuthCode: 'pre2',
          }),
        )
      ).text,
    ).to.equal('success');
    expect(fake.count('api_query_auth')).to.equal(1);
    expect((await node.db.query('SELECT refresh_token FROM authorizers'))[0].refresh_token).to.equal(row.refresh_token);
    await until(() => hook.got.filter((g) => g.InfoType === 'updateauthorized').length === 2);
    expect(hook.got.map((g) => g.InfoType)).to.deep.equal(['authorized', 'updateauthorized', 'updateauthorized']);
    expect(hook.got[1].AuthorizationCode).to.equal(code);
  });

  it('a forward target that never answers does not delay success', async () => {
    const stall = http.createServer(() => undefined);
    await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(stall.address() as { port: number }).port}/x`;
      await rpc('admin.app.put', {
        platform: 'wechat_tp',
        codeName: 'tp',
        config: { appId: COMPONENT, secret: SECRET, token: TOKEN, aesKey: AES, authForwardUrl: url },
      });
      const started = Date.now();
      const r = await push(
        xml({ AppId: COMPONENT, CreateTime: 12, InfoType: 'notify_third_fasteregister', appid: 'wxnew', status: 0 }),
      );
      expect(r.text).to.equal('success');
      expect(Date.now() - started).to.be.below(2000);
      const [row] = await node.db.query("SELECT info_type FROM pushes WHERE info_type = 'notify_third_fasteregister'");
      expect(row).to.not.equal(undefined);
    } finally {
      stall.closeAllConnections();
      stall.close();
    }
  });

  it('messages are decrypted and forwarded as JSON with every text kept as a string', async () => {
    const inner = xml({
      ToUserName: 'gh_123',
      FromUserName: 'o_user',
      CreateTime: 1700000000,
      MsgType: 'text',
      Content: '你好 & <b>',
      MsgId: '9223372036854775807',
    }).replace('<MsgId><![CDATA[9223372036854775807]]></MsgId>', '<MsgId>9223372036854775807</MsgId>');
    const r = await push(inner, { path: `/wechat-tp/tp/messages/${AUTHORIZER}` });
    expect(r.text).to.equal('success');
    await until(() => hook.got.length >= 1, 'the forward');
    expect(hook.got).to.deep.equal([
      {
        appid: AUTHORIZER,
        message: {
          ToUserName: 'gh_123',
          FromUserName: 'o_user',
          CreateTime: '1700000000',
          MsgType: 'text',
          Content: '你好 & <b>',
          MsgId: '9223372036854775807',
        },
      },
    ]);
  });

  it('sync adopts authorizations WeChat knows but gatehouse does not', async () => {
    await ticketPush('ticket@@@1', 1);
    wx.preexisting(COMPONENT, 'wxold000000000001');
    wx.preexisting(COMPONENT, 'wxold000000000002');
    expect((await rpc('wechat.tp.authorizers', { codeName: 'tp' })).returnData.authorizers).to.deep.equal([]);
    const synced = (await rpc('wechat.tp.authorizers', { codeName: 'tp', sync: true })).returnData.authorizers;
    expect(synced.map((a: any) => a.authorizerAppId)).to.include.members(['wxold000000000001', 'wxold000000000002']);
    expect(synced.every((a: any) => a.authorized)).to.equal(true);
    const t = await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: 'wxold000000000002' });
    expect(t.returnCode).to.equal(0);
    expect(fake.count('api_authorizer_token')).to.equal(1);
  });

  it('authorizer tickets, jsconfig and component code2session', async () => {
    await ticketPush('ticket@@@1', 1);
    await authorize();
    const t = await rpc('wechat.tpauth.ticket', { codeName: 'tp', authorizerAppId: AUTHORIZER });
    expect(t.returnData).to.include({ authorizerAppId: AUTHORIZER });
    // the jsapi ticket WeChat issued for the authorizer (fetched with the authorizer's token, not the component's)
    const issued = fake.lastIssued('TKjsapi', AUTHORIZER);
    expect(t.returnData.ticket).to.equal(issued);
    expect(fake.isLive(t.returnData.ticket, 'TKjsapi', AUTHORIZER)).to.equal(true);
    const cfg = await rpc('wechat.tpauth.jsconfig', {
      codeName: 'tp',
      authorizerAppId: AUTHORIZER,
      url: 'https://m.example.com/p?q=1#frag',
    });
    expect(Object.keys(cfg.returnData).sort()).to.deep.equal(['appId', 'nonceStr', 'signature', 'timestamp']);
    expect(cfg.returnData.appId).to.equal(AUTHORIZER);
    expect(Math.abs(cfg.returnData.timestamp - Date.now() / 1000)).to.be.below(300);
    // JS-SDK: sha1 over jsapi_ticket, noncestr, timestamp and the url without its fragment
    const { nonceStr, timestamp } = cfg.returnData;
    const want = crypto
      .createHash('sha1')
      .update(`jsapi_ticket=${issued}&noncestr=${nonceStr}&timestamp=${timestamp}&url=https://m.example.com/p?q=1`)
      .digest('hex');
    expect(cfg.returnData.signature).to.equal(want);
    const s = await rpc('wechat.tpauth.code2session', {
      codeName: 'tp',
      authorizerAppId: AUTHORIZER,
      jsCode: 'tpcode_1',
    });
    expect(s.returnData.openid).to.equal('o_tpcode_1');
    expect(fake.count('component_jscode2session', AUTHORIZER)).to.equal(1);
    expect((await rpc('wechat.tpauth.token', { codeName: 'tp', authorizerAppId: 'wxunknown' })).returnCode).to.equal(
      1012,
    );
  });
});
