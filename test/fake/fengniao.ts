import crypto from 'node:crypto';
import type http from 'node:http';
import { ISSUED_SECRETS, registerSecret, type FakePlatform } from './platform';
import { FENGNIAO_CODES } from '../../application/platforms/fengniao/service';

/** Fengniao's answer codes: the one place gatehouse's assumption about them is written down */
export const FN = FENGNIAO_CODES;

/** the business APIs (`/anubis-webapi/v3/invoke/{api}`) the fake knows */
export const INVOKE_APIS = [
  'getAmount',
  'preCreateOrder',
  'createOrder',
  'getOrderDetail',
  'cancelOrder',
  'chainstoreQuery',
];

// the fake's own SHA-256 signing (PROTOCOL.md §7), independent of gatehouse's code
const sha256 = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

interface Merchant {
  accessToken: string;
  atExpiresAt: number;
  refreshToken: string;
  rtExpiresAt: number;
}

export interface InvokeSeen {
  api: string;
  /** the JSON body gatehouse posted */
  payload: Record<string, unknown>;
  /** the exact text the fake answered */
  reply: string;
}

/**
 * Fengniao (蜂鸟, Ele.me "anubis" open platform v3) on a FakePlatform:
 *   - POST /anubis-webapi/openapi/token {grant_type: authorization_code, code, app_id, merchant_id,
 *     timestamp, signature} (JSON or form): a code from `authCode()` works once (then A0003); also
 *     takes the refresh_token grant, as /anubis-webapi/openapi/refreshToken does {grant_type:
 *     refresh_token, app_id, merchant_id, refresh_token, timestamp, signature}: only the merchant's
 *     current, unexpired refresh token (else A0007); a refresh rotates both tokens (the old access
 *     token stops working)
 *   - POST /anubis-webapi/v3/invoke/{api} {app_id, merchant_id, timestamp, version: "1.0",
 *     access_token, business_data (a string), signature}: the merchant's current access token (else
 *     A0005, expired A0006); answers {code, msg, sign, business_data: {api, received}} unless
 *     `invokeReply` says otherwise; every call is kept in `invokes`
 *   - every signature is verified (SHA-256 rules of PROTOCOL.md §7; wrong → A0002), timestamps must be
 *     epoch ms within 10 minutes of now (else A0001)
 *   - replies are `{code: "200", msg, sign, business_data}` with business_data a JSON string
 *     (`businessDataAsObject`: an object) and expire_in / re_expire_in numbers (`numbersAsStrings`:
 *     numeric strings)
 *   - counts: fake.count('fengniao_token' | 'fengniao_refresh' | 'fengniao_invoke', merchantId),
 *     fake.count('fengniao_app_auth', appId); fake.mode(those, …) makes them misbehave
 *   - GET /app-auth?app_id=&dev_id=&state=: the authorization page (HTML naming them); the state is
 *     kept, and `callbackBody()` builds the auth-callback Fengniao then posts (server-to-server):
 *     {code, merchant_id, scope, state} with the state of the page the merchant approved on
 */
export class FakeFengniao {
  /** access token lifetime, seconds (Fengniao: 365 days) */
  atLifetimeS = 365 * 86_400;
  /** refresh token lifetime, seconds (Fengniao: 365 + 7 days) */
  rtLifetimeS = 372 * 86_400;
  businessDataAsObject = false;
  numbersAsStrings = false;
  /** replaces the business_data of successful invoke answers */
  invokeReply?: (api: string, businessData: string) => { code: string; msg: string; business_data?: unknown };
  readonly invokes: InvokeSeen[] = [];
  private readonly secrets = new Map<string, string>();
  private readonly codes = new Map<string, { appId: string; merchantId: string }>();
  private readonly used = new Set<string>();
  private readonly merchants = new Map<string, Merchant>();
  /** app_id → the state of the last authorization page opened */
  private readonly states = new Map<string, string>();

