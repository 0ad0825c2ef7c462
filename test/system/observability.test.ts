import { expect } from 'chai';
import fs from 'node:fs';
import { FakePlatform } from '../fake/platform';
import { startNode, type TestNode } from '../helpers/gatehouse';

describe('public rate limit', () => {
  let node: TestNode;
  afterEach(async () => node?.close());

  const auth = (headers: Record<string, string> = {}) =>
    node
      .post(JSON.stringify({ interface: { interfaceName: 'qcloud.cam.auth', para: { id: 'a', skey: 'b' } } }), headers)
      .then((r) => r.body);

  it('answers 4029 with retryAfter past GATEHOUSE_PUBLIC_RATE_LIMIT calls a second per IP; backend calls are not limited', async () => {
    node = await startNode({ dialect: 'sqlite', env: { GATEHOUSE_PUBLIC_RATE_LIMIT: '5' } });
    // start at the beginning of a second so the burst stays in one window
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const answers = await Promise.all(Array.from({ length: 8 }, () => auth()));
    const limited = answers.filter((a) => a.returnCode === 4029);
    expect(answers.filter((a) => a.returnCode === 60012)).to.have.length(5);
    expect(limited).to.have.length(3);
    expect(limited[0]).to.deep.equal({
      returnCode: 4029,
      returnMessage: 'RATE_LIMITED',
      returnData: { retryAfter: 1 },
    });
    const admin = await Promise.all(Array.from({ length: 8 }, () => node.rpc('admin.app.list', {}, node.token())));
    expect(admin.every((a) => a.returnCode === 0)).to.equal(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await auth()).returnCode).to.equal(60012);
  });

  it('honours X-Forwarded-For only with GATEHOUSE_TRUST_PROXY', async () => {
    node = await startNode({
      dialect: 'sqlite',
      env: { GATEHOUSE_PUBLIC_RATE_LIMIT: '2', GATEHOUSE_TRUST_PROXY: 'true' },
    });
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const a = await Promise.all(
      ['1.1.1.1', '1.1.1.1', '2.2.2.2', '2.2.2.2', '1.1.1.1'].map((ip) => auth({ 'x-forwarded-for': ip })),
    );
    expect(a.map((x) => x.returnCode)).to.deep.equal([60012, 60012, 60012, 60012, 4029]);
    await node.close();
    node = await startNode({ dialect: 'sqlite', env: { GATEHOUSE_PUBLIC_RATE_LIMIT: '2' } });
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const b = await Promise.all(['1.1.1.1', '2.2.2.2', '3.3.3.3'].map((ip) => auth({ 'x-forwarded-for': ip })));
    expect(b.map((x) => x.returnCode)).to.deep.equal([60012, 60012, 4029]);
  });

  it('with GATEHOUSE_TRUST_PROXY, the client is the address the proxy appended: forged entries before it change nothing', async () => {
    // a proxy appends the address it saw ($proxy_add_x_forwarded_for); whatever the client sent stays on the left
    node = await startNode({
      dialect: 'sqlite',
      env: { GATEHOUSE_PUBLIC_RATE_LIMIT: '2', GATEHOUSE_TRUST_PROXY: 'true' },
    });
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 5));
    const forged = await Promise.all(
      ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((f) => auth({ 'x-forwarded-for': `${f}, 203.0.113.9` })),
    );
    expect(forged.map((x) => x.returnCode)).to.deep.equal([60012, 60012, 4029]);
  });
});

describe('/metrics', () => {
  let node: TestNode;
  afterEach(async () => node?.close());

  it('counts RPC calls by interface and returnCode, with latency', async () => {
    node = await startNode({ dialect: 'sqlite' });
    await node.rpc('qcloud.cam.auth', { id: 'a', skey: 'b' });
    await node.post('{"interface":{"interfaceName":"no.such","para":{}}}');
    const text = await (await fetch(`${node.url}/metrics`)).text();
    expect(text).to.include('gatehouse_rpc_requests_total{interface="qcloud.cam.auth",code="60012"} 1');
    expect(text).to.include('gatehouse_rpc_requests_total{interface="unknown",code="1010"} 1');
    expect(text).to.match(/gatehouse_rpc_duration_seconds_count\{interface="qcloud.cam.auth"\} 1/);
    expect(text).to.include('gatehouse_process_resident_memory_bytes');
  });

  it("shows each token's time to expiry and age, never its value", async () => {
    const fake = await new FakePlatform().start();
    fake.app('wxmetrics', 's');
    try {
      node = await startNode({ dialect: 'sqlite', fake });
      await node.rpc(
        'admin.app.put',
        { platform: 'wechat_app', codeName: 'mp', config: { appId: 'wxmetrics', secret: 's' } },
        node.token(),
      );
      const t = (await node.rpc('wechat.app.token', { codeName: 'mp' }, node.token())).returnData.token;
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const LABELS = 'platform="wechat_app",code_name="mp",subject="wxmetrics",kind="access_token"';
      expect(text).to.match(new RegExp(`gatehouse_token_expires_in_seconds\\{${LABELS}\\} 7\\d\\d\\d`));
      expect(text).to.match(new RegExp(`gatehouse_token_age_seconds\\{${LABELS}\\} \\d`));
      expect(text).to.include(
        'gatehouse_token_refreshes_total{platform="wechat_app",kind="access_token",reason="cold",result="ok"} 1',
      );
      expect(text).to.not.include(t);
    } finally {
      await fake.stop();
    }
  });

  it('needs the bearer token when GATEHOUSE_METRICS_TOKEN is set', async () => {
    node = await startNode({ dialect: 'sqlite', env: { GATEHOUSE_METRICS_TOKEN: 'scrape-me' } });
    expect((await fetch(`${node.url}/metrics`)).status).to.equal(401);
    expect((await fetch(`${node.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).to.equal(401);
    const ok = await fetch(`${node.url}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('content-type')).to.match(/^text\/plain/);
  });
});

describe('access log', () => {
  it('one JSON line per RPC and per callback with request id, name / route, code, caller and duration', async () => {
    const node = await startNode({ dialect: 'sqlite' });
    try {
      await node.post(JSON.stringify({ interface: { interfaceName: 'admin.app.list', para: {} } }), {
        authorization: `Bearer ${node.token('admin.*')}`,
        'x-request-id': 'req-abc-123',
      });
      await node.post('{"interface":{"interfaceName":"no.such","para":{}}}');
      await fetch(`${node.url}/wechat-tp/nope/events?timestamp=1&nonce=2&msg_signature=3`, {
        method: 'POST',
        body: '<xml/>',
        headers: { 'x-request-id': 'req-push-1' },
      });
      const lines = fs
        .readFileSync(node.logFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const rpc = lines.find((l) => l.reqId === 'req-abc-123');
      expect(rpc).to.include({
        level: 30,
        log: 'access',
        msg: 'rpc',
        interfaceName: 'admin.app.list',
        returnCode: 0,
        sub: 'test',
      });
      expect(rpc!.ms).to.be.a('number');
      expect(lines.find((l) => l.interfaceName === 'no.such')).to.include({ returnCode: 1010, msg: 'rpc' });
      expect(lines.find((l) => l.reqId === 'req-push-1')).to.include({
        msg: 'http',
        method: 'POST',
        route: '/wechat-tp/nope/events',
        status: 404,
      });
    } finally {
      await node.close();
    }
  });
});
