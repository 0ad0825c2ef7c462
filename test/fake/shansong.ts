import crypto from 'node:crypto';
import type http from 'node:http';
import { ISSUED_SECRETS, registerSecret, type FakePlatform } from './platform';

/** the developer APIs the fake knows (`/openapi/developer/v5/{name}`) */
export const DEVELOPER_APIS = [
  'openCitiesLists',
  'orderCalculate',
  'orderPlace',
  'orderInfo',
  'abortOrder',
  'queryAllStores',
];

/** what the fake answers; Shansong's own numbers for these were not found, so these are the fake's */
export const SS_ERRORS = {
  badSign: { status: 400, msg: 'sign校验失败' },
  badClient: { status: 400, msg: 'clientId不存在' },
  badParams: { status: 400, msg: '参数错误' },
  badCode: { status: 400, msg: 'code无效或已过期' },
  badAccessToken: { status: 401, msg: 'accessToken无效或已过期' },
  badRefreshToken: { status: 401, msg: 'refreshToken无效或已过期' },
};

export interface DeveloperCall {
  api: string;
  /** the form fields as received */
  form: Record<string, string>;
  /** the query string as received ('' or '?…') */
  search: string;
  contentType: string;
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Shansong (闪送) open platform on a FakePlatform, speaking form-urlencoded in and
 * `{"status","msg","data"}` out, with the platform's field names:
 *   - GET /auth?response_type=code&client_id=&scope=shop_open_api&redirect_uri=&state= — the
 *     authorization page: HTML whose `#approve` link goes back to redirect_uri with a fresh one-time
 *     `code` for the merchant who logged in (`loginAs`) and the `state` exactly as given
 *   - POST /openapi/oauth/token (clientId, code; unsigned) → data {access_token, refresh_token, expires_in}
 *   - POST /openapi/oauth/refresh_token (clientId, timestamp, sign, data {"refreshToken"}) — signature
 *     verified; the refresh token must be the merchant's current one (else 401); a new access token
 *     and (with `rotate`) a new refresh token, the old one stops working
 *   - POST /openapi/developer/v5/{api} (clientId, accessToken, timestamp, sign, data?) — signature
 *     verified, the access token must be live and the client's (else 401); the call is recorded in
 *     `calls` and answered with a fixed body (echoing `data`) and an `x-shansong-trace` header
 *   - every API counts calls (`fake.count('oauth_token' | 'oauth_refresh_token' | 'developer' |
 *     'developer/<api>' | 'auth_page')`) and honours `fake.mode(api, …)`; a signature is compared
 *     case-insensitively, as the platform documents upper-case hex
 */
export class FakeShansong {
  private readonly clients = new Map<string, string>();
  private readonly codes = new Map<string, { clientId: string; merchant: string }>();
  private readonly usedCodes = new Set<string>();
  /** `${clientId}:${merchant}` → current refresh token */
  private readonly refreshTokens = new Map<string, string>();
  /** access token → its owner */
  private readonly owners = new Map<string, { clientId: string; merchant: string }>();
  /** `${clientId}:${merchant}` → the last access token issued */
  private readonly latest = new Map<string, string>();
  readonly calls: DeveloperCall[] = [];
  /** whether a refresh hands out a new refresh token */
  rotate = true;
  /** the merchant who logs in on the /auth page and approves (Shansong knows who, not the state) */
  loginAs = 'merchant-0';

  constructor(private readonly fake: FakePlatform) {
    fake.route('/auth', (u, _body, res) => this.authPage(u, res));
    fake.route('/openapi/oauth/token', (_u, body, res, req) => this.token(this.form(body, req), res));
    fake.route('/openapi/oauth/refresh_token', (_u, body, res, req) => this.refresh(this.form(body, req), res));
    for (const api of DEVELOPER_APIS) {
      fake.route(`/openapi/developer/v5/${api}`, (u, body, res, req) =>
        this.developer(api, u, this.form(body, req), res, req),
      );
    }
  }

