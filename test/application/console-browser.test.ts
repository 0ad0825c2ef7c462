/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { consoleDir } from '../../application/controllers/console/routes';
import { hashPassword } from '../../application/services/console-auth';
import { FakePlatform } from '../fake/platform';
import { FakeWechatTp } from '../fake/wechat-tp';
import { FakeWechatCode } from '../fake/wechat-code';
import http from 'node:http';
import { CHROMIUM, launchChromium } from '../helpers/browser';
import { ROOT } from '../helpers/cli';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { signedPush, xml } from '../helpers/push';
import { skipBecause } from '../helpers/skip';

const PASSWORD = 'operator password 0001';
const APP = 'wxconsole00000002';
const COMPONENT = 'wxcomponent000077';
const AUTHORIZER = 'wxauthorizer00077';
const TOKEN = 'push-token-77';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const SHOTS = path.join(ROOT, 'docs/console');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical findings on the page as it is now (none expected) */
async function axe(page: Page): Promise<string[]> {
  // evaluated through the DevTools protocol: the page's own CSP would refuse an injected script tag
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const w = window as unknown as {
      axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> };
    };
    const r = await w.axe.run();
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return found;
}

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The console in headless Chromium against a live gatehouse on the fake platforms (issue 15). */
describe('console in Chromium', function () {
  this.timeout(120_000);
  let browser: Browser | null;
  let fake: FakePlatform;
  let node: TestNode;
  let page: Page;
  let code: FakeWechatCode;
  let receiver: http.Server;
  const received: string[] = [];

  const go = async (hash: string, heading: string) => {
    await page.click(`nav a[href="#/${hash}"]`);
    await page.waitForSelector(`h1:text("${heading}")`);
    await page.waitForSelector('[aria-busy="true"]', { state: 'detached' });
  };

  before(async function () {
    browser = await launchChromium();
    if (!browser) {
      skipBecause(this, `no Chromium at ${CHROMIUM}`, { fixable: 'chromium (apt-get install chromium; .ci/run does)' });
    }
    // the console is built by npm run build (prepare); build it here when a checkout has not
    if (!consoleDir())
      execFileSync(
        process.execPath,
        [require.resolve('vite/bin/vite.js'), 'build', '--config', 'application/console/vite.config.mjs'],
        {
          cwd: ROOT,
          stdio: 'ignore',
        },
      );
    fake = await new FakePlatform().start();
    fake.app(APP, 'console-secret-2');
    fake.app(COMPONENT, 'component-secret-7');
    const wx = new FakeWechatTp(fake);
    code = new FakeWechatCode(fake, wx);
    code.templates.set(COMPONENT, [
      { create_time: 1700000000, user_version: '1.0.0', user_desc: 'shop template', template_id: 7, template_type: 0 },
    ]);
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push(String(req.headers['x-gatehouse-test']));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    node = await startNode({ dialect: 'sqlite', fake, env: { GATEHOUSE_WECHAT_MP: fake.url } });
    const admin = node.token('* admin.token.reveal');
    const store = node.gh.services.store;
    await store.putOperator(
      { name: 'ops', passwordHash: await hashPassword(PASSWORD), scope: '* admin.token.reveal' },
      Date.now(),
    );
    await store.putOperator(
      { name: 'reader', passwordHash: await hashPassword(PASSWORD), scope: 'admin.app.list' },
      Date.now(),
    );
    await node.rpc(
      'admin.app.put',
      { platform: 'wechat_app', codeName: 'shop', config: { appId: APP, secret: 'console-secret-2' } },
      admin,
    );
    await node.rpc(
      'admin.app.put',
      {
        platform: 'wechat_tp',
        codeName: 'tp',
        config: { appId: COMPONENT, secret: 'component-secret-7', token: TOKEN, aesKey: AES },
      },
      admin,
    );
    expect((await node.rpc('wechat.app.token', { codeName: 'shop' }, admin)).returnCode).to.equal(0);
    // a third-party platform with one authorizer, authorized by push
    wx.acceptTicket(COMPONENT, 'ticket@@@c');
    const pushes: Record<string, string | number>[] = [
      { AppId: COMPONENT, CreateTime: 1, InfoType: 'component_verify_ticket', ComponentVerifyTicket: 'ticket@@@c' },
      {
        AppId: COMPONENT,
        CreateTime: 2,
        InfoType: 'authorized',
        AuthorizerAppid: AUTHORIZER,
        AuthorizationCode: wx.authorizationCode(COMPONENT, AUTHORIZER),
      },
    ];
    for (const fields of pushes) {
      const p = signedPush(TOKEN, AES, COMPONENT, xml(fields));
      const res = await fetch(`${node.url}/wechat-tp/tp/events?${p.query}`, { method: 'POST', body: p.body });
      expect(await res.text()).to.equal('success');
    }
    page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
  });
  after(async () => {
    receiver?.close();
    await browser?.close();
    await node?.close();
    await fake?.stop();
  });

  it('serves the page with a strict Content-Security-Policy; the built assets stay under 200 KB gzipped', async () => {
    const res = await fetch(`${node.url}/console/`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-security-policy'))
      .to.include("default-src 'self'")
      .and.include("frame-ancestors 'none'");
    const zlib = await import('node:zlib');
    let gz = 0;
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        if (e.isDirectory()) walk(f);
        else gz += zlib.gzipSync(fs.readFileSync(f)).length;
      }
    };
    walk(consoleDir()!);
    expect(gz).to.be.below(200 * 1024);
    expect((await fetch(`${node.url}/console/assets/nope.js`)).status).to.equal(404);
  });

  it('sign-in: a wrong password is refused on the page; the right one opens the overview', async () => {
    await page.goto(`${node.url}/console/`);
    await page.waitForSelector('form[aria-label="Sign in"]');
    expect(await axe(page)).to.deep.equal([]);
    await shot(page, 'sign-in');
    await page.getByLabel('Operator', { exact: true }).fill('ops');
    await page.getByLabel('Password', { exact: true }).fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('[role="alert"]');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('h1:text("Overview")');
    await page.waitForSelector('.big:text("2")');
    // this node's platform calls (the token and the authorization above), with their error rate
    await page.waitForSelector('td:text("wechat")');
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'gh_console')).to.include({ httpOnly: true, sameSite: 'Strict' });
    // the session cookie is out of the page's reach
    expect(await page.evaluate(() => document.cookie)).to.equal('');
    expect(await axe(page)).to.deep.equal([]);
    await shot(page, 'overview');
  });

  it('keyboard: the skip link and every page link are reachable with Tab', async () => {
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal('Skip to content');
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      reached.push((await page.evaluate(() => document.activeElement?.textContent)) ?? '');
    }
    expect(reached).to.include.members(['Overview', 'Apps', 'Tokens', 'Third-party', 'Pushes', 'Callers', 'Audit log']);
  });

  it('apps: a new app from the form the kind schema generates; the secret field is a password field', async () => {
    await go('apps', 'Apps');
    await page.getByRole('button', { name: 'New app' }).click();
    await page.getByLabel('Platform', { exact: true }).selectOption('toutiao_app');
    await page.getByLabel('codeName', { exact: true }).fill('douyin');
    await page.getByLabel('appId *', { exact: true }).fill('tt00000000000077');
    expect(await page.getByLabel('secret *', { exact: true }).getAttribute('type')).to.equal('password');
    await page.getByLabel('secret *', { exact: true }).fill('toutiao-secret-77');
    await page.getByRole('button', { name: 'Save app' }).click();
    await page.waitForSelector('[role="status"]:text("douyin created.")');
    await page.waitForSelector('td:text("douyin")');
    // the form that stays open no longer holds the secret
    expect(await page.getByLabel('secret *', { exact: true }).inputValue()).to.equal('');
    const [row] = await node.db.query("SELECT app_id FROM apps WHERE code_name = 'douyin'");
    expect(row.app_id).to.equal('tt00000000000077');
    expect(await axe(page)).to.deep.equal([]);
    await shot(page, 'apps');
    // the secret never comes back to the browser
    await page.getByRole('button', { name: 'Edit douyin' }).click();
    // the edit form: its codeName cannot be changed
    await page.waitForSelector('form[aria-label="App config"] input[readonly]');
    expect(await page.getByLabel('secret *', { exact: true }).inputValue()).to.equal('');
    expect(await page.content()).to.not.include('toutiao-secret-77');
  });

  it('tokens: refresh now asks the platform once more; reveal shows the value (audited)', async () => {
    await go('tokens', 'Tokens');
    const before = fake.count('stable_token');
    await page.getByRole('button', { name: 'Refresh now shop access_token' }).click();
    await page.waitForSelector('[role="status"]:text("refreshed")');
    expect(fake.count('stable_token')).to.equal(before + 1);
    await page.getByRole('button', { name: 'Reveal shop access_token' }).click();
    await page.waitForSelector('code.secret');
    const value = await page.textContent('code.secret');
    const ref = { platform: 'wechat_app', codeName: 'shop', subject: APP, kind: 'access_token' };
    const t = await node.rpc('admin.token.reveal', ref, node.token('admin.token.reveal'));
    expect(value).to.equal(t.returnData.value);
    expect(await axe(page)).to.deep.equal([]);
    await page.evaluate(() => document.querySelectorAll('code.secret').forEach((c) => (c.textContent = '••••')));
    await shot(page, 'tokens');
  });

  it('third-party: the authorizers, and the authorization links for PC and mobile', async () => {
    await go('third-party', 'Third-party platforms');
    await page.waitForSelector(`code:text("${AUTHORIZER}")`);
    expect(await page.getByRole('link', { name: 'PC (scan)' }).getAttribute('href')).to.equal(
      '../wechat-tp/tp/authorize',
    );
    // and their QR codes, naming the absolute links
    await page.waitForSelector('img[alt="QR code of the PC authorization link"]');
    expect(await page.textContent('figure:has(img[alt="QR code of the PC authorization link"]) code')).to.equal(
      `${node.url}/wechat-tp/tp/authorize`,
    );
    expect(await page.getByRole('link', { name: 'mobile (link)' }).getAttribute('href')).to.equal(
      '../wechat-tp/tp/authorize?mode=link',
    );
    expect(await axe(page)).to.deep.equal([]);
    await shot(page, 'third-party');
  });

  it('releases: upload a template version, trial QR code, submit, status, release', async () => {
    await go('releases', 'Mini-program releases');
    await page.waitForSelector(`option:text("${AUTHORIZER}")`, { state: 'attached' });
    await page.getByLabel('Template', { exact: true }).selectOption('7');
    await page.getByLabel('Version', { exact: true }).fill('1.0.1');
    await page.getByLabel('Description', { exact: true }).fill('first release');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForSelector('[role="status"]:text("Version 1.0.1 uploaded")');
    expect(code.of('commit')).to.have.length(1);
    await page.getByRole('button', { name: 'Trial QR code' }).click();
    await page.waitForSelector(`img[alt="Trial version QR code of ${AUTHORIZER}"]`);
    await page.getByRole('button', { name: 'Submit for audit' }).click();
    await page.waitForSelector('[role="status"]:text("Submitted: audit")');
    code.decide(AUTHORIZER, 0);
    await page.getByRole('button', { name: 'Audit status' }).click();
    await page.waitForSelector('p[role="status"]:text("Audit status: success")');
    await page.getByRole('button', { name: 'Release' }).click();
    await page.waitForSelector('[role="status"]:text("Released.")');
    expect(code.of('release')).to.have.length(1);
    expect(await axe(page)).to.deep.equal([]);
    await shot(page, 'releases');
  });

  it('rules: a forwarding rule made on the page, and its test push delivered', async () => {
    await go('rules', 'Forwarding rules');
    const port = (receiver.address() as { port: number }).port;
    await page.getByLabel('Name', { exact: true }).fill('audits to ops');
    await page.getByLabel('Match infoType', { exact: true }).fill('weapp_audit_*');
    await page.getByLabel('Deliver to (URL)', { exact: true }).fill(`http://127.0.0.1:${port}/hook`);
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.waitForSelector('td:text("audits to ops")');
    await page.getByRole('button', { name: 'Send a test push to audits to ops' }).click();
    await page.waitForSelector('[role="status"]:text("Test push to audits to ops delivered (HTTP 200).")');
    expect(received).to.deep.equal(['1']);
    expect(await axe(page)).to.deep.equal([]);
    await shot(page, 'rules');
  });

  it('pushes: the push log, masked', async () => {
    await go('pushes', 'Pushes');
    await page.waitForSelector('td:text("component_verify_ticket")');
    await page.getByRole('button', { name: 'Show push 2' }).click();
    expect(await page.textContent('pre')).to.not.include('ticket@@@c');
    expect(await axe(page)).to.deep.equal([]);
    await shot(page, 'pushes');
  });

  it('callers: mint (shown once, it works), then revoke (refused at once)', async () => {
    await go('callers', 'Callers');
    await page.getByLabel('sub', { exact: true }).fill('svc-orders');
    await page.getByLabel('scope', { exact: true }).fill('wechat.app.token');
    await page.getByRole('button', { name: 'Mint' }).click();
    await page.waitForSelector('textarea#minted');
    const minted = await page.inputValue('textarea#minted');
    expect((await node.rpc('wechat.app.token', { codeName: 'shop' }, minted)).returnCode).to.equal(0);
    await page.evaluate(() => ((document.querySelector('textarea#minted') as HTMLTextAreaElement).value = '••••'));
    expect(await axe(page)).to.deep.equal([]);
    await shot(page, 'callers');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Revoke svc-orders' }).click();
    await page.waitForSelector('[role="status"]:text("svc-orders revoked.")');
    expect((await node.rpc('wechat.app.token', { codeName: 'shop' }, minted)).returnCode).to.equal(4001);
  });

  it('audit log: every write of this session, by console:ops', async () => {
    await go('audit', 'Audit log');
    for (const what of [
      'admin.app.put',
      'admin.token.refresh',
      'admin.token.reveal',
      'admin.caller.mint',
      'admin.caller.revoke',
    ])
      await page.waitForSelector(`code:text("${what}")`);
    const rows = (await node.rpc('admin.audit.list', { actor: 'console:ops' }, node.token('admin.*'))).returnData
      .entries;
    expect(rows.every((r: { via: string }) => r.via === 'console')).to.equal(true);
    expect(await axe(page)).to.deep.equal([]);
    await shot(page, 'audit');
  });

  it('sign-out ends the session: the page asks to sign in again and the old cookie is refused', async () => {
    const [cookie] = (await page.context().cookies()).filter((c) => c.name === 'gh_console');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('form[aria-label="Sign in"]');
    const me = await fetch(`${node.url}/console/api/session`, { headers: { cookie: `gh_console=${cookie.value}` } });
    expect(me.status).to.equal(401);
  });

  // pages × scopes: an operator sees what its scope covers, and every other page says so
  it('a reader (scope admin.app.list) sees the apps; every other page says its scope does not cover it', async () => {
    await page.getByLabel('Operator', { exact: true }).fill('reader');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // back on the page the address names (#/audit): deep links survive a sign-in
    await page.waitForSelector('h1:text("Audit log")');
    // what each page shows once loaded: [page, heading, what the reader's scope lets it see]
    const table: [string, string, string | null][] = [
      ['apps', 'Apps', 'td:text("shop")'],
      ['tokens', 'Tokens', null],
      ['pushes', 'Pushes', null],
      ['callers', 'Callers', null],
      ['rules', 'Forwarding rules', null],
      ['releases', 'Mini-program releases', null],
      ['overview', 'Overview', null],
      ['audit', 'Audit log', null],
      // the platforms are listed, their authorizers are not
      ['third-party', 'Third-party platforms', 'a:text("PC (scan)")'],
    ];
    const refusal = '[role="alert"]:has-text("scope does not cover")';
    for (const [hash, heading, shown] of table) {
      await go(hash, heading);
      if (shown) await page.waitForSelector(shown);
      if (shown && hash !== 'third-party') expect(await page.locator(refusal).count(), hash).to.equal(0);
      else await page.waitForSelector(refusal);
    }
    await go('apps', 'Apps');
    await page.getByRole('button', { name: 'Delete shop' }).isVisible();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete shop' }).click();
    await page.waitForSelector('[role="alert"]:has-text("scope does not cover")');
    expect(await node.db.query("SELECT 1 FROM apps WHERE code_name = 'shop'")).to.have.length(1);
  });
});
