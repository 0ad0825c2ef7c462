import crypto from 'node:crypto';
import type http from 'node:http';
import { ISSUED_SECRETS, registerSecret, type FakePlatform } from './platform';

/**
 * WeCom third-party suite service API (qyapi /cgi-bin/service/*) on a FakePlatform, with the
 * platform's shapes and errcodes:
 *   - get_suite_token {suite_id, suite_secret, suite_ticket}: 40083 unknown suite, 40080 wrong
 *     secret, 40085 a suite_ticket the fake never minted (`ticket()`); a new token per call
 *   - get_pre_auth_code, get_permanent_code, get_corp_token take ?suite_access_token=: 42009 when it
 *     expired, 40082 when it was never issued or is not a suite token (a corp or app token)
 *   - get_permanent_code {auth_code}: a code from `authCode()` works once (then 40078, as does an
 *     unknown one); each exchange mints a new permanent code for the corp (the old one stops working)
 *   - get_corp_token {auth_corpid, permanent_code}: 40084 unless it is the corp's current code
 *   - every API counts calls (`fake.count(api)`, `fake.count(api, suiteId or corpId)`) and honours
 *     `fake.mode(api, …)`
 *   - GET /3rdapp/install: the install page (HTML naming suite_id, pre_auth_code, redirect_uri,
 *     state); its `#approve` link is WeCom's redirect after the admin of `approveAs` installed:
 *     redirect_uri with a fresh auth_code, expires_in and the state exactly as given
 */
export class FakeWecomTp {
  private readonly suites = new Map<string, string>();
  private readonly tickets = new Map<string, string>();
  private readonly codes = new Map<string, { suiteId: string; corpId: string; corpName: string }>();
  private readonly used = new Set<string>();
  private readonly permanent = new Map<string, string>();
  private readonly preAuth = new Map<string, string>();
  /** the corp whose admin installs the suite on the fake install page */
  approveAs = 'wwcorp000000000c1';

