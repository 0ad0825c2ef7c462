/**
 * /metrics lists codeNames, appIds and authorizers: without GATEHOUSE_METRICS_TOKEN it answers
 * only loopback clients, decided on the socket's address, never on X-Forwarded-For (§7 trust).
 */
import { expect } from 'chai';
import { isLoopback, metricsAccess } from '../../system/server';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { externalAddress } from '../helpers/net';
import { skipBecause } from '../helpers/skip';

describe('/metrics access decision', () => {
  const loopback = ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::ffff:127.9.9.9'];
  const remote = [
    '10.0.0.5',
    '192.168.1.2',
    '::ffff:10.0.0.5',
    '2001:db8::1',
    '128.0.0.1',
    '::ffff:128.0.0.1',
    '::2',
    '0.0.0.0',
    '',
    undefined,
    '127.0.0.1.evil',
    'fe80::1',
  ];
  for (const a of loopback) it(`${a} is loopback`, () => expect(isLoopback(a)).to.equal(true));
  for (const a of remote) it(`${String(a)} is not loopback`, () => expect(isLoopback(a)).to.equal(false));

  const table: Array<[string, Parameters<typeof metricsAccess>[0], ReturnType<typeof metricsAccess>]> = [
    ['loopback, no token configured', { remoteAddress: '127.0.0.1', headers: {} }, 'ok'],
    ['IPv6 loopback, no token configured', { remoteAddress: '::1', headers: {} }, 'ok'],
    ['remote, no token configured', { remoteAddress: '10.1.2.3', headers: {} }, 'forbidden'],
    [
      'remote claiming loopback in X-Forwarded-For',
      { remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': '127.0.0.1' } },
      'forbidden',
    ],
    [
      'loopback proxy forwarding a client (X-Forwarded-For)',
      { remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.9' } },
      'forbidden',
    ],
    [
      'loopback proxy forwarding a client (Forwarded)',
      { remoteAddress: '127.0.0.1', headers: { forwarded: 'for=203.0.113.9' } },
      'forbidden',
    ],
    [
      'loopback proxy forwarding a client (X-Real-IP)',
      { remoteAddress: '::1', headers: { 'x-real-ip': '203.0.113.9' } },
      'forbidden',
    ],
    ['token configured, none given', { remoteAddress: '127.0.0.1', headers: {}, token: 'scrape' }, 'unauthenticated'],
    [
      'token configured, wrong one',
      { remoteAddress: '127.0.0.1', headers: { authorization: 'Bearer nope' }, token: 'scrape' },
      'unauthenticated',
    ],
    [
      'token configured, right one from anywhere',
      {
        remoteAddress: '10.1.2.3',
        headers: { authorization: 'Bearer scrape', 'x-forwarded-for': '1.2.3.4' },
        token: 'scrape',
      },
      'ok',
    ],
  ];
  for (const [what, input, want] of table) it(`${what} → ${want}`, () => expect(metricsAccess(input)).to.equal(want));
});

describe('/metrics over the network', () => {
  let node: TestNode;
  const ip = externalAddress();
  before(async () => {
    node = await startNode({ dialect: 'sqlite', env: { GATEHOUSE_HOST: '0.0.0.0' } });
  });
  after(async () => node?.close());

  it('answers a loopback client', async () => {
    const res = await fetch(`http://127.0.0.1:${node.gh.port}/metrics`);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.include('gatehouse_');
  });

  it('refuses a non-loopback client with 403 and lists nothing', async function () {
    if (!ip) skipBecause(this, 'this machine has no non-loopback IPv4 address to call from');
    const res = await fetch(`http://${ip}:${node.gh.port}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1' } });
    expect(res.status).to.equal(403);
    expect(await res.json()).to.deep.equal({ returnCode: 4003, returnMessage: 'FORBIDDEN' });
  });

  it('refuses a loopback reverse proxy that forwards a client', async () => {
    const res = await fetch(`http://127.0.0.1:${node.gh.port}/metrics`, {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(res.status).to.equal(403);
  });

  it('with GATEHOUSE_METRICS_TOKEN a non-loopback scraper gets in with the token only', async function () {
    if (!ip) skipBecause(this, 'this machine has no non-loopback IPv4 address to call from');
    const withToken = await startNode({
      dialect: 'sqlite',
      env: { GATEHOUSE_HOST: '0.0.0.0', GATEHOUSE_METRICS_TOKEN: 'scrape-me' },
    });
    try {
      const url = `http://${ip}:${withToken.gh.port}/metrics`;
      expect((await fetch(url)).status).to.equal(401);
      const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-me' } });
      expect(ok.status).to.equal(200);
    } finally {
      await withToken.close();
    }
  });
});