  constructor(private readonly fake: FakePlatform) {
    fake.route('/anubis-webapi/openapi/token', (_u, body, res, req) => this.token('fengniao_token', body, res, req));
    fake.route('/anubis-webapi/openapi/refreshToken', (_u, body, res, req) =>
      this.token('fengniao_refresh', body, res, req),
    );
    for (const api of INVOKE_APIS)
      fake.route(`/anubis-webapi/v3/invoke/${api}`, (_u, body, res) => this.invoke(api, body, res));
    fake.route('/app-auth', (u, _body, res) => {
      const p = u.searchParams;
      fake.hit('fengniao_app_auth', p.get('app_id'));
      if (p.get('state') !== null) this.states.set(String(p.get('app_id')), String(p.get('state')));
      const esc = (s: string | null) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>蜂鸟开放平台授权</title><p id="app">${esc(p.get('app_id'))}</p><p id="dev">${esc(p.get('dev_id'))}</p><p id="state">${esc(p.get('state'))}</p>`,
      );
    });
  }

  /** registers an app and its secret */
  app(appId: string, secret: string): void {
    registerSecret(secret);
    this.secrets.set(appId, secret);
  }

  /** the code Fengniao hands to the auth callback when a merchant authorizes the app */
  authCode(appId: string, merchantId: string): string {
    const code = `fncode_${crypto.randomBytes(10).toString('hex')}`;
    ISSUED_SECRETS.add(code);
    this.codes.set(code, { appId, merchantId });
    return code;
  }

  /**
   * The auth-callback Fengniao posts once the merchant approved on the last /app-auth page opened
   * for the app: a fresh code, the merchant, and that page's state echoed (none when no page was opened).
   */
  callbackBody(appId: string, merchantId: string): Record<string, string> {
    const body: Record<string, string> = {
      code: this.authCode(appId, merchantId),
      merchant_id: merchantId,
      scope: 'all',
    };
    const state = this.states.get(appId);
    if (state !== undefined) body.state = state;
    return body;
  }

  merchant(appId: string, merchantId: string): Merchant | undefined {
    return this.merchants.get(`${appId}:${merchantId}`);
  }

  /** the merchant's access token stops working (as after a refresh elsewhere) */
  revokeAccessToken(appId: string, merchantId: string): void {
    const m = this.merchant(appId, merchantId);
    if (m) m.accessToken = `revoked_${crypto.randomBytes(6).toString('hex')}`;
  }

  /** the merchant's refresh token stops working (authorization cancelled or expired) */
  revokeRefreshToken(appId: string, merchantId: string): void {
    const m = this.merchant(appId, merchantId);
    if (m) m.refreshToken = `revoked_${crypto.randomBytes(6).toString('hex')}`;
  }

  /** whether this access token is the merchant's current, unexpired one */
  isLive(appId: string, merchantId: string, accessToken: string): boolean {
    const m = this.merchant(appId, merchantId);
    return !!m && m.accessToken === accessToken && m.atExpiresAt > Date.now();
  }

  private reply(res: http.ServerResponse, code: string, msg: string, businessData?: unknown, secret = ''): string {
    const bd =
      businessData === undefined
        ? ''
        : this.businessDataAsObject || typeof businessData === 'string'
          ? businessData
          : JSON.stringify(businessData);
    const body = {
      code,
      msg,
      sign: sha256(`${secret}${typeof bd === 'string' ? bd : JSON.stringify(bd)}`),
      business_data: bd,
    };
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8', 'x-fake-platform': 'fengniao' });
    res.end(text);
    return text;
  }

  private parse(body: string, req: http.IncomingMessage): Record<string, unknown> | null {
    if (/x-www-form-urlencoded/i.test(String(req.headers['content-type'])))
      return Object.fromEntries(new URLSearchParams(body));
    try {
      const v = JSON.parse(body) as unknown;
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }

  private freshTimestamp(ts: unknown): boolean {
    return typeof ts === 'string' && /^\d{13}$/.test(ts) && Math.abs(Date.now() - Number(ts)) < 600_000;
  }

  private issue(appId: string, merchantId: string): Merchant {
    const now = Date.now();
    const m: Merchant = {
      accessToken: `fnat_${merchantId}_${crypto.randomBytes(12).toString('hex')}`,
      atExpiresAt: now + this.atLifetimeS * 1000,
      refreshToken: `fnrt_${merchantId}_${crypto.randomBytes(12).toString('hex')}`,
      rtExpiresAt: now + this.rtLifetimeS * 1000,
    };
    ISSUED_SECRETS.add(m.accessToken).add(m.refreshToken);
    this.merchants.set(`${appId}:${merchantId}`, m);
    return m;
  }

  private grantData(appId: string, merchantId: string, m: Merchant): Record<string, unknown> {
    const n = (v: number) => (this.numbersAsStrings ? String(v) : v);
    return {
      app_id: appId,
      merchant_id: merchantId,
      access_token: m.accessToken,
      refresh_token: m.refreshToken,
      expire_in: n(this.atLifetimeS),
      re_expire_in: n(this.rtLifetimeS),
    };
  }

  private async token(
    api: 'fengniao_token' | 'fengniao_refresh',
    body: string,
    res: http.ServerResponse,
    req: http.IncomingMessage,
  ): Promise<void> {
    const b = this.parse(body, req);
    const appId = String(b?.app_id ?? '');
    const merchantId = String(b?.merchant_id ?? '');
    const grant = String(b?.grant_type ?? '');
    this.fake.hit(grant === 'refresh_token' ? 'fengniao_refresh' : api, merchantId);
    if (await this.fake.misbehave(grant === 'refresh_token' ? 'fengniao_refresh' : api, res)) return;
    const secret = this.secrets.get(appId);
    if (!b || secret === undefined || !merchantId)
      return void this.reply(res, FN.PARAM_ERROR, 'app_id or merchant_id invalid');
    if (!this.freshTimestamp(b.timestamp)) return void this.reply(res, FN.PARAM_ERROR, 'timestamp invalid');
    const ts = String(b.timestamp);
    const sig = String(b.signature ?? '');
    if (grant === 'authorization_code' && api === 'fengniao_token') {
      const code = String(b.code ?? '');
      if (
        sig !==
        sha256(
          `${secret}app_id=${appId}&code=${code}&grant_type=authorization_code&merchant_id=${merchantId}&timestamp=${ts}`,
        )
      ) {
        return void this.reply(res, FN.SIGN_ERROR, 'signature error');
      }
      const c = this.codes.get(code);
      if (!c || this.used.has(code) || c.appId !== appId || c.merchantId !== merchantId)
        return void this.reply(res, FN.CODE_INVALID, 'code invalid or used');
      this.used.add(code);
      return void this.reply(
        res,
        FN.OK,
        'success',
        this.grantData(appId, merchantId, this.issue(appId, merchantId)),
        secret,
      );
    }
    if (grant === 'refresh_token') {
      const rt = String(b.refresh_token ?? '');
      if (
        sig !==
        sha256(
          `${secret}app_id=${appId}&grant_type=refresh_token&merchant_id=${merchantId}&refresh_token=${rt}&timestamp=${ts}`,
        )
      ) {
        return void this.reply(res, FN.SIGN_ERROR, 'signature error');
      }
      const m = this.merchant(appId, merchantId);
      if (!m || m.refreshToken !== rt || m.rtExpiresAt <= Date.now())
        return void this.reply(res, FN.REFRESH_TOKEN_INVALID, 'refresh_token invalid or expired');
      return void this.reply(
        res,
        FN.OK,
        'success',
        this.grantData(appId, merchantId, this.issue(appId, merchantId)),
        secret,
      );
    }
    this.reply(res, FN.PARAM_ERROR, 'grant_type invalid');
  }

  private async invoke(api: string, body: string, res: http.ServerResponse): Promise<void> {
    let b: Record<string, unknown> | null = null;
    try {
      b = JSON.parse(body) as Record<string, unknown>;
    } catch {
      b = null;
    }
    const appId = String(b?.app_id ?? '');
    const merchantId = String(b?.merchant_id ?? '');
    this.fake.hit('fengniao_invoke', merchantId);
    if (await this.fake.misbehave('fengniao_invoke', res)) return;
    const seen: InvokeSeen = { api, payload: b ?? {}, reply: '' };
    this.invokes.push(seen);
    const secret = this.secrets.get(appId);
    const bd = b?.business_data;
    if (!b || secret === undefined || !merchantId || b.version !== '1.0' || typeof bd !== 'string') {
      seen.reply = this.reply(res, FN.PARAM_ERROR, 'param error');
      return;
    }
    if (!this.freshTimestamp(b.timestamp)) {
      seen.reply = this.reply(res, FN.PARAM_ERROR, 'timestamp invalid');
      return;
    }
    const at = String(b.access_token ?? '');
    const want = sha256(
      `${secret}access_token=${at}&app_id=${appId}&business_data=${bd}&merchant_id=${merchantId}&timestamp=${String(b.timestamp)}&version=1.0`,
    );
    if (b.signature !== want) {
      seen.reply = this.reply(res, FN.SIGN_ERROR, 'signature error');
      return;
    }
    const m = this.merchant(appId, merchantId);
    if (!m || m.accessToken !== at) {
      seen.reply = this.reply(res, FN.ACCESS_TOKEN_INVALID, 'access_token invalid');
      return;
    }
    if (m.atExpiresAt <= Date.now()) {
      seen.reply = this.reply(res, FN.ACCESS_TOKEN_EXPIRED, 'access_token expired');
      return;
    }
    const custom = this.invokeReply?.(api, bd);
    if (custom) {
      seen.reply = this.reply(res, custom.code, custom.msg, custom.business_data, secret);
      return;
    }
    let received: unknown = bd;
    try {
      received = JSON.parse(bd);
    } catch {
      // echoed as the string it is
    }
    seen.reply = this.reply(res, FN.OK, 'success', { api, received }, secret);
  }
}
