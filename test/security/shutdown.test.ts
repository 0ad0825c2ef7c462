/**
 * SIGTERM / SIGINT reach the server started by `npm start` (it is exec'd, not left behind a shell)
 * and drain it: no new connections, in-flight requests finish with their normal answer, idle
 * keep-alive sockets close, background work stops, the store closes, exit code 0 within 10 s.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signCaller } from '../../system/callers';
import { FakePlatform } from '../fake/platform';
import { freePort, ROOT } from '../helpers/cli';
import { JWT_SECRET } from '../helpers/gatehouse';
import { descendants, launch, stillAlive, type Started } from '../helpers/process-tree';
import { until } from '../helpers/wait';

const WX = 'wxshutdown0000001';
const TOKEN = signCaller(JWT_SECRET, { sub: 'shutdown-test', scope: '*', ttlSeconds: 3600 }); // signed at load: outlives a long suite
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rpc(url: string, interfaceName: string, para: unknown) {
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ interface: { interfaceName, para } }),
  });
  return (await res.json()) as { returnCode: number; returnData: any };
}

describe('graceful shutdown of `npm start` (issue 9 item 13)', function () {
  this.timeout(180_000);
  let fake: FakePlatform;
  let dir: string;
  const started: Started[] = [];

  before(async () => {
    fake = await new FakePlatform().start();
    fake.app(WX, 'shutdown-secret');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-shutdown-'));
  });
  after(async () => {
    for (const s of started) {
      try {
        process.kill(-s.child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await fake?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const env = (name: string) => ({
    GATEHOUSE_DATABASE_URL: `sqlite:${path.join(dir, `${name}.db`)}`,
    GATEHOUSE_PORT: freePort(),
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_JWT_SECRET: JWT_SECRET,
    GATEHOUSE_WECHAT_API: fake.url,
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_UPSTREAM_TIMEOUT_MS: '5000',
  });

  /** a token call that waits `ms` on the fake: in flight while the signal arrives */
  async function slowCall(s: Started, codeName: string, ms: number) {
    expect(
      (
        await rpc(s.url, 'admin.app.put', {
          platform: 'wechat_app',
          codeName,
          config: { appId: WX, secret: 'shutdown-secret', tokenMode: 'classic' },
        })
      ).returnCode,
    ).to.equal(0);
    fake.reset();
    fake.latencyMs = ms;
    const call = rpc(s.url, 'wechat.app.token', { codeName });
    await until(() => fake.count('token') > 0, 'the token call at the platform');
    return call;
  }

  it('SIGTERM to the npm process: the in-flight call answers normally, the whole tree exits 0 within 10 s', async () => {
    const s = await launch('npm', ['start', '--silent'], env('npm'));
    started.push(s);
    const tree = descendants(s.child.pid!);
    expect(tree.length, 'npm has the server below it').to.be.greaterThan(0);
    // an idle keep-alive connection must not hold the shutdown up
    expect((await fetch(`${s.url}/healthz`)).ok).to.equal(true);
    const inFlight = slowCall(s, 'npmstart', 1000);
    await sleep(100);
    const signalled = Date.now();
    process.kill(s.child.pid!, 'SIGTERM');
    const answer = await inFlight;
    expect(answer.returnCode).to.equal(0);
    expect(answer.returnData.token).to.be.a('string');
    const { code, signal, at } = await Promise.race([
      s.exited,
      sleep(10_000).then(() => ({ code: -1, signal: null, at: Date.now() })),
    ]);
    expect(at - signalled, 'exit within 10 s').to.be.lessThan(10_000);
    expect({ code, signal }, s.output()).to.deep.equal({ code: 0, signal: null });
    expect(await stillAlive(tree), 'no process of the tree is left').to.deep.equal([]);
    await fetch(`${s.url}/healthz`).then(
      () => expect.fail('still listening'),
      () => undefined,
    );
  });

  it('SIGINT to the server itself (dist, as npm start runs it) drains the same way', async () => {
    const s = await launch(process.execPath, [path.join(ROOT, 'dist', 'index.js'), 'serve'], env('direct'));
    started.push(s);
    const inFlight = slowCall(s, 'direct', 1000);
    await sleep(100);
    const signalled = Date.now();
    process.kill(s.child.pid!, 'SIGINT');
    expect((await inFlight).returnCode).to.equal(0);
    const { code, at } = await s.exited;
    expect(code, s.output()).to.equal(0);
    expect(at - signalled).to.be.lessThan(10_000);
  });
});
