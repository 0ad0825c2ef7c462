import { expect } from 'chai';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createLogger } from '../../system/log';
import { RpcError } from '../../system/errors';
import { Upstream, outboundCall } from '../../system/upstream';
import { FakePlatform } from '../fake/platform';
import { installShansong } from '../fake/shansong';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { thief } from '../helpers/net';
import shansong from '../../application/platforms/shansong';

/** answers every request with `status` and a Location on `to` (keeping the path and query) */
async function redirector(to: string, status = 307): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.statusCode = status;
    res.setHeader('location', `${to}${req.url ?? '/'}`);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('security: no outbound call follows a redirect', () => {
  let sink: Awaited<ReturnType<typeof thief>>;
  let hop: Awaited<ReturnType<typeof redirector>>;
  before(async () => {
    sink = await thief();
    hop = await redirector(sink.url);
  });
  after(async () => {
    await hop.close();
    await sink.close();
  });
  beforeEach(() => (sink.got.length = 0));

  it('outboundCall answers the 3xx as it came and sends nothing to the Location', async () => {
    for (const method of ['GET', 'POST']) {
      const { res } = await outboundCall(`${hop.url}/cgi-bin/x?access_token=SECRET`, {
        method,
        body: method === 'POST' ? 'sign=abc' : undefined,
        timeoutMs: 2000,
      });
      expect(res.status).to.equal(307);
      expect(res.headers.get('location')).to.equal(`${sink.url}/cgi-bin/x?access_token=SECRET`);
    }
    expect(sink.got).to.deep.equal([]);
  });

  it('a platform API call answered with a redirect is a 1005, and the Location is never called', async () => {
    const up = new Upstream(2000, createLogger('silent'));
    for (const status of [301, 302, 303, 307, 308]) {
      const h = await redirector(sink.url, status);
      const err = await up
        .json({ platform: 'wechat', api: 'stable_token', url: `${h.url}/cgi-bin/stable_token`, json: { secret: 'S' } })
        .catch((e: unknown) => e);
      await h.close();
      expect(err).to.be.instanceOf(RpcError);
      expect((err as RpcError).code).to.equal(1005);
      expect((err as RpcError).detail).to.equal(`wechat stable_token: HTTP ${status}`);
    }
    expect(sink.got).to.deep.equal([]);
  });

  // a call of the global fetch (not a method named fetch, nor its declaration)
  const CALLS_FETCH = /(?:await|return|=|\(|,|globalThis\.)\s*fetch\s*\(/;

  it('only system/upstream.ts calls fetch (one client setting for every outbound call; the browser console aside)', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        // the console's browser side (application/console/) fetches its own origin from the browser
        if (e.isDirectory()) {
          if (p !== path.join('application', 'console')) walk(p);
        } else if (p.endsWith('.ts') && p !== path.join('system', 'upstream.ts')) {
          const code = fs.readFileSync(p, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
          if (CALLS_FETCH.test(code)) offenders.push(p);
        }
      }
    };
    const root = path.join(__dirname, '..', '..');
    const cwd = process.cwd();
    process.chdir(root);
    try {
      walk('application');
      walk('system');
      walk('db');
      if (CALLS_FETCH.test(fs.readFileSync('index.ts', 'utf8'))) offenders.push('index.ts');
    } finally {
      process.chdir(cwd);
    }
    expect(offenders).to.deep.equal([]);
  });

  it('platform calls go through Upstream (metrics, timeout): outboundCall is used only by it and by push forwarding; undici only by it and the token proxies', () => {
    const importers: string[] = [];
    const users: string[] = [];
    const root = path.join(__dirname, '..', '..');
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        // the console's browser side (application/console/) fetches its own origin from the browser
        if (e.isDirectory()) {
          if (p !== path.join('application', 'console')) walk(p);
        } else if (
          p.endsWith('.ts') &&
          /\boutboundCall\s*\(/.test(
            fs.readFileSync(path.join(root, p), 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''),
          )
        )
          users.push(p.split(path.sep).join('/'));
        if (p.endsWith('.ts') && /from 'undici'/.test(fs.readFileSync(path.join(root, p), 'utf8')))
          importers.push(p.split(path.sep).join('/'));
      }
    };
    for (const dir of ['application', 'system', 'db']) walk(dir);
    // pushes.ts forwards pushes to the callbackUrl an administrator configured: not a platform
    expect(users.sort()).to.deep.equal(['application/services/pushes.ts', 'system/upstream.ts']);
    // the token proxies stream through their own undici pools (application/services/proxy.ts)
    expect(importers.sort()).to.deep.equal(['application/services/proxy.ts', 'system/upstream.ts']);
  });
});

forEachDialect('security: the Shansong proxy does not follow a redirect', (dialect) => {
  const CLIENT = 'ss0000000009';
  const MERCHANT = 'm-redirect-1';
  let fake: FakePlatform;
  let node: TestNode;
  let sink: Awaited<ReturnType<typeof thief>>;

  before(async () => {
    sink = await thief();
    fake = await new FakePlatform().start();
    const ss = installShansong(fake);
    ss.client(CLIENT, 'shansong-secret-9');
    node = await startNode({ dialect, fake, env: { GATEHOUSE_SHANSONG_API: fake.url } });
    const tok = node.token('admin.*');
    expect(
      (
        await node.rpc(
          'admin.app.put',
          { platform: 'shansong_app', codeName: 'ss', config: { appId: CLIENT, secret: 'shansong-secret-9' } },
          tok,
        )
      ).returnCode,
    ).to.equal(0);
    const app = await node.gh.services.apps.require('shansong_app', 'ss');
    await node.gh.services.parts(shansong).authorize(app, MERCHANT, ss.code(CLIENT, MERCHANT));
    // from now on the platform answers its developer API with a redirect to another host
    fake.route('/openapi/developer/v5/orderCalculate', (u, _body, res) => {
      res.statusCode = 307;
      res.setHeader('location', `${sink.url}${u.pathname}${u.search}`);
      res.end();
    });
  });
  after(async () => {
    await node?.close();
    await fake?.stop();
    await sink?.close();
  });

  it('relays the 307 to the caller and sends the access token and signature nowhere else', async () => {
    const res = await fetch(`${node.url}/proxy/shansong/ss/${MERCHANT}/orderCalculate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.token('proxy.shansong_app')}`, 'content-type': 'application/json' },
      body: '{"cityName":"北京市"}',
      redirect: 'manual',
    });
    expect(res.status).to.equal(307);
    expect(res.headers.get('location')).to.match(new RegExp(`^${sink.url}/openapi/developer/v5/orderCalculate`));
    expect(sink.got).to.deep.equal([]);
  });
});
