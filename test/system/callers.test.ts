import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { appsAllow, parseTtl, scopeCovers } from '../../system/callers';
import { JWT_SECRET, startNode, type TestNode } from '../helpers/gatehouse';

describe('caller scopes', () => {
  it('matches *, trailing-* prefixes and exact names only', () => {
    expect(scopeCovers(['*'], 'admin.app.put')).to.equal(true);
    expect(scopeCovers(['admin.*'], 'admin.app.put')).to.equal(true);
    expect(scopeCovers(['qcloud.work.*'], 'qcloud.work.ticket')).to.equal(true);
    expect(scopeCovers(['qcloud.work.*'], 'qcloud.workx')).to.equal(false);
    expect(scopeCovers(['admin.app.get'], 'admin.app.get')).to.equal(true);
    expect(scopeCovers(['admin.app.get'], 'admin.app.put')).to.equal(false);
    expect(scopeCovers(['admin'], 'admin.app.put')).to.equal(false);
    expect(scopeCovers([], 'admin.app.put')).to.equal(false);
  });

  it('apps claims restrict the identifiers a call names', () => {
    const c = { sub: 's', scope: ['*'], exp: 0 };
    expect(appsAllow(c, ['x'])).to.equal(true);
    expect(appsAllow({ ...c, apps: ['a'] }, ['a', undefined])).to.equal(true);
    expect(appsAllow({ ...c, apps: ['a'] }, ['b'])).to.equal(false);
  });

  it('parses ttls', () => {
    expect(parseTtl('30d')).to.equal(2592000);
    expect(parseTtl('12h')).to.equal(43200);
    expect(parseTtl('90')).to.equal(90);
    expect(() => parseTtl('soon')).to.throw(/--ttl/);
  });
});

describe('caller tokens on the wire', () => {
  let node: TestNode;
  before(async () => {
    node = await startNode({ dialect: 'sqlite' });
  });
  after(async () => node?.close());

  const list = (token?: string) => node.rpc('admin.app.list', {}, token);
  const sign = (claims: object, secret = JWT_SECRET, opts: jwt.SignOptions = { expiresIn: 60 }) =>
    jwt.sign(claims, secret, opts);

  it('accepts a valid HS256 token whose scope covers the name', async () => {
    expect((await list(sign({ sub: 'ops', scope: 'admin.*' }))).returnCode).to.equal(0);
    expect((await list(sign({ sub: 'ops', scope: 'wechat.* admin.app.list' }))).returnCode).to.equal(0);
  });

  const rejected: Array<[string, () => string | undefined]> = [
    ['no token', () => undefined],
    ['a wrong secret', () => sign({ sub: 'x', scope: '*' }, 'another-secret')],
    ['an expired token', () => sign({ sub: 'x', scope: '*', exp: Math.floor(Date.now() / 1000) - 10 }, JWT_SECRET, {})],
    ['a token without exp', () => sign({ sub: 'x', scope: '*' }, JWT_SECRET, {})],
    ['alg none', () => jwt.sign({ sub: 'x', scope: '*', exp: 9999999999 }, '', { algorithm: 'none' })],
    ['HS512', () => sign({ sub: 'x', scope: '*' }, JWT_SECRET, { algorithm: 'HS512', expiresIn: 60 })],
    ['no scope claim', () => sign({ sub: 'x' })],
    ['garbage', () => 'not.a.jwt'],
  ];
  for (const [what, tok] of rejected) {
    it(`answers 4001 for ${what}`, async () => {
      const t = tok();
      const res = await node.post(
        JSON.stringify({ interface: { interfaceName: 'admin.app.list', para: {} } }),
        t === undefined ? {} : { authorization: `Bearer ${t}` },
      );
      expect(res.body).to.deep.equal({ returnCode: 4001, returnMessage: 'UNAUTHENTICATED', returnData: '' });
    });
  }

  it('answers 4003 when the scope does not cover the interface', async () => {
    const res = await list(sign({ sub: 'x', scope: 'wechat.* admin.app.get' }));
    expect(res).to.include({ returnCode: 4003, returnMessage: 'FORBIDDEN' });
  });

  it('answers 4003 when the apps claim does not cover the app', async () => {
    const tok = sign({ sub: 'x', scope: 'admin.*', apps: ['mine'] });
    const put = (codeName: string) =>
      node.rpc('admin.app.put', { platform: 'toutiao_app', codeName, config: { appId: 'tt1', secret: 's' } }, tok);
    expect((await put('mine')).returnCode).to.equal(0);
    expect((await put('theirs')).returnCode).to.equal(4003);
    await node.rpc(
      'admin.app.put',
      { platform: 'toutiao_app', codeName: 'other', config: { appId: 'tt2', secret: 's' } },
      node.token(),
    );
    const listed = await list(tok);
    expect(listed.returnData.apps.map((a: { codeName: string }) => a.codeName)).to.deep.equal(['mine']);
  });

  it('public interfaces ignore the Authorization header', async () => {
    const res = await node.post(
      JSON.stringify({ interface: { interfaceName: 'qcloud.cam.auth', para: { id: 'a', skey: 'b' } } }),
      { authorization: 'Bearer garbage' },
    );
    expect(res.body.returnCode).to.equal(60012);
  });
});
