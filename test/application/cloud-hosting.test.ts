// WeChat Cloud Hosting's decrypted JSON pushes (GATEHOUSE_CLOUD_HOSTING=true with x-wx-source) on the same
// callback routes as the encrypted XML ones, with the same guarantees; refused without the flag or the header.
import { expect } from 'chai';
import { FakePlatform } from '../fake/platform';
import { FakeWechatTp } from '../fake/wechat-tp';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { signedPush, xml } from '../helpers/push';

const COMPONENT = 'wxcomponent000001';
const SECRET = 'component-secret';
const TOKEN = 'push-token-1';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

describe('WeChat Cloud Hosting pushes (x-wx-source, decrypted JSON)', () => {
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let node: TestNode | undefined;

  const start = async (cloudHosting: boolean) => {
    node = await startNode({
      dialect: 'sqlite',
      fake,
      env: cloudHosting ? { GATEHOUSE_CLOUD_HOSTING: 'true' } : {},
    });
    const put = await node.rpc(
      'admin.app.put',
      {
        platform: 'wechat_tp',
        codeName: 'tp',
        config: { appId: COMPONENT, secret: SECRET, token: TOKEN, aesKey: AES },
      },
      node.token('admin.*'),
    );
    expect(put.returnCode).to.equal(0);
    return node;
  };
  const jsonPush = async (body: unknown, headers: Record<string, string> = { 'x-wx-source': 'wx-cloudrun' }) => {
    const res = await fetch(`${node!.url}/wechat-tp/tp/events`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
    return { status: res.status, text: await res.text() };
  };
  const ticket = (value: string, createTime: number, appId = COMPONENT) => ({
    AppId: appId,
    CreateTime: createTime,
    InfoType: 'component_verify_ticket',
    ComponentVerifyTicket: value,
  });
  const stored = async () =>
    (await node!.db.query('SELECT value, create_time FROM tickets WHERE app_id = ?', [COMPONENT])) as {
      value: string;
      create_time: number;
    }[];
  const pushRows = async () =>
    (await node!.db.query('SELECT info_type, verified FROM pushes ORDER BY id')) as unknown[];

  before(async () => {
    fake = await new FakePlatform().start();
    wx = new FakeWechatTp(fake);
    fake.app(COMPONENT, SECRET);
  });
  after(async () => fake?.stop());
  afterEach(async () => {
    await node?.close();
    node = undefined;
  });

  it('with the flag and the header: the ticket is stored before `success`, in CreateTime order, and serves', async () => {
    await start(true);
    expect(await jsonPush(ticket('ticket-2', 2000))).to.deep.equal({ status: 200, text: 'success' });
    expect((await stored()).map((r) => [r.value, Number(r.create_time)])).to.deep.equal([['ticket-2', 2000]]);
    // an older ticket arriving late changes nothing; a newer one replaces it
    expect(await jsonPush(ticket('ticket-1', 1000))).to.deep.equal({ status: 200, text: 'success' });
    expect((await stored()).map((r) => r.value)).to.deep.equal(['ticket-2']);
    expect(await jsonPush(ticket('ticket-3', 3000))).to.deep.equal({ status: 200, text: 'success' });
    expect((await stored()).map((r) => r.value)).to.deep.equal(['ticket-3']);
    expect(await pushRows()).to.have.length(3);
    // the stored ticket is what the component token is fetched with
    wx.acceptTicket(COMPONENT, 'ticket-3');
    const t = await node!.rpc('wechat.tp.token', { codeName: 'tp' }, node!.token());
    expect(t.returnCode, JSON.stringify(t)).to.equal(0);
    expect(t.returnData.token).to.be.a('string').and.not.equal('');
  });

  it('the encrypted, signed XML push is still accepted on the same route with the flag on (with the header too)', async () => {
    await start(true);
    const p = signedPush(
      TOKEN,
      AES,
      COMPONENT,
      xml({ AppId: COMPONENT, CreateTime: 10, InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'xml-t' }),
    );
    // as Cloud Hosting passes on an encrypted push too: with its header, as XML
    const res = await fetch(`${node!.url}/wechat-tp/tp/events?${p.query}`, {
      method: 'POST',
      body: p.body,
      headers: { 'content-type': 'text/xml', 'x-wx-source': 'wx-cloudrun' },
    });
    expect([res.status, await res.text()]).to.deep.equal([200, 'success']);
    expect((await stored()).map((r) => r.value)).to.deep.equal(['xml-t']);
  });

  it('without the flag, a JSON push with x-wx-source is refused and changes nothing (never trusted)', async () => {
    await start(false);
    const r = await jsonPush(ticket('forged', 5000));
    expect(r.status).to.equal(400);
    expect(r.text).to.not.equal('success');
    expect(await stored()).to.deep.equal([]);
    expect(await pushRows()).to.deep.equal([]);
  });

  it('with the flag but without the header, a JSON push is refused: only signed XML is read', async () => {
    await start(true);
    const r = await jsonPush(ticket('forged', 5000), {});
    expect(r.status).to.equal(400);
    expect(await stored()).to.deep.equal([]);
  });

  it("another platform's push, a body that is no JSON object or nested absurdly deep: 400 / 403, nothing stored", async () => {
    await start(true);
    expect((await jsonPush(ticket('other', 5000, 'wxsomeoneelse'))).status).to.equal(403);
    expect((await jsonPush('not json')).status).to.equal(400);
    expect((await jsonPush('[1,2]')).status).to.equal(400);
    expect((await jsonPush('null')).status).to.equal(400);
    expect((await jsonPush('{"a":'.repeat(100) + '1' + '}'.repeat(100))).status).to.equal(400);
    expect(await stored()).to.deep.equal([]);
    expect(await pushRows()).to.deep.equal([]);
  });
});
