import { expect } from 'chai';
import http from 'node:http';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { DATA_CRYPT as V } from '../helpers/vectors';

// the stock Wafer Node SDK, unchanged
// eslint-disable-next-line @typescript-eslint/no-require-imports
const qcloud = require('qcloud-weapp-server-sdk') as {
  config: (o: Record<string, unknown>) => void & { setAuthServerUrl(u: string): void };
  LoginService: {
    create(
      req: http.IncomingMessage,
      res: http.ServerResponse,
    ): { login(): Promise<{ userInfo: any }>; check(): Promise<{ userInfo: any }> };
  };
};

const MAGIC = 'F2C224D4-2BCE-4C64-AF9F-A6D872000D1A';

/** A business server written the way the SDK's README says: /login and /user. */
async function businessServer(): Promise<{ url: string; close(): Promise<void>; lastUser: () => any }> {
  let lastUser: any;
  const server = http.createServer((req, res) => {
    const svc = qcloud.LoginService.create(req, res);
    if (req.url === '/login') {
      svc.login().then(
        (r) => (lastUser = r.userInfo),
        () => {},
      );
    } else if (req.url === '/user') {
      svc.check().then(
        (r) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 0, message: 'ok', data: { userInfo: r.userInfo } }));
        },
        () => {},
      );
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    lastUser: () => lastUser,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

forEachDialect('stock Wafer SDK qcloud-weapp-server-sdk@0.8.2', (dialect) => {
  let fake: FakePlatform;
  let node: TestNode;
  let biz: Awaited<ReturnType<typeof businessServer>>;

  before(async () => {
    fake = await new FakePlatform().start();
    fake.app(V.appId, 'mina-secret');
    node = await startNode({ dialect, fake });
    await node.rpc(
      'admin.app.put',
      { platform: 'wechat_app', codeName: 'mina', config: { appId: V.appId, secret: 'mina-secret' } },
      node.token(),
    );
    (qcloud.config as unknown as { setAuthServerUrl(u: string): void }).setAuthServerUrl(`${node.url}/mina_auth/`);
    biz = await businessServer();
  });
  after(async () => {
    await biz?.close();
    await node?.close();
    await fake?.stop();
  });

  it('LoginService.login() logs in with X-WX-Code / X-WX-Encrypted-Data / X-WX-IV and .check() resolves the user', async () => {
    const { code } = fake.code({ sessionKey: V.sessionKey, openid: V.openId });
    const loginRes = await fetch(`${biz.url}/login`, {
      headers: { 'X-WX-Code': code, 'X-WX-Encrypted-Data': V.encryptedData, 'X-WX-IV': V.iv },
    });
    const loginBody = (await loginRes.json()) as any;
    expect(loginBody[MAGIC]).to.equal(1);
    expect(loginBody.error).to.equal(undefined);
    const { id, skey } = loginBody.session;
    expect(id).to.match(/^[0-9a-f]{32}$/);
    expect(skey).to.match(/^[0-9a-f]{32}$/);
    expect(biz.lastUser()).to.include({ openId: V.openId, nickName: V.nickName, unionId: V.unionId });

    const user = (await (
      await fetch(`${biz.url}/user`, { headers: { 'X-WX-Id': id, 'X-WX-Skey': skey } })
    ).json()) as any;
    expect(user.code).to.equal(0);
    expect(user.data.userInfo).to.include({ openId: V.openId, nickName: V.nickName });
  });

  it('a wrong skey makes .check() answer ERR_INVALID_SESSION (60012 understood by the SDK)', async () => {
    const res = await fetch(`${biz.url}/user`, { headers: { 'X-WX-Id': 'a'.repeat(32), 'X-WX-Skey': 'b'.repeat(32) } });
    const body = (await res.json()) as any;
    expect(body[MAGIC]).to.equal(1);
    expect(body.error).to.equal('ERR_INVALID_SESSION');
  });

  it('a failed jscode2session makes .login() answer ERR_LOGIN_FAILED', async () => {
    const res = await fetch(`${biz.url}/login`, {
      headers: { 'X-WX-Code': 'fail:40029', 'X-WX-Encrypted-Data': V.encryptedData, 'X-WX-IV': V.iv },
    });
    const body = (await res.json()) as any;
    expect(body.error).to.equal('ERR_LOGIN_FAILED');
    expect(body.message).to.include('40029');
  });
});
