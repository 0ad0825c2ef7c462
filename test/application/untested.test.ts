import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakePlatform } from '../fake/platform';
import { registerSampleApps, SAMPLE_APPS, SECRET_FIELDS } from '../helpers/apps';
import { forEachDialect, freshDatabase, requireMariadb } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { signedPush, xml } from '../helpers/push';
import { until } from '../helpers/wait';

/** Behaviours no other suite exercised (issue 11 item 6). */

const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const logLines = (node: TestNode) =>
  fs
    .readFileSync(node.logFile, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

forEachDialect('a session whose app went away', (dialect) => {
  const APPID = 'wxsessionapp00001';
  let fake: FakePlatform;
  let node: TestNode;
  before(async () => {
    fake = await new FakePlatform().start();
    fake.app(APPID, 'session-secret');
  });
  after(async () => fake?.stop());
  beforeEach(async () => {
    node = await startNode({ dialect, fake });
  });
  afterEach(async () => node?.close());

  it('answers 1012 while the app is disabled or deleted, and serves it again once the app is back', async () => {
    const admin = node.token('admin.*');
    const put = (enabled: boolean) =>
      node.rpc(
        'admin.app.put',
        { platform: 'wechat_app', codeName: 'mp', config: { appId: APPID, secret: 'session-secret', enabled } },
        admin,
      );
    expect((await put(true)).returnCode).to.equal(0);
    const login = await node.rpc('qcloud.cam.id_skey', { code: fake.code({ appid: APPID }).code });
    expect(login.returnCode).to.equal(0);
    const { id, skey } = login.returnData;
    const auth = () => node.rpc('qcloud.cam.auth', { id, skey });
    expect((await auth()).returnCode).to.equal(0);
    const rows = JSON.stringify(await node.db.query('SELECT * FROM sessions'));

    expect((await put(false)).returnCode).to.equal(0);
    expect(await auth()).to.deep.include({ returnCode: 1012, returnMessage: 'NO_APP' });
    expect((await put(true)).returnCode).to.equal(0);
    expect((await auth()).returnCode).to.equal(0);

    expect(
      (await node.rpc('admin.app.delete', { platform: 'wechat_app', codeName: 'mp' }, admin)).returnData,
    ).to.deep.equal({ deleted: true });
    expect(await auth()).to.deep.include({ returnCode: 1012, returnMessage: 'NO_APP' });
    // the session row is kept untouched (a 1012 changes nothing)
    expect(JSON.stringify(await node.db.query('SELECT * FROM sessions'))).to.equal(rows);
    expect(fake.count('jscode2session')).to.equal(1);
  });
});

forEachDialect('push log retention', (dialect) => {
  it('a node prunes pushes older than GATEHOUSE_PUSH_RETENTION_DAYS at start; younger ones stay listed', async () => {
    const db = await freshDatabase(dialect);
    let node = await startNode({ dialect, db });
    try {
      const admin = node.token('admin.*');
      await node.rpc(
        'admin.app.put',
        {
          platform: 'wechat_tp',
          codeName: 'tp',
          config: { appId: 'wxretention000001', secret: 's', token: 'tk', aesKey: AES },
        },
        admin,
      );
      for (const t of [1, 2]) {
        const p = signedPush(
          'tk',
          AES,
          'wxretention000001',
          xml({
            AppId: 'wxretention000001',
            CreateTime: t,
            InfoType: 'component_verify_ticket',
            ComponentVerifyTicket: `ticket@@@${t}`,
          }),
        );
        expect(
          (await fetch(`${node.url}/wechat-tp/tp/events?${p.query}`, { method: 'POST', body: p.body })).status,
        ).to.equal(200);
      }
      const [older, younger] = (await db.query('SELECT id FROM pushes ORDER BY id')).map((r) => Number(r.id));
      const day = 86_400_000;
      await db.exec('UPDATE pushes SET at = ? WHERE id = ?', [Date.now() - 3 * day, older]);
      await db.exec('UPDATE pushes SET at = ? WHERE id = ?', [Date.now() - 1 * day, younger]);
      await node.gh.close();
      node = await startNode({ dialect, db, env: { GATEHOUSE_PUSH_RETENTION_DAYS: '2' } });
      await until(
        async () => (await db.query('SELECT id FROM pushes WHERE id = ?', [older])).length === 0,
        'the 3-day-old push pruned',
        20_000,
      );
      expect((await db.query('SELECT id FROM pushes')).map((r) => Number(r.id))).to.deep.equal([younger]);
      const listed = (await node.rpc('admin.push.list', { platform: 'wechat_tp' }, node.token('admin.*'))).returnData
        .pushes;
      expect(
        listed.map((p: { body: { ComponentVerifyTicket: string } }) => p.body.ComponentVerifyTicket),
      ).to.deep.equal(['****@@@2'.slice(-8)]);
    } finally {
      await node.gh.close();
      await db.drop();
    }
  });
});

describe('GATEHOUSE_REFRESH_CONCURRENCY', function () {
  this.timeout(60_000);
  it('caps the background refreshes running at once', async () => {
    const fake = await new FakePlatform().start();
    const apps = Array.from({ length: 6 }, (_, i) => `wxconcurrency0000${i}`);
    for (const a of apps) fake.app(a, 's');
    const node = await startNode({
      dialect: 'sqlite',
      fake,
      env: {
        GATEHOUSE_REFRESH_CONCURRENCY: '2',
        GATEHOUSE_REFRESH_SCAN_MS: '100',
        GATEHOUSE_UPSTREAM_TIMEOUT_MS: '10000',
      },
    });
    try {
      const tok = node.token('*');
      for (const [i, a] of apps.entries())
        await node.rpc(
          'admin.app.put',
          { platform: 'wechat_app', codeName: `c${i}`, config: { appId: a, secret: 's', tokenMode: 'classic' } },
          tok,
        );
      fake.lifetimeS = 6; // due for refresh-ahead 3 s after issue
      const cold = await Promise.all(apps.map((_, i) => node.rpc('wechat.app.token', { codeName: `c${i}` }, tok)));
      expect(cold.every((r) => r.returnCode === 0)).to.equal(true);
      fake.reset();
      // each refresh takes a second: six due at once overlap unless capped (the node's upstream timeout,
      // 10 s here, never frees a slot while the fake still counts the call in flight)
      fake.latencyMs = 1000;
      await until(() => apps.every((a) => fake.count('token', a) >= 1), 'every token refreshed ahead', 20_000);
      expect(fake.maxInFlight.get('token')).to.equal(2);
    } finally {
      fake.latencyMs = 0;
      await node.close();
      await fake.stop();
    }
  });
});

describe('GATEHOUSE_APPS_FILE', () => {
  it('a valid file is upserted at start: every platform listed, secrets sealed in place and working', async () => {
    const fake = await new FakePlatform().start();
    registerSampleApps(fake);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gh-apps-')), 'apps.json');
    fs.writeFileSync(
      file,
      JSON.stringify(
        Object.entries(SAMPLE_APPS).map(([platform, config]) => ({
          platform,
          codeName: platform.replace('_', '-'),
          ...config,
        })),
      ),
    );
    const key = crypto.randomBytes(32).toString('base64');
    const node = await startNode({
      dialect: 'sqlite',
      fake,
      env: { GATEHOUSE_APPS_FILE: file, GATEHOUSE_MASTER_KEY: key },
    });
    try {
      const tok = node.token('*');
      const list = (await node.rpc('admin.app.list', {}, tok)).returnData.apps as Array<{
        platform: string;
        codeName: string;
        enabled: boolean;
      }>;
      expect(list.map((a) => `${a.platform}/${a.codeName}`).sort()).to.deep.equal(
        Object.keys(SAMPLE_APPS)
          .map((p) => `${p}/${p.replace('_', '-')}`)
          .sort(),
      );
      expect(list.every((a) => a.enabled)).to.equal(true);
      const got = (await node.rpc('admin.app.get', { platform: 'wechat_app', codeName: 'wechat-app' }, tok)).returnData;
      expect(got).to.include({
        appId: SAMPLE_APPS.wechat_app.appId,
        secret: `****${String(SAMPLE_APPS.wechat_app.secret).slice(-4)}`,
      });
      const dump = JSON.stringify(await node.db.query('SELECT * FROM apps'));
      for (const [platform, fields] of Object.entries(SECRET_FIELDS))
        for (const f of fields) expect(dump, `${platform}.${f}`).to.not.include(String(SAMPLE_APPS[platform][f]));
      // the secrets from the file are the ones sent upstream
      const t = await node.rpc('wechat.app.token', { codeName: 'wechat-app' }, tok);
      expect(t.returnCode).to.equal(0);
      expect(fake.isLive(t.returnData.token, 'AT', String(SAMPLE_APPS.wechat_app.appId))).to.equal(true);
      expect((await node.rpc('wecom.corp.token', { codeName: 'wecom-corp' }, tok)).returnCode).to.equal(0);
      const loaded = logLines(node).find((l) => l.msg === 'apps file loaded');
      expect(loaded).to.include({ apps: Object.keys(SAMPLE_APPS).length });
    } finally {
      await node.close();
      await fake.stop();
    }
  });
});

describe('metrics: upstream calls, token cache, lease waits', function () {
  this.timeout(30_000);
  const metric = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? 'NaN');

  it("counts upstream calls by api and errcode with their duration, cache hits and misses, and waits on another node's lease", async () => {
    const fake = await new FakePlatform().start();
    fake.app('wxmetrics00000001', 's');
    // an upstream timeout far above the fake's latency: a loaded machine must not turn the slow answer into a 1005
    const env = { GATEHOUSE_UPSTREAM_TIMEOUT_MS: '10000' };
    const a = await startNode({ dialect: 'sqlite', fake, env });
    const b = await startNode({ dialect: 'sqlite', fake, db: a.db, env });
    try {
      const tok = a.token('*');
      await a.rpc(
        'admin.app.put',
        { platform: 'wechat_app', codeName: 'mp', config: { appId: 'wxmetrics00000001', secret: 's' } },
        tok,
      );
      const text = async (n: TestNode) => (await fetch(`${n.url}/metrics`)).text();
      // both nodes cold at once: one fetches under the lease, the other waits for it
      fake.latencyMs = 700;
      const both = await Promise.all([a, b].map((n) => n.rpc('wechat.app.token', { codeName: 'mp' }, tok)));
      fake.latencyMs = 0;
      expect(both[0].returnData.token).to.equal(both[1].returnData.token);
      expect(fake.count('stable_token')).to.equal(1);
      const [ta, tb] = [await text(a), await text(b)];
      const waits = [ta, tb].map((t) => metric(t, /^gatehouse_token_lease_waits_total (\d+)$/m));
      expect([...waits].sort()).to.deep.equal([0, 1]);
      const fetched = [ta, tb].map(
        (t) =>
          metric(t, /^gatehouse_upstream_requests_total\{platform="wechat",api="stable_token",errcode="0"\} (\d+)$/m) ||
          0,
      );
      expect([...fetched].sort()).to.deep.equal([0, 1]);
      expect(fetched).to.deep.equal([1 - waits[0], 1 - waits[1]]); // the node that waited did not fetch
      // the upstream duration histogram counts the call, over at least the fake's latency
      const fetcher = fetched[0] === 1 ? ta : tb;
      expect(
        metric(fetcher, /^gatehouse_upstream_duration_seconds_count\{platform="wechat",api="stable_token"\} (\d+)$/m),
      ).to.equal(1);
      expect(
        metric(fetcher, /^gatehouse_upstream_duration_seconds_sum\{platform="wechat",api="stable_token"\} ([\d.]+)$/m),
      ).to.be.at.least(0.65);
      // the next read on a node comes from its cache; a refused call is counted under its errcode
      const miss0 = metric(await text(a), /^gatehouse_token_cache_total\{result="miss"\} (\d+)$/m);
      const hit0 = metric(await text(a), /^gatehouse_token_cache_total\{result="hit"\} (\d+)$/m) || 0;
      expect((await a.rpc('wechat.app.token', { codeName: 'mp' }, tok)).returnCode).to.equal(0);
      fake.mode('getticket', { errcode: 45009, errmsg: 'reach max api daily quota limit' });
      expect((await a.rpc('wechat.app.ticket', { codeName: 'mp' }, tok)).returnData).to.deep.include({
        errcode: 45009,
      });
      fake.mode('getticket', null);
      const after = await text(a);
      expect(metric(after, /^gatehouse_token_cache_total\{result="hit"\} (\d+)$/m)).to.be.at.least(hit0 + 1);
      expect(metric(after, /^gatehouse_token_cache_total\{result="miss"\} (\d+)$/m)).to.be.at.least(miss0);
      expect(
        metric(
          after,
          /^gatehouse_upstream_requests_total\{platform="wechat",api="getticket",errcode="45009"\} (\d+)$/m,
        ),
      ).to.equal(1);
    } finally {
      fake.latencyMs = 0;
      await b.gh.close();
      await a.close();
      await fake.stop();
    }
  });
});

