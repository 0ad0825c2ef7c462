import { expect } from 'chai';
import { execFile, spawnSync } from 'node:child_process';
import type net from 'node:net';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { nodeWithWechatApp, startNode, type TestNode } from '../helpers/gatehouse';
import { freeTcpPort } from '../helpers/private-mariadb';
import { GatehouseClient, GatehouseError, TOKEN_INTERFACES } from '../../system/client';
import { GENERATED_FILE, renderClientInterfaces, type OpenRpcMethod } from './client-types';

const ROOT = path.resolve(__dirname, '../..');
const WX = 'wx7777777777777777';
const SECRET = 'typed-client-secret';

/** a fetch that records what the client sent and when */
function recordingFetch(after?: (n: number) => void) {
  const sent: { at: number; body: any; headers: Record<string, string> }[] = [];
  const f = (async (url: string, init: RequestInit) => {
    sent.push({ at: Date.now(), body: JSON.parse(String(init.body)), headers: init.headers as Record<string, string> });
    try {
      return await fetch(url, init);
    } finally {
      after?.(sent.length);
    }
  }) as typeof fetch;
  return { fetch: f, sent };
}

/** the platform API a backend would call with the token: the fake's ticket endpoint (40001 for a dead token) */
async function getticket(fake: FakePlatform, token: string): Promise<{ errcode: number; ticket?: string }> {
  return (await (
    await fetch(`${fake.url}/cgi-bin/ticket/getticket?access_token=${encodeURIComponent(token)}&type=jsapi`)
  ).json()) as { errcode: number; ticket?: string };
}

