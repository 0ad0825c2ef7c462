import { expect } from 'chai';
import { startNode, type TestNode } from '../helpers/gatehouse';

/** The envelope and routes of §2 (store-independent: SQLite). */
describe('RPC endpoint', () => {
  let node: TestNode;
  before(async () => {
    node = await startNode({ dialect: 'sqlite' });
  });
  after(async () => node?.close());

  const call = (body: unknown, route = '/') =>
    node.post(typeof body === 'string' ? body : JSON.stringify(body), {}, route);

  it('answers on /, /mina_auth and /mina_auth/ with JSON numbers and echoes version/componentName', async () => {
    for (const route of ['/', '/mina_auth', '/mina_auth/']) {
      const res = await fetch(node.url + route, {
        method: 'POST',
        body: JSON.stringify({
          version: 1,
          componentName: 'MA',
          interface: { interfaceName: 'qcloud.cam.auth', para: { id: 'a', skey: 'b' } },
        }),
      });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(await res.text()).to.equal(
        '{"returnCode":60012,"returnMessage":"AUTH_FAIL","returnData":"","version":1,"componentName":"MA"}',
      );
    }
  });

  it('parses the body as JSON whatever the content type (curl -d sends a form type)', async () => {
    const res = await node.post(JSON.stringify({ interface: { interfaceName: 'nope', para: {} } }), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.body).to.deep.equal({ returnCode: 1010, returnMessage: 'UNKNOWN_INTERFACE', returnData: '' });
  });

  const cases: Array<[string, unknown, number]> = [
    ['not JSON', 'nonsense{', 1009],
    ['an empty body', '', 1009],
    ['a JSON array', '[1,2]', 1009],
    ['JSON null', 'null', 1009],
    ['a JSON string', '"x"', 1009],
    ['no interface', { version: 1 }, 1002],
    ['interface not an object', { interface: 'x' }, 1002],
    ['interfaceName not a string', { interface: { interfaceName: 5, para: {} } }, 1002],
    ['an unknown interface', { interface: { interfaceName: 'qcloud.cam.nope', para: {} } }, 1010],
    ['no para', { interface: { interfaceName: 'qcloud.cam.auth' } }, 1011],
    ['para an array', { interface: { interfaceName: 'qcloud.cam.auth', para: [] } }, 1011],
    ['para null', { interface: { interfaceName: 'qcloud.cam.auth', para: null } }, 1011],
    ['a para of the wrong type', { interface: { interfaceName: 'qcloud.cam.auth', para: { id: 1, skey: 'x' } } }, 1003],
    [
      'an extra para property',
      { interface: { interfaceName: 'qcloud.cam.auth', para: { id: 'a', skey: 'b', x: 1 } } },
      1003,
    ],
    ['a backend interface without a caller token', { interface: { interfaceName: 'admin.app.list', para: {} } }, 4001],
  ];
  for (const [what, body, code] of cases) {
    it(`answers ${code} for ${what}`, async () => {
      const res = await call(body);
      expect(res.status).to.equal(200);
      expect(res.body.returnCode).to.equal(code);
      expect(res.body.returnMessage).to.be.a('string');
      if (code !== 1003) expect(res.body.returnData).to.equal('');
    });
  }

  it('describes 1003 errors with path and message', async () => {
    const res = await call({ interface: { interfaceName: 'qcloud.cam.auth', para: { id: 1, x: 2 } } });
    expect(res.body.returnData.errors).to.deep.include.members([
      { path: '/skey', message: 'is required' },
      { path: '/x', message: 'is not allowed' },
      { path: '/id', message: 'must be string' },
    ]);
  });

  it('rejects a body over 64 KiB with 413 and an envelope; 64 KiB of JSON is accepted', async () => {
    const big = JSON.stringify({
      interface: { interfaceName: 'qcloud.cam.auth', para: { id: 'x'.repeat(70_000), skey: 'y' } },
    });
    const res = await call(big);
    expect(res.status).to.equal(413);
    expect(res.body).to.deep.equal({ returnCode: 1009, returnMessage: 'REQUEST_IS_NOT_JSON', returnData: '' });
    const pad =
      64 * 1024 -
      JSON.stringify({ interface: { interfaceName: 'qcloud.cam.auth', para: { id: '', skey: 'y' } } }).length;
    const fits = await call({
      interface: { interfaceName: 'qcloud.cam.auth', para: { id: 'x'.repeat(pad), skey: 'y' } },
    });
    expect(fits.status).to.equal(200);
    expect(fits.body.returnCode).to.equal(1003);
    expect((await call({ interface: { interfaceName: 'nope', para: {} } })).body.returnCode).to.equal(1010);
  });

  it('answers 405 with an envelope for other methods', async () => {
    for (const route of ['/', '/mina_auth', '/mina_auth/']) {
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const res = await fetch(node.url + route, { method });
        expect(res.status, `${method} ${route}`).to.equal(405);
        expect(res.headers.get('allow')).to.equal('POST');
        expect(((await res.json()) as any).returnCode).to.equal(1009);
      }
    }
  });

  it('serves /healthz, /readyz and /openrpc.json', async () => {
    expect(await (await fetch(`${node.url}/healthz`)).json()).to.deep.equal({ status: 'ok' });
    const ready = await fetch(`${node.url}/readyz`);
    expect(ready.status).to.equal(200);
    const doc = (await (await fetch(`${node.url}/openrpc.json`)).json()) as any;
    const names = doc.methods.map((m: { name: string }) => m.name);
    expect(names).to.include.members([
      'qcloud.cam.id_skey',
      'qcloud.cam.auth',
      'qcloud.cam.userinfo',
      'qcloud.cam.decrypt',
      'qcloud.cam.check_signature',
      'qcloud.cam.logout',
      'admin.app.put',
      'admin.app.get',
      'admin.app.list',
      'admin.app.delete',
      'admin.token.list',
      'qcloud.work.initagent',
    ]);
    const auth = doc.methods.find((m: { name: string }) => m.name === 'qcloud.cam.auth');
    expect(auth['x-access']).to.equal('public');
    expect(auth.params[0].schema).to.deep.include({
      type: 'object',
      additionalProperties: false,
      required: ['id', 'skey'],
    });
    expect(auth.result.schema.required).to.deep.equal(['user_info', 'appid', 'platform', 'openid', 'unionid']);
    expect(doc.methods.find((m: { name: string }) => m.name === 'admin.app.put')['x-access']).to.equal('admin');
  });

  it('answers 404 in JSON for unknown routes', async () => {
    const res = await fetch(`${node.url}/no/such/route`);
    expect(res.status).to.equal(404);
    expect(((await res.json()) as any).returnMessage).to.equal('NOT_FOUND');
  });
});

describe('readiness without a store', () => {
  it('/readyz answers 503 and RPC answers 1001 when the database is gone', async () => {
    const node = await startNode({ dialect: 'sqlite' });
    try {
      await node.gh.services.store.close();
      const ready = await fetch(`${node.url}/readyz`);
      expect(ready.status).to.equal(503);
      const res = await node.rpc('qcloud.cam.auth', { id: 'a', skey: 'b' });
      expect(res).to.include({ returnCode: 1001, returnMessage: 'STORE_ERROR', returnData: '' });
      const login = await node.rpc(
        'admin.app.put',
        { platform: 'cos', codeName: 'c', config: { appId: '1', secretId: 'AK', secretKey: 'x' } },
        node.token(),
      );
      expect(login.returnCode).to.equal(1013);
    } finally {
      await node.gh.server.close();
      await node.db.drop();
    }
  });
});
