import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { FakePlatform } from '../fake/platform';
import { FakeWechatTp } from '../fake/wechat-tp';
import { installWecomTp, type FakeWecomTp } from '../fake/wecom-tp';
import { CHROMIUM, launchChromium } from '../helpers/browser';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { signedPush, xml } from '../helpers/push';
import { skipBecause } from '../helpers/skip';

const SUITE = 'wwsuite0000000009';

const COMPONENT = 'wxcomponent000009';
const TOKEN = 'tok';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** The authorization pages as a browser sees them (headless Debian Chromium). */
describe('authorization pages in Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | null;
  let fake: FakePlatform;
  let wx: FakeWechatTp;
  let wc: FakeWecomTp;
  let node: TestNode;

  before(async function () {
    browser = await launchChromium();
    if (!browser) {
      skipBecause(this, `no Chromium at ${CHROMIUM}`, { fixable: 'chromium (apt-get install chromium; .ci/run does)' });
    }
    fake = await new FakePlatform().start();
    wx = new FakeWechatTp(fake);
    fake.app(COMPONENT, 's');
    wc = installWecomTp(fake);
    wc.suite(SUITE, 'suite-s');
    node = await startNode({
      dialect: 'sqlite',
      fake,
      env: { GATEHOUSE_WECHAT_MP: fake.url, GATEHOUSE_WECOM_OPEN: fake.url },
    });
    await node.rpc(
      'admin.app.put',
      {
        platform: 'wecom_tp',
        codeName: 'suite',
        config: { suiteId: SUITE, secret: 'suite-s', token: TOKEN, aesKey: AES },
      },
      node.token(),
    );
    const st = signedPush(
      TOKEN,
      AES,
      SUITE,
      xml({ SuiteId: SUITE, InfoType: 'suite_ticket', TimeStamp: 1, SuiteTicket: wc.ticket(SUITE) }),
    );
    expect(
      await (await fetch(`${node.url}/wecom-tp/suite/events?${st.query}`, { method: 'POST', body: st.body })).text(),
    ).to.equal('success');
    await node.rpc(
      'admin.app.put',
      { platform: 'wechat_tp', codeName: 'tp', config: { appId: COMPONENT, secret: 's', token: TOKEN, aesKey: AES } },
      node.token(),
    );
    // gatehouse must have its component_verify_ticket before it can make pre_auth_codes
    wx.acceptTicket(COMPONENT, 'ticket@@@b');
    const p = signedPush(
      TOKEN,
      AES,
      COMPONENT,
      xml({
        AppId: COMPONENT,
        CreateTime: 1,
        InfoType: 'component_verify_ticket',
        ComponentVerifyTicket: 'ticket@@@b',
      }),
    );
    expect(
      await (await fetch(`${node.url}/wechat-tp/tp/events?${p.query}`, { method: 'POST', body: p.body })).text(),
    ).to.equal('success');
  });
  after(async () => {
    await browser?.close();
    await node?.close();
    await fake?.stop();
  });

  for (const [mode, path] of [
    ['scan', '/cgi-bin/componentloginpage'],
    ['link', '/safe/bindcomponent'],
  ] as const) {
    it(`WeChat ${mode}: the page lands on ${path} with component_appid, a fresh pre_auth_code and the redirect_uri`, async () => {
      const page = await browser!.newPage();
      try {
        await page.goto(`${node.url}/wechat-tp/tp/authorize?mode=${mode}`);
        await page.waitForURL((u) => u.pathname === path, { timeout: 10_000 });
        const u = new URL(page.url());
        expect(`${u.origin}`).to.equal(fake.url);
        expect(u.searchParams.get('component_appid')).to.equal(COMPONENT);
        expect(u.searchParams.get('pre_auth_code')).to.match(/^preauthcode@@@[0-9a-f]+$/);
        // the page's single-use state nonce rides in redirect_uri (§7 trust)
        const redirect = new URL(u.searchParams.get('redirect_uri')!);
        expect(`${redirect.origin}${redirect.pathname}`).to.equal('http://localhost:4236/wechat-tp/tp/authorized');
        expect(redirect.searchParams.get('state')).to.match(/^[0-9a-f]{32}$/);
        expect(await page.textContent('#valid')).to.equal('valid');
        // WeChat's redirect keeps that query and appends auth_code
        const back = new URL((await page.getAttribute('#approve', 'href'))!);
        expect(back.searchParams.get('state')).to.equal(redirect.searchParams.get('state'));
        expect(back.searchParams.get('auth_code')).to.match(/^queryauthcode@@@/);
      } finally {
        await page.close();
      }
    });
  }

  it('WeCom: the install page lands on /3rdapp/install with suite_id, a fresh pre_auth_code, redirect_uri and a state nonce', async () => {
    const page = await browser!.newPage();
    try {
      await page.goto(`${node.url}/wecom-tp/suite/install?state=shop42`);
      await page.waitForURL((u) => u.pathname === '/3rdapp/install', { timeout: 10_000 });
      const u = new URL(page.url());
      expect(u.origin).to.equal(fake.url);
      expect(u.searchParams.get('suite_id')).to.equal(SUITE);
      expect(wc.preAuthOf(u.searchParams.get('pre_auth_code') ?? '')).to.equal(SUITE);
      expect(u.searchParams.get('redirect_uri')).to.equal('http://localhost:4236/wecom-tp/suite/installed');
      // WeCom gets the page's single-use nonce; the caller's state (shop42) is bound to it in the store
      expect(u.searchParams.get('state')).to.match(/^[0-9a-f]{32}$/);
      expect(await page.textContent('#suite')).to.equal(SUITE);
      expect(await page.textContent('#state')).to.equal(u.searchParams.get('state'));
    } finally {
      await page.close();
    }
  });
});
