import { expect } from 'chai';
import { FakePlatform } from '../fake/platform';
import { installToutiao } from '../fake/toutiao';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';

const APPID = 'tt0123456789abcd';
const APPID2 = 'tt0123456789abce';

forEachDialect('ByteDance mini programs', (dialect) => {
  let fake: FakePlatform;
  let node: TestNode;
  let tok: string;
  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para, tok);

  before(async () => {
    fake = await new FakePlatform().start();
    installToutiao(fake);
    fake.app(APPID, 'tt-secret');
    node = await startNode({ dialect, fake, env: { GATEHOUSE_TOUTIAO_API: fake.url } });
    tok = node.token('toutiao.* admin.*');
    await rpc('admin.app.put', {
      platform: 'toutiao_app',
      codeName: 'tt',
      config: { appId: APPID, secret: 'tt-secret' },
    });
  });
  after(async () => {
    await node?.close();
    await fake?.stop();
  });

  it('toutiao.app.token: one upstream call for concurrent callers, force bounded, errors mapped', async () => {
    fake.latencyMs = 100;
    const all = await Promise.all(Array.from({ length: 50 }, () => rpc('toutiao.app.token', { codeName: 'tt' })));
    fake.latencyMs = 0;
    expect(fake.count('toutiao_token')).to.equal(1);
    expect(new Set(all.map((r) => r.returnData.token)).size).to.equal(1);
    expect(all[0].returnData.appId).to.equal(APPID);
    expect(fake.isLive(all[0].returnData.token)).to.equal(true);
    const forced = await rpc('toutiao.app.token', { codeName: 'tt', force: true });
    expect(forced.returnData.token).to.not.equal(all[0].returnData.token);
    expect((await rpc('toutiao.app.token', { codeName: 'tt', force: true })).returnData.token).to.equal(
      forced.returnData.token,
    );
    expect(fake.count('toutiao_token')).to.equal(2);
    // another app whose secret the platform refuses (one appId belongs to one codeName)
    fake.app(APPID2, 'tt-secret-2');
    await rpc('admin.app.put', {
      platform: 'toutiao_app',
      codeName: 'bad',
      config: { appId: APPID2, secret: 'wrong' },
    });
    const bad = await rpc('toutiao.app.token', { codeName: 'bad' });
    expect(bad.returnCode).to.equal(40029);
    expect(bad.returnData).to.deep.equal({ platform: 'toutiao', errcode: 40017, errmsg: 'invalid appsecret' });
  });

  it('toutiao.app.code2session with code and/or anonymousCode', async () => {
    const a = await rpc('toutiao.app.code2session', { codeName: 'tt', code: 'tt_1' });
    expect(a.returnData).to.include({ openid: 'o_tt_1', unionid: 'u_tt_1' });
    expect(a.returnData.sessionKey).to.be.a('string');
    const b = await rpc('toutiao.app.code2session', { codeName: 'tt', anonymousCode: 'anon' });
    expect(b.returnData).to.include({ anonymousOpenid: 'ao_anon' });
    expect((await rpc('toutiao.app.code2session', { codeName: 'tt' })).returnCode).to.equal(1003);
    expect((await rpc('toutiao.app.code2session', { codeName: 'tt', code: 'nope' })).returnData.errcode).to.equal(
      40018,
    );
    expect((await rpc('toutiao.app.code2session', { codeName: 'nope', code: 'tt_1' })).returnCode).to.equal(1012);
  });
});
