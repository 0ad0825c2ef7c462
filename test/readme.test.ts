/**
 * README examples are executable and executed (issue 10 item 3).
 *
 * Every example is taken out of README.md as it is written (test/helpers/readme.ts: code blocks and
 * table cells that are one command) — there is no hand-kept list, so an example added later is
 * run too. They run in order, as a new user would type them into one terminal: one bash session
 * whose variables and functions carry from example to example (each example is its own `bash`
 * with `set -euo pipefail`, the session's state saved after it), against a live gatehouse on a
 * temp SQLite store with every GATEHOUSE_*_API pointed at the fake platforms of test/fake/.
 *
 * - `npx gatehouse` / `gatehouse` are shims on PATH running the CLI from source
 *   (`node --require tsx/cjs index.ts`) with the test's store and JWT secret: no dependence on a
 *   stale dist/, and `npx` never reaches the registry (anything but `npx gatehouse` fails).
 * - `localhost:4236` is rewritten to the test's port (the only rewrite).
 * - An example passes when bash exits 0 and every JSON object it prints has `returnCode` 0 (and
 *   `errcode` 0, for platform answers through a proxy); a table-cell example must print one. A
 *   shell block followed by a line `answers` and a JSON block must print exactly that JSON (that
 *   is how README documents an example that is refused).
 * - `gatehouse …` reference lines (the Command line block) are checked against the CLI: each
 *   command exists and accepts every option the line shows.
 * - A JSON block the text introduces as a file (Example `apps.json`:) is written into the working
 *   directory, and a later example must use it. Other JSON blocks are wire shapes, not commands.
 *
 * What the user gets from elsewhere is given by the harness, as the platforms would:
 * - the mini program's side, as environment variables README names: `$CODE` (wx.login), `$TT_CODE`
 *   (tt.login), `$QQ_CODE` (qq.login), `$ALIPAY_AUTH_CODE` (my.getAuthCode; the Alipay example's
 *   key files `app_private_key.pem` and `alipay_public_key.pem` are in the working directory),
 *   `$ENCRYPTED_DATA` / `$IV` / `$RAW_DATA` / `$SIGNATURE` (wx.getUserInfo, for the session key of
 *   `$CODE`'s login and the default mini program's appId);
 * - the platforms' side ("world"): once a third-party platform / suite is configured, its
 *   component_verify_ticket / suite_ticket is pushed (signed, as WeChat / WeCom do every 10
 *   minutes); an authorizer, corp or merchant an example names has authorized (signed authorized /
 *   create_auth push, Fengniao's auth-callback, Shansong's authorize page and redirect); the app
 *   secrets README configures are the ones the fake platforms hold.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FakeAlipay } from './fake/alipay';
import type { FakeDingtalk } from './fake/dingtalk';
import type { FakeFeishu } from './fake/feishu';
import { type FakeFengniao } from './fake/fengniao';
import { type FakePlatform } from './fake/platform';
import type { FakeShansong } from './fake/shansong';
import { type FakeWechatTp } from './fake/wechat-tp';
import type { FakeWecomTp } from './fake/wecom-tp';
import { ROOT } from './helpers/cli';
import { JWT_SECRET, startNode, type TestNode } from './helpers/gatehouse';
import { signedPush, xml } from './helpers/push';
import { extractExamples } from './helpers/readme';
import { skipBecause } from './helpers/skip';
import { startFakes } from './helpers/fakes';

// README_FILE: run the examples of another copy (to see the test catch a broken example)
const README = fs.readFileSync(process.env.README_FILE ?? path.join(ROOT, 'README.md'), 'utf8');
const EXAMPLES = extractExamples(README);

/** blocks deliberately not run, by their first line, with the reason (each must match one block) */
const SKIPPED: { first: RegExp; reason: string }[] = [
  {
    first: /^npm ci && npm start\b/,
    reason:
      'installs, builds and serves on :4236 — what this test sets up itself (a live gatehouse on a temp store, on the fakes)',
  },
  {
    first: /^npm run typecheck\b/,
    reason:
      'development commands (typecheck, the whole suite, the benchmark, CI): the suite cannot run itself; CI runs them',
  },
];