forEachDialect('TypeScript client (gatehouse/client)', (dialect) => {
  let fake: FakePlatform;
  let node: TestNode;
  let caller: string;
  const client = (opts: Partial<ConstructorParameters<typeof GatehouseClient>[0]> = {}) =>
    new GatehouseClient({ url: `${node.url}/`, token: caller, backoffMs: 50, ...opts });

  before(async () => {
    fake = await new FakePlatform().start();
    fake.app(WX, SECRET);
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    fake.mode('stable_token', null);
    node = await startNode({ dialect, fake });
    caller = node.token('wechat.* qcloud.mimi.*');
    const put = await node.rpc(
      'admin.app.put',
      { platform: 'wechat_app', codeName: 'shop', config: { appId: WX, secret: SECRET } },
      node.token('admin.*'),
    );
    expect(put.returnCode).to.equal(0);
    fake.reset();
  });
  afterEach(async () => node?.close());

  it('call(): posts the envelope with the caller JWT and returns the typed returnData', async () => {
    const rec = recordingFetch();
    const r = await client({ fetch: rec.fetch }).call(
      'wechat.app.token',
      { codeName: 'shop' },
      { requestId: 'req-client-1' },
    );
    expect(Object.keys(r).sort()).to.deep.equal(['appId', 'expiresAt', 'token']);
    expect(r.appId).to.equal(WX);
    expect(fake.isLive(r.token)).to.equal(true);
    expect(r.expiresAt).to.be.within(Math.floor(Date.now() / 1000) + 7000, Math.floor(Date.now() / 1000) + 7201);
    expect(rec.sent).to.have.length(1);
    expect(rec.sent[0].body).to.deep.equal({
      version: 1,
      componentName: 'MA',
      interface: { interfaceName: 'wechat.app.token', para: { codeName: 'shop' } },
    });
    expect(rec.sent[0].headers).to.include({ authorization: `Bearer ${caller}`, 'x-request-id': 'req-client-1' });
    expect(fake.count('stable_token', WX)).to.equal(1);
    expect(await client().token('wechat.app.token', { codeName: 'shop' })).to.equal(r.token);
    expect(await client().token('qcloud.mimi.access_token', { appid: WX })).to.equal(r.token);
  });

  it('a refusal is a GatehouseError with the envelope, not retried, naming neither the para nor the token', async () => {
    const rec = recordingFetch();
    const narrow = node.token('qcloud.cam.*');
    const err = await client({ token: narrow, fetch: rec.fetch })
      .call('wechat.app.token', { codeName: 'shop' })
      .catch((e) => e);
    expect(err).to.be.instanceOf(GatehouseError);
    expect(err).to.include({
      returnCode: 4003,
      returnMessage: 'FORBIDDEN',
      returnData: '',
      interfaceName: 'wechat.app.token',
      attempts: 1,
    });
    expect(err.message).to.equal('gatehouse wechat.app.token: 4003 FORBIDDEN');
    expect(rec.sent).to.have.length(1);

    const bad = await client()
      .call('wechat.app.token', { codeName: 'no such/app' })
      .catch((e) => e);
    expect(bad).to.include({ returnCode: 1003, returnMessage: 'PARA_ERROR' });
    expect(bad.returnData.errors[0].path).to.equal('/codeName');
    expect(bad.message).to.match(/^gatehouse wechat\.app\.token: 1003 PARA_ERROR \(\/codeName /);
    expect(bad.message).to.not.include(caller);
    expect(fake.count('stable_token')).to.equal(0);
  });

  it('1005 is retried with a growing backoff, and the call succeeds once the platform answers', async () => {
    fake.mode('stable_token', { http: 503 });
    // the platform comes back after the client's second attempt
    const rec = recordingFetch((n) => n === 2 && fake.mode('stable_token', null));
    const r = await client({ fetch: rec.fetch, backoffMs: 200 }).call('wechat.app.token', { codeName: 'shop' });
    expect(fake.isLive(r.token)).to.equal(true);
    expect(rec.sent).to.have.length(3);
    // waits between half and all of 200 ms, then of 400 ms (after each answer came back)
    const gaps = [rec.sent[1].at - rec.sent[0].at, rec.sent[2].at - rec.sent[1].at];
    expect(gaps[0]).to.be.at.least(100);
    expect(gaps[1]).to.be.at.least(200);
  });

  it('gives up after `retries` further attempts with the 1005 itself', async () => {
    fake.mode('stable_token', { http: 503 });
    const rec = recordingFetch();
    const err = await client({ fetch: rec.fetch, retries: 2, backoffMs: 10 })
      .call('wechat.app.token', { codeName: 'shop' })
      .catch((e) => e);
    expect(err).to.be.instanceOf(GatehouseError);
    expect(err).to.include({ returnCode: 1005, returnMessage: 'UPSTREAM_UNREACHABLE', attempts: 3 });
    expect(rec.sent).to.have.length(3);
  });

  it('an unreachable gatehouse is retried too, then reported without an envelope (returnCode null)', async () => {
    const closed = `http://127.0.0.1:${await freeTcpPort()}/`;
    const rec = recordingFetch();
    const err = await new GatehouseClient({ url: closed, token: caller, retries: 2, backoffMs: 10, fetch: rec.fetch })
      .call('wechat.app.token', { codeName: 'shop' })
      .catch((e) => e);
    expect(err).to.be.instanceOf(GatehouseError);
    expect(err.returnCode).to.equal(null);
    expect(err.message).to.equal('gatehouse wechat.app.token: unreachable cannot reach gatehouse (ECONNREFUSED)');
    expect(rec.sent).to.have.length(3);
    // a gateway answering 502 (gatehouse restarting behind it) is retried; gatehouse's own 404 is not
    const gateway = http.createServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    try {
      const port = (gateway.address() as net.AddressInfo).port;
      const rec502 = recordingFetch();
      const e502 = await client({ url: `http://127.0.0.1:${port}/`, retries: 1, backoffMs: 10, fetch: rec502.fetch })
        .call('wechat.app.token', { codeName: 'shop' })
        .catch((e) => e);
      expect(e502).to.include({ returnCode: null, attempts: 2 });
      expect(e502.message).to.equal('gatehouse wechat.app.token: unreachable HTTP 502 without an envelope');
      expect(rec502.sent).to.have.length(2);
    } finally {
      await new Promise((r) => gateway.close(r));
    }
    const wrong = await client({ url: `${node.url}/nope`, retries: 3 })
      .call('wechat.app.token', { codeName: 'shop' })
      .catch((e) => e);
    expect(wrong).to.include({ returnCode: 404, returnMessage: 'NOT_FOUND', attempts: 1 });
  });

  it('withToken(): on 40001 from the platform, asks again with invalidToken and runs fn once more with the new token', async () => {
    const gh = client();
    const old = await gh.token('wechat.app.token', { codeName: 'shop' });
    fake.expireAll(); // the platform no longer accepts it (another system refreshed it, say)
    const rec = recordingFetch();
    const seen: string[] = [];
    const answer = await client({ fetch: rec.fetch }).withToken(
      'wechat.app.token',
      { codeName: 'shop' },
      async (token) => {
        seen.push(token);
        return getticket(fake, token);
      },
    );
    expect(answer.errcode).to.equal(0);
    expect(fake.isLive(answer.ticket!)).to.equal(true);
    expect(seen).to.have.length(2);
    expect(seen[0]).to.equal(old);
    expect(seen[1]).to.not.equal(old);
    expect(fake.isLive(seen[1])).to.equal(true);
    expect(rec.sent.map((s) => s.body.interface.para)).to.deep.equal([
      { codeName: 'shop' },
      { codeName: 'shop', invalidToken: old },
    ]);
    expect(fake.count('stable_token', WX)).to.equal(2);
    const [row] = await node.db.query('SELECT value FROM tokens WHERE kind = ?', ['access_token']);
    expect(row.value).to.equal(seen[1]);
  });

  it('withToken(): the qcloud.* spelling invalid_token, and an error thrown with errcode 40001 counts too', async () => {
    const old = await client().token('qcloud.mimi.access_token', { appid: WX });
    fake.expireAll();
    const rec = recordingFetch();
    const result = await client({ fetch: rec.fetch }).withToken(
      'qcloud.mimi.access_token',
      { appid: WX },
      async (token, data) => {
        expect(data.access_token).to.equal(token);
        const r = await getticket(fake, token);
        if (r.errcode) throw Object.assign(new Error(`platform errcode ${r.errcode}`), { errcode: r.errcode });
        return r.ticket;
      },
    );
    expect(fake.isLive(result!)).to.equal(true);
    expect(rec.sent.map((s) => s.body.interface.para)).to.deep.equal([
      { appid: WX },
      { appid: WX, invalid_token: old },
    ]);
  });

  it('withToken(): no loop — a second 40001 is returned as it came; within the 30 s budget fn is not repeated with the same token', async () => {
    await client().token('wechat.app.token', { codeName: 'shop' });
    fake.expireAll();
    let runs = 0;
    // the platform refuses every token: fn runs twice (old, then the refreshed one), no more
    const twice = await client().withToken('wechat.app.token', { codeName: 'shop' }, (token) => {
      runs += 1;
      return { errcode: 40001, errmsg: 'invalid credential', token };
    });
    expect(runs).to.equal(2);
    expect(twice.errcode).to.equal(40001);
    expect(fake.count('stable_token', WX)).to.equal(2);
    // reported invalid again at once: gatehouse keeps the token (one refresh per 30 s), so fn is not re-run with it
    runs = 0;
    const rec = recordingFetch();
    const once = await client({ fetch: rec.fetch }).withToken('wechat.app.token', { codeName: 'shop' }, (token) => {
      runs += 1;
      return { errcode: 40001, errmsg: 'invalid credential', token };
    });
    expect(runs).to.equal(1);
    expect(once.token).to.equal(twice.token);
    expect(rec.sent).to.have.length(2);
    expect(fake.count('stable_token', WX)).to.equal(2);
  });

  it('withToken(): an answer that is not about the token is returned after one run, and fn errors pass through', async () => {
    let runs = 0;
    const ok = await client().withToken('wechat.app.token', { codeName: 'shop' }, () => {
      runs += 1;
      return { errcode: 45009, errmsg: 'api freq out of limit' };
    });
    expect(ok.errcode).to.equal(45009);
    expect(runs).to.equal(1);
    const boom = await client()
      .withToken('wechat.app.token', { codeName: 'shop' }, () => {
        throw new Error('boom');
      })
      .catch((e) => e);
    expect(boom.message).to.equal('boom');
    expect(fake.count('stable_token', WX)).to.equal(1);
  });
});

describe('gatehouse/client: generated types and the package entry', () => {
  let world: Awaited<ReturnType<typeof nodeWithWechatApp>>;
  let node: TestNode;
  let fake: FakePlatform;
  before(async () => {
    world = await nodeWithWechatApp(WX, SECRET);
    ({ node, fake } = world);
  });
  after(async () => world?.close());

  it(`${GENERATED_FILE} is what the registry's schemas render (UPDATE_CLIENT_TYPES=1 rewrites it)`, async () => {
    const doc = (await (await fetch(`${node.url}/openrpc.json`)).json()) as { methods: OpenRpcMethod[] };
    const rendered = renderClientInterfaces(doc.methods);
    const file = path.join(ROOT, GENERATED_FILE);
    if (process.env.UPDATE_CLIENT_TYPES === '1') fs.writeFileSync(file, rendered);
    expect(fs.readFileSync(file, 'utf8')).to.equal(
      rendered,
      `${GENERATED_FILE} is out of date: UPDATE_CLIENT_TYPES=1 npx mocha test/clients/client.test.ts`,
    );
    // every token interface of the registry is known to withToken
    const tokenish = doc.methods.filter(
      (m) => m.params[0].schema.properties?.invalidToken || m.params[0].schema.properties?.invalid_token,
    );
    expect(Object.keys(TOKEN_INTERFACES).sort()).to.deep.equal(tokenish.map((m) => m.name).sort());
  });

  it('"exports": gatehouse/client is the built client with its types; "." stays the CLI; "files" ships dist', async function () {
    this.timeout(120_000);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.exports['.']).to.equal('./dist/index.js');
    expect(pkg.bin.gatehouse).to.equal('dist/index.js');
    expect(pkg.exports['./client']).to.deep.equal({
      types: './dist/system/client.d.ts',
      default: './dist/system/client.js',
    });
    expect(pkg.files).to.include('dist/');
    const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8'));
    expect(tsconfig.compilerOptions).to.include({ declaration: true, outDir: 'dist', rootDir: '.' });

    // an installed copy: the client compiled as `npm run build` compiles it, under node_modules/gatehouse
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-client-pkg-'));
    try {
      const installed = path.join(tmp, 'node_modules', 'gatehouse');
      fs.mkdirSync(installed, { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(installed, 'package.json'));
      const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const build = spawnSync(
        process.execPath,
        [
          tsc,
          '--declaration',
          '--strict',
          '--target',
          'ES2022',
          '--module',
          'commonjs',
          '--moduleResolution',
          'node',
          '--skipLibCheck',
          '--types',
          'node',
          '--typeRoots',
          path.join(ROOT, 'node_modules', '@types'),
          '--rootDir',
          ROOT,
          '--outDir',
          path.join(installed, 'dist'),
          path.join(ROOT, 'system', 'client.ts'),
        ],
        { encoding: 'utf8' },
      );
      expect(build.status, build.stdout + build.stderr).to.equal(0);
      expect(fs.readdirSync(path.join(installed, 'dist', 'system')).sort()).to.deep.equal([
        'client-interfaces.d.ts',
        'client-interfaces.js',
        'client.d.ts',
        'client.js',
      ]);

      // a TypeScript consumer (node16 resolution reads "exports"): right para compiles, wrong para does not;
      fs.writeFileSync(
        path.join(tmp, 'consumer.ts'),
        [
          "import { GatehouseClient, GatehouseError, type Result } from 'gatehouse/client';",
          "const gh = new GatehouseClient({ url: 'http://127.0.0.1:4236/', token: 'jwt' });",
          'export async function main(): Promise<number> {',
          "  const r: Result<'wechat.app.token'> = await gh.call('wechat.app.token', { codeName: 'shop' });",
          "  const ticket = await gh.withToken('wechat.app.ticket', { codeName: 'shop', type: 'jsapi' }, (t: string) => t.length);",
          '  // @ts-expect-error codeName is required',
          "  await gh.call('wechat.app.token', {});",
          '  // @ts-expect-error not a para of wechat.app.token',
          "  await gh.call('wechat.app.token', { codeName: 'shop', bogus: 1 });",
          '  // @ts-expect-error no such interface',
          "  await gh.call('wechat.app.nope', {});",
          '  // @ts-expect-error a session interface has no token to refresh',
          "  await gh.withToken('qcloud.cam.auth', { id: 'a', skey: 'b' }, () => 0);",
          '  // @ts-expect-error expiresAt is a number',
          '  const s: string = r.expiresAt;',
          '  return ticket + s.length + (new GatehouseError("x", 1, "y", "", 1).returnCode ?? 0);',
          '}',
        ].join('\n'),
      );
      // and the TypeScript of docs/INTEGRATION.md, its blocks in order as one ES module
      const guide = fs.readFileSync(path.join(ROOT, 'docs', 'INTEGRATION.md'), 'utf8');
      const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
      expect(blocks.length).to.be.at.least(3);
      fs.writeFileSync(
        path.join(tmp, 'guide.mts'),
        `${blocks.join('\n')}\nexport { user, relay, menu, jsapi, token, expiresAt };\n`,
      );
      fs.writeFileSync(
        path.join(tmp, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module: 'node16',
            moduleResolution: 'node16',
            target: 'ES2022',
            types: ['node'],
            typeRoots: [path.join(ROOT, 'node_modules', '@types')],
          },
          files: ['consumer.ts', 'guide.mts'],
        }),
      );
      const check = spawnSync(process.execPath, [tsc, '-p', path.join(tmp, 'tsconfig.json')], { encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).to.equal(0);

      // plain Node, CommonJS and ESM, against the live gatehouse
      // (asynchronously: the gatehouse answering them runs in this process)
      const run = async (file: string, src: string) => {
        fs.writeFileSync(path.join(tmp, file), src);
        const env = { ...process.env, GH_URL: `${node.url}/`, GH_TOKEN: node.token('wechat.app.token') };
        const r = await promisify(execFile)(process.execPath, [path.join(tmp, file)], {
          cwd: tmp,
          encoding: 'utf8',
          env,
          timeout: 20_000,
        });
        return r.stdout.trim();
      };
      const body =
        'const gh = new GatehouseClient({ url: process.env.GH_URL, token: process.env.GH_TOKEN });\n' +
        "gh.token('wechat.app.token', { codeName: 'shop' }).then((t) => console.log(t));\n";
      const cjs = await run('cjs.js', `const { GatehouseClient } = require('gatehouse/client');\n${body}`);
      const esm = await run('esm.mjs', `import { GatehouseClient } from 'gatehouse/client';\n${body}`);
      expect(fake.isLive(cjs)).to.equal(true);
      expect(esm).to.equal(cjs);
      // "." still leads to the CLI's entry (a stand-in here: only the client was compiled)
      fs.writeFileSync(path.join(installed, 'dist', 'index.js'), '');
      const resolved = await run(
        'resolve.js',
        "console.log(require.resolve('gatehouse') + ' ' + require.resolve('gatehouse/package.json'))",
      );
      expect(resolved).to.equal(
        `${fs.realpathSync(installed)}/dist/index.js ${fs.realpathSync(installed)}/package.json`,
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
