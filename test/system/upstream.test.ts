import { expect } from 'chai';
import http from 'node:http';
import zlib from 'node:zlib';
import { RpcError } from '../../system/errors';
import { createLogger } from '../../system/log';
import { Metrics } from '../../system/metrics';
import { Upstream, outboundCall, unreachable } from '../../system/upstream';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** a platform that records each request and answers what `answer` says (status, content type, body) */
async function platform(): Promise<{
  url: string;
  seen: Seen[];
  answer: { status: number; type: string; body: string | Buffer } | 'stall';
  close(): Promise<void>;
}> {
  const p = {
    url: '',
    seen: [] as Seen[],
    answer: { status: 200, type: 'application/json', body: '{"errcode":0}' } as
      { status: number; type: string; body: string | Buffer } | 'stall',
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      p.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const a = p.answer;
      if (a === 'stall') return;
      res.statusCode = a.status;
      res.setHeader('content-type', a.type);
      const encoding = new URL(req.url ?? '/', 'http://x').searchParams.get('encoding');
      if (encoding) res.setHeader('content-encoding', encoding);
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const close = p.close;
  p.close = () => {
    server.closeAllConnections();
    return close();
  };
  return p;
}

describe('system/upstream: the one platform HTTP client (json and raw modes, form bodies, metrics)', () => {
  let pf: Awaited<ReturnType<typeof platform>>;
  let metrics: Metrics;
  let up: Upstream;
  before(async () => (pf = await platform()));
  after(async () => pf.close());
  beforeEach(() => {
    pf.seen.length = 0;
    pf.answer = { status: 200, type: 'application/json', body: '{"errcode":0}' };
    metrics = new Metrics();
    up = new Upstream(300, createLogger('silent'), metrics);
  });

  const counted = async (platform: string, api: string) => {
    const m = (await metrics.upstream.get()).values.filter(
      (v) => v.labels.platform === platform && v.labels.api === api,
    );
    return Object.fromEntries(m.map((v) => [String(v.labels.errcode), v.value]));
  };
  const timed = async (platform: string, api: string) =>
    (await metrics.upstreamSeconds.get()).values.find(
      (v) =>
        v.metricName === 'gatehouse_upstream_duration_seconds_count' &&
        v.labels.platform === platform &&
        v.labels.api === api,
    )?.value ?? 0;

  it('json mode: GET without a body, POST with JSON; the query set over the URL; the errcode counted', async () => {
    pf.answer = { status: 200, type: 'application/json', body: '\ufeff{"errcode":40001,"errmsg":"x"}' };
    expect(
      await up.json({
        platform: 'wechat',
        api: 'a',
        url: `${pf.url}/p?x=1&k=old`,
        query: { k: 'new', skip: undefined, n: 2 },
      }),
    ).to.deep.equal({ errcode: 40001, errmsg: 'x' });
    expect(pf.seen[0]).to.include({ method: 'GET', url: '/p?x=1&k=new&n=2', body: '' });
    expect(pf.seen[0].headers['content-type']).to.equal(undefined);
    pf.answer = { status: 200, type: 'application/json', body: '{"err_no":0}' };
    await up.json({ platform: 'wechat', api: 'a', url: `${pf.url}/p`, json: { b: 'é' } });
    expect(pf.seen[1]).to.include({ method: 'POST', body: '{"b":"é"}' });
    expect(pf.seen[1].headers['content-type']).to.equal('application/json');
    expect(await counted('wechat', 'a')).to.deep.equal({ 40001: 1, 0: 1 });
    expect(await timed('wechat', 'a')).to.equal(2);
  });

  it('json mode failures: non-2xx → 1005 (http_<status>), not a JSON object → 1007 (bad_reply)', async () => {
    pf.answer = { status: 502, type: 'text/plain', body: 'bad gateway' };
    const http502 = await up.json({ platform: 'wecom', api: 'b', url: pf.url }).catch((e: unknown) => e);
    expect(http502).to.be.instanceOf(RpcError);
    expect((http502 as RpcError).code).to.equal(1005);
    for (const body of ['[1]', 'null', '<html>', '"s"']) {
      pf.answer = { status: 200, type: 'application/json', body };
      const bad = await up.json({ platform: 'wecom', api: 'b', url: pf.url }).catch((e: unknown) => e);
      expect((bad as RpcError).code).to.equal(1007);
    }
    expect(await counted('wecom', 'b')).to.deep.equal({ http_502: 1, bad_reply: 4 });
  });

  it('form bodies: fields in order, url-encoded; a content-type given replaces the mode’s, other headers pass', async () => {
    pf.answer = { status: 200, type: 'application/json', body: '{"status":200,"data":{}}' };
    await up.json({
      platform: 'shansong',
      api: 'c',
      url: `${pf.url}/f`,
      form: { z: '1', a: 'x y&=', data: '{"k":"北京"}' },
      errcodeField: 'status',
    });
    expect(pf.seen[0].method).to.equal('POST');
    expect(pf.seen[0].body).to.equal('z=1&a=x+y%26%3D&data=%7B%22k%22%3A%22%E5%8C%97%E4%BA%AC%22%7D');
    expect(pf.seen[0].headers['content-type']).to.equal('application/x-www-form-urlencoded');
    await up.raw({
      platform: 'shansong',
      api: 'c',
      url: `${pf.url}/f`,
      form: { a: '1' },
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' },
      errcodeField: 'status',
    });
    expect(pf.seen[1].headers['content-type']).to.equal('application/x-www-form-urlencoded;charset=UTF-8');
    expect(pf.seen[1].headers.accept).to.equal('application/json');
    await up.raw({
      platform: 'fengniao',
      api: 'd',
      url: `${pf.url}/j`,
      json: { a: 1 },
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(pf.seen[2].headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(pf.seen[2].body).to.equal('{"a":1}');
    expect(await counted('shansong', 'c')).to.deep.equal({ 200: 2 });
  });

  it('raw mode: the answer as it came (any status, any body), counted by status / code; query params appended in order', async () => {
    pf.answer = { status: 503, type: 'application/json', body: '{"errcode":-1}' };
    const r503 = await up.raw({
      platform: 'shansong',
      api: 'developer',
      url: `${pf.url}/v5/x?keep=1`,
      query: new URLSearchParams('a=1&a=2&keep=3'),
      form: {},
    });
    expect(r503.res.status).to.equal(503);
    expect(r503.body.toString()).to.equal('{"errcode":-1}');
    expect(pf.seen[0].url).to.equal('/v5/x?keep=1&a=1&a=2&keep=3');
    const bytes = Buffer.from([0, 1, 2, 255]);
    pf.answer = { status: 200, type: 'application/octet-stream', body: bytes };
    const bin = await up.raw({ platform: 'shansong', api: 'developer', url: pf.url, form: {} });
    expect(bin.res.headers.get('content-type')).to.equal('application/octet-stream');
    expect(Buffer.compare(bin.body, bytes)).to.equal(0);
    // the label is the reply's field its platform names (UpstreamRequest.errcodeField), else errcode
    pf.answer = { status: 200, type: 'application/json', body: '{"code":"A0005","msg":"x","status":7}' };
    await up.raw({ platform: 'shansong', api: 'developer', url: pf.url, json: {}, errcodeField: 'code' });
    pf.answer = { status: 200, type: 'application/json', body: '{"status":401,"errcode":9}' };
    await up.raw({ platform: 'shansong', api: 'developer', url: pf.url, json: {}, errcodeField: 'status' });
    expect(await counted('shansong', 'developer')).to.deep.equal({ http_503: 1, not_json: 1, A0005: 1, 401: 1 });
    expect(await timed('shansong', 'developer')).to.equal(4);
  });

  it('no answer: a timeout or a refused connection → 1005 in both modes, counted as timeout / unreachable', async () => {
    pf.answer = 'stall';
    for (const mode of ['json', 'raw'] as const) {
      const err = await up[mode]({ platform: 'fengniao', api: 'e', url: pf.url, json: {} }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(RpcError);
      expect((err as RpcError).code).to.equal(1005);
      expect((err as RpcError).detail).to.match(/ETIMEDOUT/);
    }
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await up
      .raw({ platform: 'fengniao', api: 'e', url: `http://127.0.0.1:${port}/`, json: {} })
      .catch((e: unknown) => e);
    expect((refused as RpcError).code).to.equal(1005);
    expect(await counted('fengniao', 'e')).to.deep.equal({ timeout: 2, unreachable: 1 });
  });

  it('the deadline covers the body: an answer whose body stalls after its head is a timeout (ETIMEDOUT, counted)', async () => {
    const slow = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"errcode":'); // and nothing more
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(slow.address() as { port: number }).port}/`;
    try {
      const started = Date.now();
      const err = await up.json({ platform: 'wechat', api: 'slow', url }).catch((e: unknown) => e);
      expect((err as RpcError).code).to.equal(1005);
      expect((err as RpcError).detail).to.equal(`wechat slow: ${new URL(url).host} timed out after 300 ms (ETIMEDOUT)`);
      expect(Date.now() - started).to.be.below(2000);
      expect(await counted('wechat', 'slow')).to.deep.equal({ timeout: 1 });
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  });

  it('a compressed answer (gzip, deflate, br: sent unasked) is decoded; nothing asks for compression; a text body with no type goes as text/plain', async () => {
    const json = '{"errcode":0,"access_token":"AT_compressed"}';
    for (const [encoding, encode] of [
      ['gzip', zlib.gzipSync],
      ['deflate', zlib.deflateSync],
      ['br', zlib.brotliCompressSync],
    ] as const) {
      pf.answer = { status: 200, type: 'application/json', body: encode(Buffer.from(json)) };
      const raw = await up.raw({
        platform: 'wechat',
        api: 'z',
        url: `${pf.url}/z?encoding=${encoding}`,
        method: 'POST',
        headers: {},
      });
      expect(raw.json, encoding).to.deep.equal({ errcode: 0, access_token: 'AT_compressed' });
      expect(raw.body.toString(), encoding).to.equal(json);
    }
    expect(pf.seen.map((x) => x.headers['accept-encoding'])).to.deep.equal([undefined, undefined, undefined]);
    pf.answer = { status: 200, type: 'text/plain', body: 'ok' };
    const { res, body } = await outboundCall(pf.url, { method: 'POST', body: 'a=1', timeoutMs: 1000 });
    expect([res.status, res.ok, res.headers.get('content-type'), body.toString()]).to.deep.equal([
      200,
      true,
      'text/plain',
      'ok',
    ]);
    expect(pf.seen.at(-1)!.headers['content-type']).to.equal('text/plain;charset=UTF-8');
    expect(pf.seen.at(-1)!.body).to.equal('a=1');
  });

  it('an answer past its limit — announced, streamed without a length, or a decompression bomb — is E2BIG, not read on', async () => {
    const big = http.createServer((req, res) => {
      req.resume();
      const how = new URL(req.url ?? '/', 'http://x').pathname;
      if (how === '/announced') {
        res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
        res.write(Buffer.alloc(1024)); // and never the rest
      } else if (how === '/endless') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked
        const chunk = Buffer.alloc(64 * 1024, 1);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20)));
      }
    });
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(big.address() as { port: number }).port}`;
    try {
      for (const path of ['/announced', '/endless', '/bomb']) {
        const started = Date.now();
        const err = await outboundCall(`${base}${path}`, { timeoutMs: 5000, answerLimit: 1024 * 1024 }).catch(
          (e: unknown) => e,
        );
        expect(unreachable(err, 5000), path).to.deep.equal({
          errno: 'E2BIG',
          why: `answered more than ${1024 * 1024} bytes (E2BIG)`,
        });
        expect(Date.now() - started, path).to.be.below(3000);
      }
      // within the limit, the same answers are read (the bomb decodes to 8 MB)
      const { body } = await outboundCall(`${base}/bomb`, { timeoutMs: 5000, answerLimit: 16 * 1024 * 1024 });
      expect(body.length).to.equal(8 * 1024 * 1024);
    } finally {
      big.closeAllConnections();
      await new Promise<void>((r) => big.close(() => r()));
    }
  });

  it('without metrics it still works (tests, tools)', async () => {
    const bare = new Upstream(300, createLogger('silent'));
    expect(await bare.json({ platform: 'wechat', api: 'a', url: pf.url })).to.deep.equal({ errcode: 0 });
    expect((await bare.raw({ platform: 'wechat', api: 'a', url: pf.url })).res.status).to.equal(200);
  });
});
