/**
 * The log-leak scan (test/helpers/log-scan.ts) sees every process's output (issue 11 item 3):
 * child processes started by the helpers (`cli`, `serve`, `serveNode`, `launch`) write into files
 * the scan reads, and everything the fakes hand out is registered as a secret. Each case plants a
 * secret in a real child's output and checks that the scan reports it.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeFengniao } from '../fake/fengniao';
import { FakePlatform, ISSUED_SECRETS } from '../fake/platform';
import { FakeShansong, installShansong } from '../fake/shansong';
import { installToutiao } from '../fake/toutiao';
import { FakeWechatTp } from '../fake/wechat-tp';
import { installWecomTp } from '../fake/wecom-tp';
import { cli, freePort, ROOT, serve } from '../helpers/cli';
import { logFiles, scanLogs, unregisterLog } from '../helpers/log-scan';
import { serveNode } from '../helpers/node-proc';
import { launch } from '../helpers/process-tree';

/** a value shaped like the fakes' tokens, registered as issued */
const plant = () => {
  const secret = `AT_wxplanted_${crypto.randomBytes(12).toString('hex')}`;
  ISSUED_SECRETS.add(secret);
  return secret;
};

/** the files registered since `before`, their scan with and without the secret; then out of the run's scan */
function scanNew(before: number, secret: string): { files: string[]; hits: string[]; without: string[] } {
  const files = logFiles().slice(before);
  const hits = scanLogs(files, [secret], []);
  const without = scanLogs(files, ['AT_wxnotthere_000000000000000000000000'], []);
  for (const f of files) unregisterLog(f);
  return { files, hits, without };
}

describe('log-leak scan covers child processes (issue 11 item 3)', function () {
  this.timeout(90_000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-leak-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('cli(): a secret the CLI prints to stderr is found in its registered output', () => {
    const secret = plant();
    const n = logFiles().length;
    const r = cli(['serve'], { GATEHOUSE_PORT: secret, GATEHOUSE_DATABASE_URL: `sqlite:${path.join(dir, 'cli.db')}` });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(secret);
    const { files, hits, without } = scanNew(n, secret);
    expect(files).to.have.length(1);
    expect(hits).to.have.length(1);
    expect(hits[0]).to.equal(`${files[0]}: ${secret.slice(0, 6)}…`);
    expect(without).to.deep.equal([]);
  });

  const served: Array<
    [string, (env: Record<string, string>) => Promise<{ url: string; kill(): void; exited: Promise<unknown> }>]
  > = [
    ['serve()', (env) => serve(env)],
    ['serveNode()', (env) => serveNode(env, Number(env.GATEHOUSE_PORT))],
    [
      'launch()',
      async (env) => {
        const s = await launch(
          process.execPath,
          ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'index.ts'), 'serve'],
          env,
        );
        return { url: s.url, kill: () => s.child.kill('SIGTERM'), exited: s.exited };
      },
    ],
  ];
  for (const [name, start] of served) {
    it(`${name}: a secret sent as an interface name lands in the node's access log, and the scan reports it`, async () => {
      const secret = plant();
      const n = logFiles().length;
      const port = freePort();
      const node = await start({
        GATEHOUSE_PORT: port,
        GATEHOUSE_HOST: '127.0.0.1',
        GATEHOUSE_LOG_LEVEL: 'info',
        GATEHOUSE_DATABASE_URL: `sqlite:${path.join(dir, `${port}.db`)}`,
      });
      try {
        // an unknown interface name is written into the access line as the caller sent it
        const res = await fetch(`${node.url}/`, {
          method: 'POST',
          body: JSON.stringify({ interface: { interfaceName: secret, para: {} } }),
        });
        expect(((await res.json()) as { returnCode: number }).returnCode).to.equal(1010);
        // the line is written around the answer: wait until it is in the file
        const deadline = Date.now() + 20_000;
        while (
          !logFiles()
            .slice(n)
            .some((f) => fs.readFileSync(f, 'utf8').includes('"rpc"')) &&
          Date.now() < deadline
        )
          await new Promise((r) => setTimeout(r, 50));
      } finally {
        node.kill();
        await node.exited;
      }
      const { files, hits, without } = scanNew(n, secret);
      expect(files).to.have.length(1);
      expect(hits).to.deep.equal([`${files[0]}: ${secret.slice(0, 6)}…`]);
      expect(without).to.deep.equal([]);
    });
  }

  it('finds a secret wherever it sits in a line (start, middle, end, URL-encoded) and a shape without a registration', () => {
    const key = crypto.randomBytes(16).toString('base64');
    const other = `refreshtoken@@@${crypto.randomBytes(12).toString('hex')}`;
    const file = path.join(dir, 'lines.log');
    const cases = [
      `${key} at the start`,
      `{"msg":"x","v":"${key}"}`,
      `ends with ${key}`,
      `/path?k=${encodeURIComponent(key)}&x=1`,
    ];
    for (const line of cases) {
      fs.writeFileSync(file, `${line}\n`);
      expect(scanLogs([file], [key], []), line).to.have.length(1);
    }
    fs.writeFileSync(file, `nothing here but ${key.slice(0, -3)}\n`);
    expect(scanLogs([file], [key], [])).to.deep.equal([]);
    fs.writeFileSync(file, `{"refresh":"${other}"}\n`);
    expect(scanLogs([file], [])).to.have.length(1);
  });
});