  constructor(private readonly fake: FakePlatform) {
    const post = (
      api: string,
      handler: (q: URLSearchParams, b: Record<string, unknown>, res: http.ServerResponse) => Promise<void> | void,
    ) =>
      fake.route(`/cgi-bin/service/${api}`, async (u, body, res) => {
        let b: Record<string, unknown> = {};
        if (body) {
          try {
            b = JSON.parse(body) as Record<string, unknown>;
          } catch {
            return fake.json(res, { errcode: 47001, errmsg: 'data format error' });
          }
        }
        return handler(u.searchParams, b, res);
      });
    post('get_suite_token', (_q, b, res) => this.suiteToken(b, res));
    post('get_pre_auth_code', (q, _b, res) => this.preAuthCode(q, res));
    post('get_permanent_code', (q, b, res) => this.exchange(q, b, res));
    post('get_corp_token', (q, b, res) => this.corpToken(q, b, res));
    fake.route('/3rdapp/install', (u, _body, res) => {
      const p = u.searchParams;
      fake.hit('install_page', p.get('suite_id'));
      const suiteId = p.get('suite_id') ?? '';
      let approve = '';
      try {
        const back = new URL(p.get('redirect_uri') ?? '');
        if (this.preAuth.get(p.get('pre_auth_code') ?? '') === suiteId) {
          back.searchParams.set('auth_code', this.authCode(suiteId, this.approveAs));
          back.searchParams.set('expires_in', '1200');
          back.searchParams.set('state', p.get('state') ?? '');
          approve = back.toString();
        }
      } catch {
        approve = '';
      }
      const esc = (v: string | null) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>WeCom install</title><p id="suite">${esc(suiteId)}</p><p id="pre">${esc(p.get('pre_auth_code'))}</p><p id="redirect">${esc(p.get('redirect_uri'))}</p><p id="state">${esc(p.get('state'))}</p><a id="approve" href="${esc(approve)}">安装 install</a>`,
      );
    });
  }

  /** registers a suite and its secret */
  suite(suiteId: string, secret: string): void {
    registerSecret(secret);
    this.suites.set(suiteId, secret);
  }

  /** a suite_ticket WeCom would push for the suite (every one minted stays valid) */
  ticket(suiteId: string): string {
    const t = `st_${crypto.randomBytes(12).toString('hex')}`;
    ISSUED_SECRETS.add(t);
    this.tickets.set(t, suiteId);
    return t;
  }

  /** a temporary auth code, as an install (create_auth) or a reset (reset_permanent_code) hands out */
  authCode(suiteId: string, corpId: string, corpName = `corp ${corpId}`): string {
    const code = `ac_${crypto.randomBytes(12).toString('hex')}`;
    ISSUED_SECRETS.add(code);
    this.codes.set(code, { suiteId, corpId, corpName });
    return code;
  }

  /** the corp's current permanent code (undefined before an exchange or after `revoke`) */
  permanentCode(suiteId: string, corpId: string): string | undefined {
    return this.permanent.get(`${suiteId}:${corpId}`);
  }

  /** the corp uninstalled the suite: its permanent code stops working */
  revoke(suiteId: string, corpId: string): void {
    this.permanent.delete(`${suiteId}:${corpId}`);
  }

  /** whether a pre_auth_code was issued for the suite */
  preAuthOf(code: string): string | undefined {
    return this.preAuth.get(code);
  }

  /** the suite a live suite_access_token belongs to, or an errcode */
  private suiteOf(q: URLSearchParams): { suiteId: string } | { errcode: number; errmsg: string } {
    const token = q.get('suite_access_token') ?? '';
    const m = /^SUITE_([^_]+)_[0-9a-f]+$/.exec(token);
    if (!m) return { errcode: 40082, errmsg: 'invalid suite_token' };
    const held = this.fake.tokenOf(token);
    if (!held) return { errcode: 42009, errmsg: 'suite_token expired' };
    if (held.kind !== 'SUITE') return { errcode: 40082, errmsg: 'invalid suite_token' };
    return { suiteId: held.owner };
  }

  private async suiteToken(b: Record<string, unknown>, res: http.ServerResponse): Promise<void> {
    const suiteId = String(b.suite_id ?? '');
    this.fake.hit('get_suite_token', suiteId);
    if (await this.fake.misbehave('get_suite_token', res)) return;
    const secret = this.suites.get(suiteId);
    if (secret === undefined) return this.fake.json(res, { errcode: 40083, errmsg: 'invalid suiteid' });
    if (b.suite_secret !== secret) return this.fake.json(res, { errcode: 40080, errmsg: 'invalid suitesecret' });
    if (this.tickets.get(String(b.suite_ticket ?? '')) !== suiteId)
      return this.fake.json(res, { errcode: 40085, errmsg: 'invalid suite_ticket' });
    const t = this.fake.issue('SUITE', suiteId, false);
    this.fake.json(res, { errcode: 0, errmsg: 'ok', suite_access_token: t.value, expires_in: t.expiresIn });
  }

  private async preAuthCode(q: URLSearchParams, res: http.ServerResponse): Promise<void> {
    const s = this.suiteOf(q);
    this.fake.hit('get_pre_auth_code', 'suiteId' in s ? s.suiteId : undefined);
    if (await this.fake.misbehave('get_pre_auth_code', res)) return;
    if (!('suiteId' in s)) return this.fake.json(res, s);
    const code = `pre_${crypto.randomBytes(12).toString('hex')}`;
    ISSUED_SECRETS.add(code);
    this.preAuth.set(code, s.suiteId);
    this.fake.json(res, { errcode: 0, errmsg: 'ok', pre_auth_code: code, expires_in: 1200 });
  }

  private async exchange(q: URLSearchParams, b: Record<string, unknown>, res: http.ServerResponse): Promise<void> {
    const s = this.suiteOf(q);
    this.fake.hit('get_permanent_code', 'suiteId' in s ? s.suiteId : undefined);
    if (await this.fake.misbehave('get_permanent_code', res)) return;
    if (!('suiteId' in s)) return this.fake.json(res, s);
    const code = String(b.auth_code ?? '');
    const c = this.codes.get(code);
    if (!c || c.suiteId !== s.suiteId || this.used.has(code))
      return this.fake.json(res, { errcode: 40078, errmsg: 'invalid auth_code' });
    this.used.add(code);
    const permanent = `pc_${crypto.randomBytes(16).toString('hex')}`;
    ISSUED_SECRETS.add(permanent);
    this.permanent.set(`${s.suiteId}:${c.corpId}`, permanent);
    const t = this.fake.issue('CORP', `${s.suiteId}.${c.corpId}`, false);
    this.fake.json(res, {
      errcode: 0,
      errmsg: 'ok',
      access_token: t.value,
      expires_in: t.expiresIn,
      permanent_code: permanent,
      auth_corp_info: {
        corpid: c.corpId,
        corp_name: c.corpName,
        corp_type: 'verified',
        corp_square_logo_url: 'https://example.com/logo.png',
        corp_user_max: 50,
        subject_type: 1,
      },
      auth_info: {
        agent: [
          {
            agentid: 1000012,
            name: 'suite app',
            privilege: { level: 1, allow_party: [1], allow_user: [], allow_tag: [] },
          },
        ],
      },
      auth_user_info: { userid: 'admin', open_userid: 'wo_admin', name: 'Admin' },
    });
  }

  private async corpToken(q: URLSearchParams, b: Record<string, unknown>, res: http.ServerResponse): Promise<void> {
    const s = this.suiteOf(q);
    const corpId = String(b.auth_corpid ?? '');
    this.fake.hit('get_corp_token', corpId);
    if (await this.fake.misbehave('get_corp_token', res)) return;
    if (!('suiteId' in s)) return this.fake.json(res, s);
    const current = this.permanent.get(`${s.suiteId}:${corpId}`);
    if (!current || b.permanent_code !== current)
      return this.fake.json(res, { errcode: 40084, errmsg: 'invalid permanent_code' });
    const t = this.fake.issue('CORP', `${s.suiteId}.${corpId}`, false);
    this.fake.json(res, { errcode: 0, errmsg: 'ok', access_token: t.value, expires_in: t.expiresIn });
  }
}

/** adds the WeCom suite service API to a fake platform */
export function installWecomTp(fake: FakePlatform): FakeWecomTp {
  return new FakeWecomTp(fake);
}