  /** registers a client (clientId = the app's appId) and its secret */
  client(clientId: string, secret: string): void {
    registerSecret(secret);
    this.clients.set(clientId, secret);
  }

  /** a one-time authorization code for a merchant, as the /auth page hands out */
  code(clientId: string, merchant: string): string {
    const code = `ssc_${crypto.randomBytes(10).toString('hex')}`;
    ISSUED_SECRETS.add(code);
    this.codes.set(code, { clientId, merchant });
    return code;
  }

  refreshTokenOf(clientId: string, merchant: string): string | undefined {
    return this.refreshTokens.get(`${clientId}:${merchant}`);
  }

  accessTokenOf(clientId: string, merchant: string): string | undefined {
    return this.latest.get(`${clientId}:${merchant}`);
  }

  /** the merchant cancelled the authorization: its refresh token and access tokens stop working */
  revoke(clientId: string, merchant: string): void {
    this.refreshTokens.delete(`${clientId}:${merchant}`);
    for (const [t, o] of this.owners) if (o.clientId === clientId && o.merchant === merchant) this.owners.delete(t);
  }

  /** the expected signature, computed independently of gatehouse: MD5(secret + sorted name+value), upper-case */
  static sign(secret: string, form: Record<string, string>): string {
    const text = Object.keys(form)
      .filter((k) => k !== 'sign' && form[k] !== '')
      .sort()
      .map((k) => k + form[k])
      .join('');
    return crypto
      .createHash('md5')
      .update(secret + text, 'utf8')
      .digest('hex')
      .toUpperCase();
  }

  private form(body: string, req: http.IncomingMessage): Record<string, string> & { __contentType?: string } {
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(body)) out[k] = v;
    Object.defineProperty(out, '__contentType', {
      value: String(req.headers['content-type'] ?? ''),
      enumerable: false,
    });
    return out;
  }

  private reply(res: http.ServerResponse, body: { status: number; msg: string; data?: unknown }): void {
    this.fake.json(res, { status: body.status, msg: body.msg, data: body.data ?? null });
  }

  /** checks clientId, timestamp (epoch ms) and sign; the error to answer, or null */
  private check(form: Record<string, string>): { status: number; msg: string } | null {
    const secret = this.clients.get(form.clientId ?? '');
    if (secret === undefined) return SS_ERRORS.badClient;
    if (!/^\d{13}$/.test(form.timestamp ?? '')) return SS_ERRORS.badParams;
    const want = FakeShansong.sign(secret, form);
    if (typeof form.sign !== 'string' || form.sign.toUpperCase() !== want) return SS_ERRORS.badSign;
    return null;
  }

  private isForm(form: { __contentType?: string }): boolean {
    return /^application\/x-www-form-urlencoded/i.test(form.__contentType ?? '');
  }

  private issue(
    clientId: string,
    merchant: string,
    newRefreshToken: boolean,
  ): { access_token: string; refresh_token: string; expires_in: number } {
    const key = `${clientId}:${merchant}`;
    const t = this.fake.issue('SSAT', `${clientId}.${merchant}`, false);
    this.owners.set(t.value, { clientId, merchant });
    this.latest.set(key, t.value);
    let rt = this.refreshTokens.get(key);
    if (newRefreshToken || !rt) {
      rt = `ssrt_${crypto.randomBytes(12).toString('hex')}`;
      ISSUED_SECRETS.add(rt);
      this.refreshTokens.set(key, rt);
    }
    return { access_token: t.value, refresh_token: rt, expires_in: t.expiresIn };
  }

