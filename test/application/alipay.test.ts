import { expect } from 'chai';
import { AlipaySdk } from 'alipay-sdk';
import crypto from 'node:crypto';
import { FakeAlipay } from '../fake/alipay';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { topLevelMembers } from '../../application/platforms/alipay/sign';
import { startNode, type TestNode } from '../helpers/gatehouse';

/**
 * Alipay mini programs (alipay_app) beyond the session flow (minaauth-platforms.test.ts): the
 * requests gatehouse signs with node:crypto checked byte for byte by Alipay's own Node SDK
 * (alipay-sdk, a devDependency used for nothing else), the app's keys checked as they are put, and
 * the signed gateway proxy /proxy/alipay/{codeName}.
 */
const APPID = '2021000000000007';
const KEYS = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PKCS1 = KEYS.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const PUBLIC = KEYS.publicKey.export({ type: 'spki', format: 'pem' }).toString();

forEachDialect('Alipay mini programs', (dialect) => {
  let fake: FakePlatform;
  let alipay: FakeAlipay;
  let node: TestNode;
  let admin: string;

  const put = (codeName: string, config: Record<string, unknown>) =>
    node.rpc('admin.app.put', { platform: 'alipay_app', codeName, config }, admin);
  const proxy = (codeName: string, body: unknown, token?: string) =>
    fetch(`${node.url}/proxy/alipay/${codeName}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  /** what Alipay's SDK signs for these parameters (its timestamp and format made the same as gatehouse's) */
  const sdkSigned = (
    sent: Record<string, string>,
    privateKey = PRIVATE_PKCS1,
    keyType: 'PKCS1' | 'PKCS8' = 'PKCS1',
  ) => {
    const sdk = new AlipaySdk({ appId: APPID, privateKey, alipayPublicKey: alipay.alipayPublicKeyPem, keyType });
    const { method, app_id: _a, sign: _s, charset: _c, version: _v, sign_type: _t, biz_content, ...rest } = sent;
    const query = sdk.sdkExecute(
      method,
      { ...rest, ...(biz_content ? { biz_content: JSON.parse(biz_content) as object } : {}) },
      { bizContentAutoSnakeCase: false },
    );
    return Object.fromEntries(new URLSearchParams(query));
  };

  before(async () => {
    fake = await new FakePlatform().start();
    alipay = new FakeAlipay(fake);
    alipay.app(APPID, PUBLIC);
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    node = await startNode({ dialect, fake, env: { GATEHOUSE_ALIPAY_GATEWAY: alipay.url } });
    admin = node.token('admin.*');
    const r = await put('ali', { appId: APPID, privateKey: PRIVATE_PKCS1, alipayPublicKey: alipay.alipayPublicKeyPem });
    expect(r.returnCode).to.equal(0);
    alipay.answer = 'signed';
    alipay.received.length = 0;
    fake.reset();
  });
  afterEach(async () => node?.close());

  it("alipay-sdk signs gatehouse's login request byte for byte the same (PKCS#1 and PKCS#8 keys)", async () => {
    const code = alipay.authCode({ userId: '2088000000000011' });
    expect((await node.rpc('qcloud.cam.id_skey', { code, appid: APPID })).returnCode).to.equal(0);
    const [sent] = alipay.received;
    expect(Object.keys(sent).sort()).to.deep.equal(
      [
        'app_id',
        'charset',
        'code',
        'format',
        'grant_type',
        'method',
        'sign',
        'sign_type',
        'timestamp',
        'version',
      ].sort(),
    );
    expect(sent).to.include({
      app_id: APPID,
      method: 'alipay.system.oauth.token',
      charset: 'utf-8',
      sign_type: 'RSA2',
    });
    expect(sdkSigned(sent)).to.deep.equal(sent);
    // the same key as bare base64 PKCS#8 (what Alipay's key tool gives) signs the same
    const pkcs8 = KEYS.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    expect(
      (await put('ali', { appId: APPID, privateKey: pkcs8, alipayPublicKey: alipay.alipayPublicKeyPem })).returnCode,
    ).to.equal(0);
    const again = alipay.authCode({ userId: '2088000000000011' });
    expect((await node.rpc('qcloud.cam.id_skey', { code: again, appid: APPID })).returnCode).to.equal(0);
    const second = alipay.received[1];
    expect(second.code).to.equal(again);
    expect(sdkSigned(second, pkcs8, 'PKCS8')).to.deep.equal(second);
  });

  it('admin.app.put checks the keys (1003 naming the field, never the key) and masks the private key', async () => {
    const weak = crypto
      .generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ privateKey: 'not a key at all' }, '/privateKey'],
      [{ privateKey: weak }, '/privateKey'],
      [{ alipayPublicKey: PRIVATE_PKCS1 }, '/alipayPublicKey'],
      [{ alipayPublicKey: 'MIIBIjANBgkqhkiG9w0BAQEFAAOC' }, '/alipayPublicKey'],
      [{ aesKey: 'short' }, '/config/aesKey'],
    ];
    for (const [change, path] of cases) {
      const r = await put('ali2', {
        appId: '2021000000000008',
        privateKey: PRIVATE_PKCS1,
        alipayPublicKey: PUBLIC,
        ...change,
      });
      expect(r.returnCode, path).to.equal(1003);
      expect(JSON.stringify(r.returnData.errors), path).to.include(path);
      expect(JSON.stringify(r)).to.not.include('PRIVATE KEY');
      expect(JSON.stringify(r)).to.not.include(weak.slice(40, 80));
    }
    expect((await node.rpc('admin.app.get', { platform: 'alipay_app', codeName: 'ali2' }, admin)).returnCode).to.equal(
      1012,
    );
    const got = await node.rpc('admin.app.get', { platform: 'alipay_app', codeName: 'ali' }, admin);
    expect(got.returnData.privateKey).to.match(/^\*\*\*\*/);
    expect(JSON.stringify(got)).to.not.include('PRIVATE KEY');
  });

  describe('/proxy/alipay/{codeName}', () => {
    it('signs any gateway method (alipay-sdk signs the same) and relays the signed answer as it came', async () => {
      const tok = node.token('proxy.alipay_app');
      const biz = { out_trade_no: 'T20261124001', query_options: ['trade_settle_info'] };
      const res = await proxy('ali', { method: 'alipay.trade.query', biz_content: biz, app_auth_token: 'tok-1' }, tok);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      const text = await res.text();
      const sent = alipay.received[0];
      expect(sent).to.include({
        method: 'alipay.trade.query',
        app_auth_token: 'tok-1',
        biz_content: JSON.stringify(biz),
      });
      expect(sdkSigned(sent)).to.deep.equal(sent);
      const body = JSON.parse(text) as { alipay_trade_query_response: Record<string, unknown>; sign: string };
      expect(body.alipay_trade_query_response).to.include({ code: '10000', method: 'alipay.trade.query' });
      // the relayed answer still verifies with Alipay's key, by Alipay's SDK
      const sdk = new AlipaySdk({
        appId: APPID,
        privateKey: PRIVATE_PKCS1,
        alipayPublicKey: alipay.alipayPublicKeyPem,
      });
      expect(() => sdk.checkResponseSign(text, 'alipay_trade_query_response', body.sign, 't')).to.not.throw();
      expect(fake.count('alipay_alipay.trade.query', APPID)).to.equal(1);
    });

    it('an unsigned or badly signed answer is 502 with 1007, never relayed; a signed error is relayed', async () => {
      const tok = node.token('proxy.alipay_app');
      for (const answer of ['unsigned', 'badly-signed'] as const) {
        alipay.answer = answer;
        const res = await proxy('ali', { method: 'alipay.trade.query', biz_content: { out_trade_no: 'T1' } }, tok);
        expect(res.status, answer).to.equal(502);
        expect(await res.json()).to.deep.equal({ returnCode: 1007, returnMessage: 'UPSTREAM_BAD_REPLY' });
      }
      alipay.answer = 'signed';
      await put('ali', {
        appId: APPID,
        privateKey: crypto
          .generateKeyPairSync('rsa', { modulusLength: 2048 })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
        alipayPublicKey: alipay.alipayPublicKeyPem,
      });
      const refused = await proxy('ali', { method: 'alipay.trade.query' }, tok);
      expect(refused.status).to.equal(200);
      expect(((await refused.json()) as Record<string, any>).error_response).to.include({
        sub_code: 'isv.invalid-signature',
      });
    });

    it('who may call: 401 without a token, 403 without proxy.alipay_app or outside the apps claim, 404 unknown app', async () => {
      const para = { method: 'alipay.trade.query', biz_content: { out_trade_no: 'T1' } };
      expect((await proxy('ali', para)).status).to.equal(401);
      expect((await proxy('ali', para, node.token('proxy.wechat_app alipay.*'))).status).to.equal(403);
      expect((await proxy('ali', para, node.token('proxy.alipay_app', ['other']))).status).to.equal(403);
      expect((await proxy('nope', para, node.token('proxy.alipay_app'))).status).to.equal(404);
      expect((await proxy('ali', para, node.token('proxy.alipay_app', ['ali']))).status).to.equal(200);
      expect(fake.count('alipay_alipay.trade.query')).to.equal(1);
    });

    it('what gatehouse sets may not be sent; bad bodies are 400 and nothing is sent', async () => {
      const tok = node.token('proxy.alipay_app');
      for (const body of [
        { biz_content: {} },
        { method: 'alipay.trade.query', app_id: '2021000000000099' },
        { method: 'alipay.trade.query', sign: 'x' },
        { method: 'alipay.trade.query', timestamp: '2020-01-01 00:00:00' },
        { method: 'alipay.trade.query', notify_url: { x: 1 } },
        { method: 'ALIPAY TRADE', biz_content: {} },
        { method: 'alipay.trade.query', 'Bad-Name': 'x' },
        '[1,2]',
        'not json',
        `{"method":"alipay.trade.query","biz_content":${'['.repeat(100)}${']'.repeat(100)}}`,
      ]) {
        const res = await proxy('ali', body, tok);
        expect(res.status, JSON.stringify(body)).to.equal(400);
      }
      expect(alipay.received).to.have.length(0);
    });
  });
});

describe('alipay topLevelMembers', () => {
  it("gives each top-level member's raw text; a member named twice is no answer (readers differ on which)", () => {
    const m = topLevelMembers('{ "a_response" : {"x":"}\\"","y":[1,{"z":2}]} , "sign":"s=" }');
    expect([...m!.entries()]).to.deep.equal([
      ['a_response', '{"x":"}\\"","y":[1,{"z":2}]}'],
      ['sign', '"s="'],
    ]);
    expect(topLevelMembers('{"a_response":{"code":"40004"},"a_response":{"code":"10000"},"sign":"s"}')).to.equal(
      undefined,
    );
    expect(topLevelMembers('{"sign":"s","a_response":{},"sign":"t"}')).to.equal(undefined);
    expect(topLevelMembers('[1]')).to.equal(undefined);
  });
});