describe('every credential a fake hands out is registered as issued (issue 11 item 3)', () => {
  let fake: FakePlatform;

  before(async () => {
    fake = await new FakePlatform().start();
  });
  after(async () => fake?.stop());

  const postJson = async (p: string, body: unknown) =>
    (
      await fetch(fake.url + p, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      })
    ).json() as Promise<any>;
  const postForm = async (p: string, form: Record<string, string>) =>
    (
      await fetch(fake.url + p, {
        method: 'POST',
        body: new URLSearchParams(form).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
    ).json() as Promise<any>;
  const expectIssued = (...values: unknown[]) => {
    for (const v of values) {
      expect(v).to.be.a('string').and.not.equal('');
      expect(ISSUED_SECRETS.has(v as string), `${String(v).slice(0, 8)}… registered`).to.equal(true);
    }
  };

  it('WeChat: wx.login codes, session keys, app secrets, tokens and tickets', async () => {
    fake.app('wxleak00000000001', 'leak-app-secret-01');
    const c = fake.code();
    expectIssued(c.code, c.sessionKey, 'leak-app-secret-01');
    const t = await postJson('/cgi-bin/stable_token', {
      grant_type: 'client_credential',
      appid: 'wxleak00000000001',
      secret: 'leak-app-secret-01',
    });
    expectIssued(t.access_token);
    const tk = (await (
      await fetch(`${fake.url}/cgi-bin/ticket/getticket?access_token=${t.access_token}&type=jsapi`)
    ).json()) as any;
    expectIssued(tk.ticket);
  });

  it('WeChat third-party platform: pre-auth codes, authorization codes, refresh tokens (issued and rotated), TP session keys', async () => {
    const wx = new FakeWechatTp(fake);
    fake.app('wxleakcomponent01', 'leak-component-secret');
    wx.acceptTicket('wxleakcomponent01', 'ticket@@@leak-ticket-0001');
    expectIssued('leak-component-secret', 'ticket@@@leak-ticket-0001');
    const ct = await postJson('/cgi-bin/component/api_component_token', {
      component_appid: 'wxleakcomponent01',
      component_appsecret: 'leak-component-secret',
      component_verify_ticket: 'ticket@@@leak-ticket-0001',
    });
    expectIssued(ct.component_access_token);
    const q = `?component_access_token=${ct.component_access_token}`;
    const pre = await postJson(`/cgi-bin/component/api_create_preauthcode${q}`, {
      component_appid: 'wxleakcomponent01',
    });
    expectIssued(pre.pre_auth_code);
    const code = wx.authorizationCode('wxleakcomponent01', 'wxleakauthorizer1');
    expectIssued(code);
    const auth = await postJson(`/cgi-bin/component/api_query_auth${q}`, {
      component_appid: 'wxleakcomponent01',
      authorization_code: code,
    });
    expectIssued(auth.authorization_info.authorizer_access_token, auth.authorization_info.authorizer_refresh_token);
    const refreshed = await postJson(`/cgi-bin/component/api_authorizer_token${q}`, {
      component_appid: 'wxleakcomponent01',
      authorizer_appid: 'wxleakauthorizer1',
      authorizer_refresh_token: auth.authorization_info.authorizer_refresh_token,
    });
    expectIssued(refreshed.authorizer_access_token, refreshed.authorizer_refresh_token);
    wx.preexisting('wxleakcomponent01', 'wxleakauthorizer2');
    const list = await postJson(`/cgi-bin/component/api_get_authorizer_list${q}`, {
      component_appid: 'wxleakcomponent01',
      offset: 0,
      count: 100,
    });
    expect(list.list, 'the authorizer list').to.have.length.at.least(2);
    expectIssued(...list.list.map((a: { refresh_token: string }) => a.refresh_token));
    const session = (await (
      await fetch(
        `${fake.url}/sns/component/jscode2session?appid=wxleakauthorizer1&js_code=tpcode_leak&grant_type=authorization_code&component_appid=wxleakcomponent01&component_access_token=${ct.component_access_token}`,
      )
    ).json()) as any;
    expectIssued(session.session_key);
  });

  it('WeCom suites: suite secrets and tickets, suite tokens, pre-auth and auth codes, permanent codes, corp tokens', async () => {
    const wc = installWecomTp(fake);
    wc.suite('wwleaksuite00001', 'leak-suite-secret-01');
    const ticket = wc.ticket('wwleaksuite00001');
    expectIssued('leak-suite-secret-01', ticket);
    const st = await postJson('/cgi-bin/service/get_suite_token', {
      suite_id: 'wwleaksuite00001',
      suite_secret: 'leak-suite-secret-01',
      suite_ticket: ticket,
    });
    expectIssued(st.suite_access_token);
    const q = `?suite_access_token=${st.suite_access_token}`;
    expectIssued((await postJson(`/cgi-bin/service/get_pre_auth_code${q}`, {})).pre_auth_code);
    const code = wc.authCode('wwleaksuite00001', 'wwleakcorp000001');
    expectIssued(code);
    const pc = await postJson(`/cgi-bin/service/get_permanent_code${q}`, { auth_code: code });
    expectIssued(pc.permanent_code, pc.access_token);
    expectIssued(
      (
        await postJson(`/cgi-bin/service/get_corp_token${q}`, {
          auth_corpid: 'wwleakcorp000001',
          permanent_code: pc.permanent_code,
        })
      ).access_token,
    );
  });

  it('ByteDance: tokens and session keys', async () => {
    installToutiao(fake);
    fake.app('ttleak0000000001', 'leak-toutiao-secret');
    const t = await postJson('/api/apps/v2/token', {
      appid: 'ttleak0000000001',
      secret: 'leak-toutiao-secret',
      grant_type: 'client_credential',
    });
    expectIssued(t.data.access_token);
    const s = await postJson('/api/apps/v2/jscode2session', {
      appid: 'ttleak0000000001',
      secret: 'leak-toutiao-secret',
      code: 'tt_leak',
    });
    expectIssued(s.data.session_key);
  });

  it('Fengniao: app secrets, auth codes, access and refresh tokens (granted and refreshed)', async () => {
    const fn = new FakeFengniao(fake);
    const secret = 'leak-fengniao-secret';
    fn.app('fn-leak-app', secret);
    const code = fn.authCode('fn-leak-app', '777');
    expectIssued(secret, code);
    const sha = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
    const ts = String(Date.now());
    const grant = await postJson('/anubis-webapi/openapi/token', {
      grant_type: 'authorization_code',
      code,
      app_id: 'fn-leak-app',
      merchant_id: '777',
      timestamp: ts,
      signature: sha(
        `${secret}app_id=fn-leak-app&code=${code}&grant_type=authorization_code&merchant_id=777&timestamp=${ts}`,
      ),
    });
    const bd = JSON.parse(grant.business_data);
    expectIssued(bd.access_token, bd.refresh_token);
    const again = await postJson('/anubis-webapi/openapi/refreshToken', {
      grant_type: 'refresh_token',
      app_id: 'fn-leak-app',
      merchant_id: '777',
      refresh_token: bd.refresh_token,
      timestamp: ts,
      signature: sha(
        `${secret}app_id=fn-leak-app&grant_type=refresh_token&merchant_id=777&refresh_token=${bd.refresh_token}&timestamp=${ts}`,
      ),
    });
    const bd2 = JSON.parse(again.business_data);
    expectIssued(bd2.access_token, bd2.refresh_token);
  });

  it('Shansong: client secrets, authorization codes, access and refresh tokens (granted and rotated)', async () => {
    const ss = installShansong(fake);
    ss.client('ssleak000001', 'leak-shansong-secret');
    const code = ss.code('ssleak000001', 'm-leak');
    expectIssued('leak-shansong-secret', code);
    const t = await postForm('/openapi/oauth/token', { clientId: 'ssleak000001', code });
    expectIssued(t.data.access_token, t.data.refresh_token);
    const form: Record<string, string> = {
      clientId: 'ssleak000001',
      timestamp: String(Date.now()),
      data: JSON.stringify({ refreshToken: t.data.refresh_token }),
    };
    const r = await postForm('/openapi/oauth/refresh_token', {
      ...form,
      sign: FakeShansong.sign('leak-shansong-secret', form),
    });
    expectIssued(r.data.access_token, r.data.refresh_token);
  });
});