describe('mysql:// database URLs', function () {
  this.timeout(30_000);
  it('are MariaDB URLs: the node starts, writes and reads there', async function () {
    await requireMariadb(this);
    const db = await freshDatabase('mariadb');
    const url = db.url.replace(/^mariadb:/, 'mysql:');
    expect(url).to.match(/^mysql:\/\//);
    const node = await startNode({ dialect: 'mariadb', db, env: { GATEHOUSE_DATABASE_URL: url } });
    try {
      const put = await node.rpc(
        'admin.app.put',
        { platform: 'cos', codeName: 'files', config: SAMPLE_APPS.cos },
        node.token('admin.*'),
      );
      expect(put.returnData).to.deep.equal({ platform: 'cos', codeName: 'files', created: true });
      expect(await db.query('SELECT platform, code_name FROM apps')).to.deep.equal([
        { platform: 'cos', code_name: 'files' },
      ]);
      const listening = logLines(node).find((l) => String(l.msg).startsWith('gatehouse listening'));
      expect(String(listening?.msg)).to.include('(mariadb root@');
    } finally {
      await node.close();
    }
  });
});

describe('the no-master-key warning', () => {
  it('is logged once at start without GATEHOUSE_MASTER_KEY, and not with it', async () => {
    const warning = 'GATEHOUSE_MASTER_KEY is not set: app secrets and session keys are stored in clear';
    const plain = await startNode({ dialect: 'sqlite' });
    await plain.close();
    expect(
      logLines(plain)
        .filter((l) => l.msg === warning)
        .map((l) => l.level),
    ).to.deep.equal([40]);
    const keyed = await startNode({
      dialect: 'sqlite',
      env: { GATEHOUSE_MASTER_KEY: crypto.randomBytes(32).toString('base64') },
    });
    await keyed.close();
    expect(logLines(keyed).filter((l) => String(l.msg).includes('GATEHOUSE_MASTER_KEY'))).to.deep.equal([]);
  });
});

describe('a failure outside RPC', () => {
  it('answers 503 with the 5000 envelope and a request id; the log has the error under that id; nothing else leaks', async () => {
    const node = await startNode({ dialect: 'sqlite' });
    const apps = node.gh.services.apps;
    const real = apps.get.bind(apps);
    try {
      apps.get = async () => {
        throw new Error('boom: secret-detail-0001');
      };
      const res = await fetch(`${node.url}/wechat-tp/tp/authorize`);
      expect(res.status).to.equal(503);
      const text = await res.text();
      expect(text).to.not.include('secret-detail-0001');
      const body = JSON.parse(text) as { requestId: string };
      expect(body).to.deep.equal({
        returnCode: 5000,
        returnMessage: 'INTERNAL_ERROR',
        returnData: '',
        requestId: body.requestId,
      });
      expect(body.requestId).to.be.a('string').and.not.equal('');
      const logged = logLines(node).find((l) => l.reqId === body.requestId && l.msg === 'unhandled error');
      expect(logged).to.include({ level: 50, path: '/wechat-tp/tp/authorize' });
      apps.get = real;
      // the node serves on: the same route answers its ordinary 404
      expect((await fetch(`${node.url}/wechat-tp/tp/authorize`)).status).to.equal(404);
    } finally {
      apps.get = real;
      await node.close();
    }
  });
});