const OPENID = 'oREADME0000000000000000user';
const SESSION_KEY = crypto.randomBytes(16).toString('base64');
const RAW_DATA = JSON.stringify({
  nickName: 'Band',
  gender: 1,
  language: 'zh_CN',
  city: 'Guangzhou',
  province: 'Guangdong',
  country: 'CN',
  avatarUrl: 'https://example.com/a.png',
});
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** every line of the output that is a JSON object */
const jsonLines = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })
    .filter((o): o is Record<string, unknown> => !!o && typeof o === 'object');

describe('README examples run as written (issue 10 item 3)', function () {
  this.timeout(60_000);
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let wc: FakeWecomTp;
  let fn: FakeFengniao;
  let ss: FakeShansong;
  let alipay: FakeAlipay;
  let feishu: FakeFeishu;
  let dingtalk: FakeDingtalk;
  let node: TestNode;
  let dir: string;
  let work: string;
  let state: string;
  let env: Record<string, string>;
  /** what the platforms have done already: `${platform}:${codeName}[:subject]` */
  const done = new Set<string>();

  before(async () => {
    ({ fake, wx, wc, fn, ss, alipay, feishu, dingtalk } = await startFakes());
    // the proxy example's API: user list of an official account
    fake.route('/cgi-bin/user/get', (u, _b, res) => {
      fake.hit('user_get');
      if (!fake.isLive(u.searchParams.get('access_token') ?? ''))
        return fake.json(res, { errcode: 40001, errmsg: 'invalid credential' });
      fake.json(res, { total: 1, count: 1, data: { openid: [OPENID] }, next_openid: OPENID });
    });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-readme-'));
    work = path.join(dir, 'work');
    fs.mkdirSync(work);
    // the Alipay example's key files: the app's private key (made here) and Alipay's public key (the fake's)
    const appKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    fs.writeFileSync(path.join(work, 'app_private_key.pem'), appKey.export({ type: 'pkcs1', format: 'pem' }));
    fs.writeFileSync(path.join(work, 'alipay_public_key.pem'), alipay.alipayPublicKeyPem);
    node = await startNode({
      dialect: 'sqlite',
      env: {
        GATEHOUSE_WECHAT_API: fake.url,
        GATEHOUSE_WECHAT_MP: fake.url,
        GATEHOUSE_WECOM_API: fake.url,
        GATEHOUSE_WECOM_OPEN: fake.url,
        GATEHOUSE_TOUTIAO_API: fake.url,
        GATEHOUSE_QQ_API: fake.url,
        GATEHOUSE_ALIPAY_GATEWAY: alipay.url,
        GATEHOUSE_FENGNIAO_API: fake.url,
        GATEHOUSE_FENGNIAO_OPEN: fake.url,
        GATEHOUSE_SHANSONG_API: fake.url,
        GATEHOUSE_FEISHU_API: fake.url,
        GATEHOUSE_FEISHU_LARK: fake.url,
        GATEHOUSE_DINGTALK_OAPI: fake.url,
        GATEHOUSE_DINGTALK_API: fake.url,
      },
    });
    // `npx gatehouse` and `gatehouse`: the CLI from source, on the test's store
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(
      path.join(bin, 'gatehouse'),
      `#!/bin/sh\nexec ${sh(process.execPath)} --require ${sh(require.resolve('tsx/cjs'))} ${sh(path.join(ROOT, 'index.ts'))} "$@"\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(bin, 'npx'),
      `#!/bin/sh\nif [ "$1" = gatehouse ]; then shift; exec gatehouse "$@"; fi\necho "npx $1: only 'npx gatehouse' is available to README examples" >&2\nexit 127\n`,
      { mode: 0o755 },
    );
    state = path.join(dir, 'session.sh');
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_') && !k.startsWith('npm_')),
    ) as Record<string, string>;
    env = {
      ...clean,
      PATH: `${bin}:${process.env.PATH}`,
      GATEHOUSE_DATABASE_URL: node.db.url,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_LOG_LEVEL: 'warn',
    };
  });

  after(async () => {
    await node?.close();
    await fake?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const post = (route: string, body: string, type = 'text/xml') =>
    fetch(`${node.url}${route}`, { method: 'POST', body, headers: { 'content-type': type } });

  /** the platforms catch up with what README configured and what the example names (see the top) */
  async function world(text: string): Promise<void> {
    const named = (key: string) => [...text.matchAll(new RegExp(`"${key}":"([^"]+)"`, 'g'))].map((m) => m[1]);
    const once = async (key: string, act: () => Promise<Response | void>) => {
      if (done.has(key)) return;
      const res = await act();
      if (res && !res.ok && res.status !== 302)
        throw new Error(`world: ${key} answered ${res.status} ${await res.text()}`);
      done.add(key);
    };
    // an app the example itself puts is known to the platform too (it is used in the same example)
    for (const m of text.matchAll(
      /app put --platform (wechat_app|wechat_tp|toutiao_app|qq_app|wecom_corp) .*?--app-id (\S+) --secret (\S+)/g,
    )) {
      if (m[1] === 'wecom_corp') fake.agent(m[2], m[3]);
      else fake.app(m[2], m[3]);
    }
    for (const app of await node.gh.services.store.listApps()) {
      const c = JSON.parse(app.config) as Record<string, string>;
      const k = `${app.platform}:${app.codeName}`;
      // the fake platform knows every app and its secret (it refuses those it does not)
      if (['wechat_app', 'wechat_tp', 'toutiao_app', 'qq_app'].includes(app.platform)) fake.app(app.appId, c.secret);
      if (app.platform === 'wecom_corp') fake.agent(app.appId, c.secret);
      if (app.platform === 'feishu_app') feishu.app(app.appId, c.appSecret, c.kind === 'store');
      if (app.platform === 'dingtalk_app') dingtalk.app(app.appId, c.appSecret);
      // Alipay knows the app's public key (of the private key README's example configured)
      if (app.platform === 'alipay_app')
        alipay.app(app.appId, crypto.createPublicKey(c.privateKey).export({ type: 'spki', format: 'pem' }).toString());
      if (app.platform === 'wechat_tp') {
        const push = (inner: string) => {
          const p = signedPush(c.token, c.aesKey, c.appId, inner);
          return post(`/wechat-tp/${app.codeName}/events?${p.query}`, p.body);
        };
        const now = Math.floor(Date.now() / 1000);
        await once(`${k}:${c.appId}`, () => {
          const ticket = `ticket@@@${crypto.randomBytes(12).toString('hex')}`;
          wx.acceptTicket(c.appId, ticket);
          return push(
            xml({
              AppId: c.appId,
              CreateTime: now,
              InfoType: 'component_verify_ticket',
              ComponentVerifyTicket: ticket,
            }),
          );
        });
        for (const a of named('authorizerAppId')) {
          await once(`${k}:${a}`, () =>
            push(
              xml({
                AppId: c.appId,
                CreateTime: now,
                InfoType: 'authorized',
                AuthorizerAppid: a,
                AuthorizationCode: wx.authorizationCode(c.appId, a),
                AuthorizationCodeExpiredTime: now + 3600,
                PreAuthCode: 'preauthcode@@@x',
              }),
            ),
          );
        }
      } else if (app.platform === 'wecom_tp') {
        const push = (fields: Record<string, string | number>) => {
          const p = signedPush(c.token, c.aesKey, c.suiteId, xml(fields), {
            outer: `<ToUserName><![CDATA[${c.suiteId}]]></ToUserName>`,
          });
          return post(`/wecom-tp/${app.codeName}/events?${p.query}`, p.body);
        };
        const now = Math.floor(Date.now() / 1000);
        await once(`${k}:${c.suiteId}`, () => {
          wc.suite(c.suiteId, c.secret);
          return push({
            SuiteId: c.suiteId,
            InfoType: 'suite_ticket',
            TimeStamp: now,
            SuiteTicket: wc.ticket(c.suiteId),
          });
        });
        for (const corp of named('corpId')) {
          await once(`${k}:${corp}`, () =>
            push({
              SuiteId: c.suiteId,
              AuthCode: wc.authCode(c.suiteId, corp),
              InfoType: 'create_auth',
              TimeStamp: now,
            }),
          );
        }
      } else if (app.platform === 'fengniao_app') {
        fn.app(c.appId, c.secret);
        for (const m of named('merchantId')) {
          await once(`${k}:${m}`, () =>
            post(
              `/fengniao/${app.codeName}/auth-callback`,
              JSON.stringify(fn.callbackBody(c.appId, m)),
              'application/json',
            ),
          );
        }
      } else if (app.platform === 'shansong_app') {
        ss.client(c.appId, c.secret);
        for (const m of named('merchantCode')) {
          await once(`${k}:${m}`, async () => {
            const page = await (
              await fetch(`${node.url}/shansong/${app.codeName}/authorize/${encodeURIComponent(m)}`)
            ).text();
            const href = /id="go" href="([^"]+)"/.exec(page)![1].replace(/&amp;/g, '&');
            const nonce = new URL(href).searchParams.get('state')!;
            return fetch(`${node.url}/shansong/${app.codeName}/authorized?code=${ss.code(c.appId, m)}&state=${nonce}`, {
              redirect: 'manual',
            });
          });
        }
      }
    }
  }

  /** the mini program's side of the session examples: a fresh wx.login code and wx.getUserInfo data */
  async function miniProgram(): Promise<Record<string, string>> {
    const apps = (await node.gh.services.store.listApps('wechat_app')).filter((a) => a.enabled);
    const appid = (apps.find((a) => a.isDefault) ?? apps[0])?.appId ?? 'wx0000000000000000';
    const iv = crypto.randomBytes(16);
    const user = {
      openId: OPENID,
      nickName: 'Band',
      gender: 1,
      unionId: 'oREADMEunion000000000000000',
      watermark: { appid, timestamp: Math.floor(Date.now() / 1000) },
    };
    const cipher = crypto.createCipheriv('aes-128-cbc', Buffer.from(SESSION_KEY, 'base64'), iv);
    const encrypted = Buffer.concat([cipher.update(JSON.stringify(user)), cipher.final()]);
    // one code per example, accepted once; component jscode2session wants the tpcode_ prefix
    const code = fake.code({
      code: `tpcode_${crypto.randomBytes(8).toString('hex')}`,
      openid: OPENID,
      sessionKey: SESSION_KEY,
    }).code;
    return {
      CODE: code,
      TT_CODE: `tt_${crypto.randomBytes(8).toString('hex')}`,
      ALIPAY_AUTH_CODE: alipay.authCode({ userId: '2088000000000001', openId: OPENID }),
      // QQ's jscode2session is WeChat's format: the fake answers it (GATEHOUSE_QQ_API is the fake too)
      QQ_CODE: fake.code({ openid: OPENID, sessionKey: SESSION_KEY }).code,
      ENCRYPTED_DATA: encrypted.toString('base64'),
      IV: iv.toString('base64'),
      RAW_DATA,
      SIGNATURE: crypto
        .createHash('sha1')
        .update(RAW_DATA + SESSION_KEY)
        .digest('hex'),
    };
  }

  /** runs one example in the README's terminal session */
  async function shell(text: string): Promise<Run> {
    const script = path.join(dir, 'example.sh');
    fs.writeFileSync(
      script,
      [
        '__base=$(compgen -v)',
        `[ -f ${sh(state)} ] && . ${sh(state)}`,
        'set -euo pipefail',
        text.replace(/localhost:4236\b/g, `localhost:${node.gh.port}`),
        'set +euo pipefail',
        'declare -A __known; for __v in $__base; do __known[$__v]=1; done',
        '{ for __v in $(compgen -v); do case "$__v" in __*|BASH*|FUNCNAME|PIPESTATUS|_|LINENO|RANDOM|SECONDS|PWD|OLDPWD|SHLVL) continue;; esac',
        `  [ -n "\${__known[$__v]-}" ] || declare -p "$__v"; done; declare -f; } > ${sh(state)}.new && mv ${sh(state)}.new ${sh(state)}`,
        '',
      ].join('\n'),
    );
    return run('bash', [script], { ...env, ...(await miniProgram()) }, work);
  }

  it('README has examples, and every skipped block is still there', () => {
    expect(EXAMPLES.filter((e) => e.kind === 'shell').length).to.be.greaterThan(40);
    for (const s of SKIPPED)
      expect(
        EXAMPLES.filter((e) => e.kind === 'shell' && s.first.test(e.text)),
        String(s.first),
      ).to.have.length(1);
  });

  it('the Command line reference: every command exists and takes the options shown; every command is listed', async () => {
    const lines = EXAMPLES.filter((e) => e.kind === 'synopsis').flatMap((e) =>
      e.text.split('\n').map((l) => l.replace(/\s#.*$/, '').trim()),
    );
    expect(lines.length).to.be.greaterThan(5);
    // the CLI's own command tree (index.ts loaded with parsing disabled: one process, nothing runs)
    const r = await run(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'test/helpers/cli-tree.ts')],
      env,
      work,
    );
    expect(r.status, r.stderr).to.equal(0);
    const tree = JSON.parse(r.stdout) as { command: string; options: string[] }[];
    const listed = new Set<string>();
    for (const l of lines) {
      const words = l.split(/\s+/).slice(1);
      const end = words.findIndex((w) => !/^[a-z][a-z-]*$/.test(w));
      const command = words.slice(0, end < 0 ? words.length : end).join(' ');
      const found = tree.find((c) => c.command === command);
      expect(found, `${l}: no command "gatehouse ${command}"`).to.not.equal(undefined);
      for (const opt of l.match(/--[a-z][\w-]*/g) ?? [])
        expect(found!.options, `${l}: gatehouse ${command} has no ${opt}`).to.include(opt);
      listed.add(command);
    }
    const leaves = tree.filter((c) => !tree.some((d) => d.command.startsWith(`${c.command} `))).map((c) => c.command);
    expect(
      leaves.filter((c) => !listed.has(c)),
      'CLI commands missing from the Command line reference',
    ).to.deep.equal([]);
  });

  for (const [n, ex] of EXAMPLES.entries()) {
    const title = `README.md:${ex.line} (${ex.section}) ${ex.text.split('\n')[0].slice(0, 70)}`;
    if (ex.kind === 'synopsis' || ex.kind === 'json') continue;
    const skip = SKIPPED.find((s) => s.first.test(ex.text));
    if (skip) {
      it(title, function () {
        skipBecause(this, `not run here: ${skip.reason}`);
      });
      continue;
    }
    if (ex.kind === 'file') {
      it(`${title}: written as ${ex.file}, valid JSON, and used by a later example`, () => {
        fs.writeFileSync(path.join(work, ex.file!), `${ex.text}\n`);
        expect(() => JSON.parse(ex.text)).not.to.throw();
        expect(
          EXAMPLES.slice(n + 1).some((e) => e.kind === 'shell' && e.text.includes(ex.file!)),
          `no example uses ${ex.file}`,
        ).to.equal(true);
      });
      continue;
    }
    it(title, async () => {
      await world(ex.text);
      const r = await shell(ex.text);
      const said = `\n--- example (README.md:${ex.line}) ---\n${ex.text}\n--- exit ${r.status}, stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
      expect(r.status, said).to.equal(0);
      const answers = jsonLines(r.stdout);
      if (ex.expect !== undefined) {
        expect(answers, said).to.have.length.greaterThan(0);
        expect(answers[answers.length - 1], said).to.deep.equal(ex.expect);
        return;
      }
      if (ex.cell) expect(answers, `a table example prints its answer${said}`).to.have.length.greaterThan(0);
      for (const a of answers) {
        if ('returnCode' in a) expect(a.returnCode, said).to.equal(0);
        if ('errcode' in a) expect(a.errcode, said).to.equal(0);
      }
    });
  }
});
