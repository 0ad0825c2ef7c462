import { expect } from 'chai';
import { FakePlatform } from './fake/platform';
import { FakeWechatTp } from './fake/wechat-tp';
import { freePort, serve, type ServeProcess } from './helpers/cli';
import { freshDatabase, requireMariadb, type TestDatabase } from './helpers/db';
import { JWT_SECRET } from './helpers/gatehouse';
import { signedPush, xml } from './helpers/push';
import { signCaller } from '../system/callers';

const COMPONENT = 'wxcomponent000777';
const AUTHORIZER = 'wxauthorizer00777';
const TOKEN = 'tok777';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const CALLER = signCaller(JWT_SECRET, { sub: 't', scope: '*', ttlSeconds: 3600 });

describe('WeChat third-party platform on two nodes', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let nodes: ServeProcess[] = [];

  const rpc = async (n: ServeProcess, interfaceName: string, para: unknown) =>
    (await (
      await fetch(`${n.url}/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${CALLER}` },
        body: JSON.stringify({ interface: { interfaceName, para } }),
      })
    ).json()) as { returnCode: number; returnData: any };
  const push = async (n: ServeProcess, fields: Record<string, string | number>) => {
    const p = signedPush(TOKEN, AES, COMPONENT, xml(fields));
    return (await fetch(`${n.url}/wechat-tp/tp/events?${p.query}`, { method: 'POST', body: p.body })).text();
  };

  before(async function () {
    await requireMariadb(this);
    db = await freshDatabase('mariadb');
    fake = await new FakePlatform().start();
    wx = new FakeWechatTp(fake);
    fake.app(COMPONENT, 's');
    const env = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_WECHAT_API: fake.url,
      GATEHOUSE_LOG_LEVEL: 'warn',
    };
    nodes = await Promise.all([0, 1].map(() => serve({ ...env, GATEHOUSE_PORT: freePort() })));
    await rpc(nodes[0], 'admin.app.put', {
      platform: 'wechat_tp',
      codeName: 'tp',
      config: { appId: COMPONENT, secret: 's', token: TOKEN, aesKey: AES },
    });
  });
  after(async () => {
    for (const n of nodes) n.kill();
    await Promise.all(nodes.map((n) => n.exited));
    await fake?.stop();
    await db?.drop();
  });

  it('a ticket pushed to one node serves both; unauthorized on one stops the token on the other at once', async () => {
    wx.acceptTicket(COMPONENT, 'ticket@@@m');
    expect(
      await push(nodes[0], {
        AppId: COMPONENT,
        CreateTime: 1,
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: 'ticket@@@m',
      }),
    ).to.equal('success');
    expect((await rpc(nodes[1], 'wechat.tp.token', { codeName: 'tp' })).returnCode).to.equal(0);
    const code = wx.authorizationCode(COMPONENT, AUTHORIZER);
    expect(
      await push(nodes[1], {
        AppId: COMPONENT,
        CreateTime: 2,
        InfoType: 'authorized',
        AuthorizerAppid: AUTHORIZER,
        AuthorizationCode: code,
      }),
    ).to.equal('success');
    const a = await rpc(nodes[0], 'wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER });
    const b = await rpc(nodes[1], 'wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER });
    expect(a.returnCode).to.equal(0);
    expect(b.returnData.token).to.equal(a.returnData.token);
    expect(
      await push(nodes[0], { AppId: COMPONENT, CreateTime: 3, InfoType: 'unauthorized', AuthorizerAppid: AUTHORIZER }),
    ).to.equal('success');
    expect(
      (await rpc(nodes[1], 'wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER })).returnCode,
    ).to.equal(1014);
    expect(
      (await rpc(nodes[0], 'wechat.tpauth.token', { codeName: 'tp', authorizerAppId: AUTHORIZER })).returnCode,
    ).to.equal(1014);
  });
});