  private authPage(u: URL, res: http.ServerResponse): void {
    const q = u.searchParams;
    const clientId = q.get('client_id') ?? '';
    this.fake.hit('auth_page', clientId);
    let redirect: URL | null = null;
    try {
      redirect = new URL(q.get('redirect_uri') ?? '');
    } catch {
      redirect = null;
    }
    const state = q.get('state') ?? '';
    if (
      q.get('response_type') !== 'code' ||
      q.get('scope') !== 'shop_open_api' ||
      !this.clients.has(clientId) ||
      !redirect ||
      !state
    ) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>闪送授权</title><p id="error">invalid authorization request</p>');
      return;
    }
    redirect.searchParams.set('code', this.code(clientId, this.loginAs));
    redirect.searchParams.set('state', state);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><title>闪送授权</title><p id="client">${esc(clientId)}</p><p id="state">${esc(state)}</p><a id="approve" href="${esc(redirect.toString())}">授权</a>`,
    );
  }

  private async token(form: Record<string, string>, res: http.ServerResponse): Promise<void> {
    this.fake.hit('oauth_token', form.clientId);
    if (await this.fake.misbehave('oauth_token', res)) return;
    if (!this.isForm(form)) return this.reply(res, SS_ERRORS.badParams);
    if (!this.clients.has(form.clientId ?? '')) return this.reply(res, SS_ERRORS.badClient);
    const c = this.codes.get(form.code ?? '');
    if (!c || c.clientId !== form.clientId || this.usedCodes.has(form.code)) return this.reply(res, SS_ERRORS.badCode);
    this.usedCodes.add(form.code);
    this.reply(res, { status: 200, msg: 'success', data: this.issue(c.clientId, c.merchant, true) });
  }

  private async refresh(form: Record<string, string>, res: http.ServerResponse): Promise<void> {
    this.fake.hit('oauth_refresh_token', form.clientId);
    if (await this.fake.misbehave('oauth_refresh_token', res)) return;
    if (!this.isForm(form)) return this.reply(res, SS_ERRORS.badParams);
    const bad = this.check(form);
    if (bad) return this.reply(res, bad);
    let rt: unknown;
    try {
      rt = (JSON.parse(form.data ?? '') as { refreshToken?: unknown }).refreshToken;
    } catch {
      return this.reply(res, SS_ERRORS.badParams);
    }
    const owner = [...this.refreshTokens].find(([k, v]) => v === rt && k.startsWith(`${form.clientId}:`));
    if (!owner) return this.reply(res, SS_ERRORS.badRefreshToken);
    const merchant = owner[0].slice(form.clientId.length + 1);
    this.reply(res, { status: 200, msg: 'success', data: this.issue(form.clientId, merchant, this.rotate) });
  }

  private async developer(
    api: string,
    u: URL,
    form: Record<string, string>,
    res: http.ServerResponse,
    req: http.IncomingMessage,
  ): Promise<void> {
    this.fake.hit('developer', form.clientId);
    this.fake.hit(`developer/${api}`);
    if (await this.fake.misbehave('developer', res)) return;
    if (!this.isForm(form)) return this.reply(res, SS_ERRORS.badParams);
    const bad = this.check(form);
    if (bad) return this.reply(res, bad);
    const owner = this.owners.get(form.accessToken ?? '');
    if (!owner || owner.clientId !== form.clientId || !this.fake.isLive(form.accessToken))
      return this.reply(res, SS_ERRORS.badAccessToken);
    if (form.data !== undefined) {
      try {
        JSON.parse(form.data);
      } catch {
        return this.reply(res, SS_ERRORS.badParams);
      }
    }
    this.calls.push({
      api,
      form: { ...form },
      search: u.search,
      contentType: String(req.headers['content-type'] ?? ''),
    });
    // a body a re-serialiser would change: spacing, a 64-bit number, the data echoed raw
    const text = `{"status":200, "msg":"success", "data":{"api":"${api}", "merchant":"${owner.merchant}", "bigId":9007199254740993, "echo":${form.data ?? 'null'}}}`;
    res.writeHead(200, {
      'content-type': 'application/json;charset=UTF-8',
      'x-shansong-trace': `trace-${this.calls.length}`,
    });
    res.end(text);
  }
}

/** adds the Shansong open platform to a fake platform */
export function installShansong(fake: FakePlatform): FakeShansong {
  return new FakeShansong(fake);
}
