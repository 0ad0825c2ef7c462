import { expect } from 'chai';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { AES, SAMPLE_APPS, SECRET_FIELDS } from '../helpers/apps';

forEachDialect('admin.*', (dialect) => {
  let node: TestNode;
  let tok: string;
  before(async () => {
    node = await startNode({ dialect });
    tok = node.token('admin.* qcloud.work.initagent');
  });
  after(async () => node?.close());

  for (const [platform, config] of Object.entries(SAMPLE_APPS)) {
    it(`puts, gets (masked), lists and deletes a ${platform} app`, async () => {
      const put = await node.rpc('admin.app.put', { platform, codeName: `c-${platform}`, config }, tok);
      expect(put.returnData).to.deep.equal({ platform, codeName: `c-${platform}`, created: true });
      expect(
        (await node.rpc('admin.app.put', { platform, codeName: `c-${platform}`, config }, tok)).returnData.created,
      ).to.equal(false);
      const got = (await node.rpc('admin.app.get', { platform, codeName: `c-${platform}` }, tok)).returnData;
      expect(got).to.include({ platform, codeName: `c-${platform}`, enabled: true });
      for (const [k, v] of Object.entries(config)) {
        if (SECRET_FIELDS[platform].includes(k)) expect(got[k], k).to.equal(`****${String(v).slice(-4)}`);
        else expect(got[k], k).to.equal(platform === 'wecom_corp' && k === 'agentId' ? String(v) : v);
      }
      const list = (await node.rpc('admin.app.list', { platform }, tok)).returnData.apps;
      expect(list).to.have.length(1);
      expect(list[0]).to.include({ platform, codeName: `c-${platform}`, enabled: true });
      expect(list[0].updatedAt).to.be.closeTo(Math.floor(Date.now() / 1000), 5);
      expect(JSON.stringify(list)).to.not.include(SECRET_FIELDS[platform].map((f) => String(config[f]))[0]);
      expect(
        (await node.rpc('admin.app.delete', { platform, codeName: `c-${platform}` }, tok)).returnData,
      ).to.deep.equal({ deleted: true });
      expect(
        (await node.rpc('admin.app.delete', { platform, codeName: `c-${platform}` }, tok)).returnData,
      ).to.deep.equal({ deleted: false });
      expect((await node.rpc('admin.app.get', { platform, codeName: `c-${platform}` }, tok)).returnCode).to.equal(1012);
    });
  }

  const bad: Array<[string, Record<string, unknown>]> = [
    ['an unknown platform', { platform: 'wechat_game', codeName: 'x', config: {} }],
    [
      'a 42-char aesKey',
      { platform: 'wecom_tp', codeName: 'x', config: { ...SAMPLE_APPS.wecom_tp, aesKey: AES.slice(1) } },
    ],
    ['a missing secret', { platform: 'wechat_app', codeName: 'x', config: { appId: 'wx1' } }],
    ['an unknown field', { platform: 'toutiao_app', codeName: 'x', config: { appId: 'tt', secret: 's', extra: 1 } }],
    [
      'a malformed URL',
      { platform: 'shansong_app', codeName: 'x', config: { appId: 'a', secret: 's', callbackUrl: 'ftp://x' } },
    ],
    [
      'a non-digit agentId',
      { platform: 'wecom_corp', codeName: 'x', config: { corpId: 'ww1', agentId: '10a', secret: 's' } },
    ],
    [
      'a bad tokenMode',
      { platform: 'wechat_app', codeName: 'x', config: { appId: 'wx1', secret: 's', tokenMode: 'fast' } },
    ],
    ['a bad codeName', { platform: 'toutiao_app', codeName: 'a b', config: { appId: 'tt', secret: 's' } }],
  ];
  for (const [what, para] of bad) {
    it(`rejects ${what} with 1003 and writes nothing`, async () => {
      const res = await node.rpc('admin.app.put', para, tok);
      expect(res.returnCode).to.equal(1003);
      expect(res.returnData.errors).to.be.an('array').that.is.not.empty;
      expect(await node.db.query("SELECT * FROM apps WHERE code_name = 'x' OR code_name = 'a b'")).to.have.length(0);
    });
  }

  it('stores a numeric WeCom agentId as a string', async () => {
    await node.rpc(
      'admin.app.put',
      { platform: 'wecom_corp', codeName: 'n', config: { corpId: 'ww9', agentId: 1000005, secret: 's' } },
      tok,
    );
    const [row] = await node.db.query("SELECT config FROM apps WHERE code_name = 'n'");
    expect(JSON.parse(String(row.config)).agentId).to.equal('1000005');
  });

  it('qcloud.work.initagent upserts a wecom_corp app named corpid:agentid', async () => {
    const res = await node.rpc(
      'qcloud.work.initagent',
      { corpid: 'wwinit', agentid: 1000009, agentsecret: 'agent-secret-9', remark: 'hr' },
      tok,
    );
    expect(res).to.include({ returnCode: 0 });
    expect(res.returnData).to.deep.equal({});
    const got = (await node.rpc('admin.app.get', { platform: 'wecom_corp', codeName: 'wwinit:1000009' }, tok))
      .returnData;
    expect(got).to.include({ corpId: 'wwinit', agentId: '1000009', secret: '****et-9' });
  });

  it('admin.token.list answers an empty list before any token exists', async () => {
    const res = await node.rpc('admin.token.list', {}, tok);
    expect(res.returnData).to.deep.equal({ tokens: [] });
  });
});
