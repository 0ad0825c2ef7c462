import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Just enough of api.weixin.qq.com for the benchmark, in the bench process, speaking the real wire
 * shapes:
 *
 *   GET  /sns/jscode2session   any code → a fixed openid with a fresh session_key
 *   POST /cgi-bin/stable_token {grant_type:"client_credential", appid, secret, force_refresh?}
 *                              → {access_token, expires_in}: the app's current token while it is
 *                              live (expires_in = what is left of it), a new one when there is none
 *                              or force_refresh is true
 *   GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=
 *                              → {access_token, expires_in}: a new token on every call; the previous
 *                              one stays valid for at most 5 more minutes, as on the real platform
 *
 *   GET  /cgi-bin/ticket/getticket?access_token=&type=jsapi|wx_card
 *                              → {errcode: 0, ticket, expires_in: 7200} for a live token it issued,
 *                              else errcode 40001 (the soak's wechat.app.jsconfig)
 *   GET  /cgi-bin/menu/get?access_token=
 *                              → MENU_BODY for a live token it issued, else errcode 40001 (the
 *                              proxy scenario's platform call)
 *
 *   GET  /cgi-bin/gettoken?corpid=&corpsecret=, /cgi-bin/get_jsapi_ticket, /cgi-bin/ticket/get
 *                              → WeCom's token and tickets (with errcode 0), for the warm-up's
 *                              qcloud.work.* calls (bench/warm.ts)
 *
 * Token calls for some appids fail, always (the warm-up's platform failures, `failureOf`): `busy`
 * in the appid → errcode -1, `quota` → 45009, `http500` → HTTP 500.
 *
 * and the third-party platform (component) API, with the shapes of test/fake/wechat-tp.ts:
 *
 *   POST /cgi-bin/component/api_component_token {component_appid, component_appsecret,
 *        component_verify_ticket} → {component_access_token, expires_in}; 61006 for a ticket the
 *        platform did not push (see `acceptTicket`)
 *   POST /cgi-bin/component/api_authorizer_token?component_access_token=
 *        {component_appid, authorizer_appid, authorizer_refresh_token}
 *        → {authorizer_access_token, expires_in, authorizer_refresh_token}: the refresh token is
 *        rotated on every call; one that is not the authorizer's current one gets 61023 (counted
 *        in `refreshRejected`)
 *   POST /cgi-bin/component/api_query_auth?component_access_token= {component_appid, authorization_code}
 *        → {authorization_info: {authorizer_appid, authorizer_access_token, expires_in, authorizer_refresh_token}}
 *   POST /cgi-bin/component/api_get_authorizer_list?component_access_token= {component_appid, offset, count}
 *        → {total_count, list: [{authorizer_appid, refresh_token, auth_time}]}, at most 500 a page
 *
 * where every call but api_component_token needs a live component token of that component (else
 * 40001). A missing grant_type / appid / secret gets the platform's errcode (40002 / 40013 / 41004).
 *
 * Token calls (token, stable_token, api_component_token, api_authorizer_token, api_query_auth)
 * wait `latencyMs` (per appid — for the component API the authorizer's, or the component's — see
 * `latency`) before answering, so that many of them can be in flight at once; the fake counts them
 * (total and per appid) and tracks how many were in flight at most. Every token it issued is
 * remembered with its expiry, so the bench can ask whether a token gatehouse handed out is one the
 * platform would still accept (`isLive`).
 *
 * Usually the fake lives in the bench process. Run as a program it is a process of its own (the
 * proxy scenario: the platform must not share a core with the bench or gatehouse), with
 * `GET /__bench/stats` for the counters:
 *
 *   BENCH_PORT=1234 node --require tsx/cjs bench/fake-wechat.ts
 */

/** one token call, for `log` */
export interface TokenCall {
  appId: string;
  /** epoch ms: when it arrived, when it was answered */
  start: number;
  end: number;
}

export interface Issued {
  appId: string;
  /** epoch ms */
  issuedAt: number;
  expiresAt: number;
}

/** how long the previous classic token stays valid once a new one is issued */
const CLASSIC_OVERLAP_MS = 300_000;

/** what GET /cgi-bin/menu/get answers a live token with */
export const MENU_BODY = '{"menu":{"button":[{"name":"x"}]}}';

/** the counters a fake run as its own process reports on GET /__bench/stats */
export interface FakeStats {
  menuCalls: number;
  /** menu/get calls answered 40001 (a token the fake did not issue, or a dead one) */
  menuRejected: number;
  tokenCalls: number;
  /** getticket calls */
  ticketCalls: number;
  /** TCP connections accepted (keep-alive clients open few) */
  connections: number;
}

interface Authorization {
  component: string;
  refreshToken: string;
  /** every refresh token it had, oldest first, with when it was issued (epoch ms) */
  history: Array<{ value: string; at: number }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FakeWechat {
  url = '';
  /** jscode2session calls */
  calls = 0;
  /** token calls (stable_token and token) */
  tokenCalls = 0;
  /** token calls per appid */
  readonly tokenCallsByApp = new Map<string, number>();
  /** token calls being answered right now, and the most there were at once since `resetMaxInFlight` */
  inFlight = 0;
  maxInFlight = 0;
  /** how long a token call takes, per appid (ms) */
  latency: (appId: string) => number = () => 0;
  /** the expires_in a new token gets, per appid (s) */
  expiresIn: (appId: string) => number = () => 7200;
  /** when set, every token call is appended to it once answered */
  log?: TokenCall[];
  /** GET /cgi-bin/menu/get calls, and how many of them got 40001 */
  menuCalls = 0;
  menuRejected = 0;
  /** GET /cgi-bin/ticket/getticket calls */
  ticketCalls = 0;
  /** token calls answered with a failure (see `failureOf`: -1, 45009, HTTP 500) */
  failedCalls = 0;
  /** component API calls per api name (api_component_token, api_authorizer_token, …) */
  readonly componentCalls = new Map<string, number>();
  /** api_authorizer_token calls answered 61023 (a refresh token that is not the current one) */
  refreshRejected = 0;

  /** third-party platforms: component appid → secret and the verify tickets pushed */
  private readonly components = new Map<string, { secret: string; tickets: Set<string> }>();
  /** authorizer appid → its authorization (component, current refresh token) */
  private readonly authorizations = new Map<string, Authorization>();
  /** authorization codes not exchanged yet */
  private readonly authCodes = new Map<string, { component: string; authorizer: string }>();

  private readonly issued = new Map<string, Issued>();
  /** each app's newest token */
  private readonly current = new Map<string, string>();
  /** each app's tokens, oldest first */
  private readonly byApp = new Map<string, string[]>();

  /** `control`: answer GET /__bench/stats (the fake as a process of its own) */
  constructor(private readonly opts: { control?: boolean } = {}) {}

  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.handle(req, Buffer.concat(chunks).toString('utf8'), res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    });
  });

  /** TCP connections accepted */
  connections = 0;

  async start(port = 0): Promise<this> {
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', 4096, () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** starts counting the in-flight maximum afresh (from what is in flight now) */
  resetMaxInFlight(): void {
    this.maxInFlight = this.inFlight;
  }

  /** token calls the fake saw for one appid */
  callsFor(appId: string): number {
    return this.tokenCallsByApp.get(appId) ?? 0;
  }

  /** what the fake knows about a token it issued (undefined: it never issued it) */
  token(value: string): Issued | undefined {
    return this.issued.get(value);
  }

  /** every token issued to an app, oldest first */
  history(appId: string): Issued[] {
    return (this.byApp.get(appId) ?? []).map((v) => this.issued.get(v)!);
  }

  /** whether the platform would accept this token now */
  isLive(value: string, now = Date.now()): boolean {
    const t = this.issued.get(value);
    return t !== undefined && t.expiresAt > now;
  }

  // ---- third-party platforms

  /** a third-party platform the fake knows */
  addComponent(componentAppId: string, secret: string): void {
    this.components.set(componentAppId, { secret, tickets: new Set() });
  }

  /** a component_verify_ticket the platform pushed (api_component_token accepts it) */
  acceptTicket(componentAppId: string, ticket: string): void {
    this.components.get(componentAppId)?.tickets.add(ticket);
  }

  /** an authorization made before gatehouse knew of it (api_get_authorizer_list lists it) */
  preexisting(componentAppId: string, authorizerAppId: string): void {
    const value = newRefreshToken();
    this.authorizations.set(authorizerAppId, {
      component: componentAppId,
      refreshToken: value,
      history: [{ value, at: Date.now() }],
    });
  }

  /** an authorization code, as WeChat hands it out when an admin authorizes */
  authorizationCode(componentAppId: string, authorizerAppId: string): string {
    const code = `queryauthcode@@@${crypto.randomBytes(12).toString('hex')}`;
    this.authCodes.set(code, { component: componentAppId, authorizer: authorizerAppId });
    return code;
  }

  /**
   * every refresh token an authorizer had, oldest first (the last one is the one accepted now), with when it was issued
   */
  refreshTokens(authorizerAppId: string): ReadonlyArray<{ value: string; at: number }> {
    return this.authorizations.get(authorizerAppId)?.history ?? [];
  }

  /** component API calls of one kind */
  componentCallsOf(api: string): number {
    return this.componentCalls.get(api) ?? 0;
  }

  private async handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    res.setHeader('content-type', 'application/json; encoding=utf-8');
    if (req.method === 'GET' && u.pathname === '/cgi-bin/menu/get') {
      this.menuCalls++;
      if (this.isLive(u.searchParams.get('access_token') ?? '')) return void res.end(MENU_BODY);
      this.menuRejected++;
      return this.json(res, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    }
    if (req.method === 'GET' && u.pathname === '/cgi-bin/ticket/getticket') {
      this.ticketCalls++;
      const type = u.searchParams.get('type');
      if (type !== 'jsapi' && type !== 'wx_card') return this.json(res, { errcode: 40097, errmsg: 'invalid args' });
      if (!this.isLive(u.searchParams.get('access_token') ?? '')) {
        return this.json(res, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
      }
      return this.json(res, {
        errcode: 0,
        errmsg: 'ok',
        ticket: `TK_${type}_${crypto.randomBytes(12).toString('base64url')}`,
        expires_in: 7200,
      });
    }
    if (u.pathname.startsWith('/cgi-bin/component/') && req.method === 'POST') {
      return this.component(u, body, res);
    }
    if (req.method === 'GET' && u.pathname === '/healthz') return this.json(res, { status: 'ok' });
    if (this.opts.control && req.method === 'GET' && u.pathname === '/__bench/stats') {
      const stats: FakeStats = {
        menuCalls: this.menuCalls,
        menuRejected: this.menuRejected,
        tokenCalls: this.tokenCalls,
        ticketCalls: this.ticketCalls,
        connections: this.connections,
      };
      return this.json(res, stats);
    }
    if (req.method === 'GET' && u.pathname === '/sns/jscode2session') {
      this.calls++;
      return this.json(res, { openid: 'o_bench', session_key: crypto.randomBytes(16).toString('base64') });
    }
    if (req.method === 'POST' && u.pathname === '/cgi-bin/stable_token') {
      let b: Record<string, unknown>;
      try {
        b = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return this.json(res, { errcode: 47001, errmsg: 'data format error' });
      }
      return this.tokenCall(res, b.grant_type, b.appid, b.secret, b.force_refresh === true ? 'new' : 'stable');
    }
    if (req.method === 'GET' && u.pathname === '/cgi-bin/token') {
      const q = u.searchParams;
      return this.tokenCall(res, q.get('grant_type'), q.get('appid'), q.get('secret'), 'classic');
    }
    // WeCom (qyapi.weixin.qq.com), for the warm-up's qcloud.work.* calls: GATEHOUSE_WECOM_API may point here too
    if (req.method === 'GET' && u.pathname === '/cgi-bin/gettoken') {
      const q = u.searchParams;
      return this.tokenCall(res, 'client_credential', q.get('corpid'), q.get('corpsecret'), 'stable', true);
    }
    if (req.method === 'GET' && (u.pathname === '/cgi-bin/get_jsapi_ticket' || u.pathname === '/cgi-bin/ticket/get')) {
      this.ticketCalls++;
      if (!this.isLive(u.searchParams.get('access_token') ?? '')) {
        return this.json(res, { errcode: 40014, errmsg: 'invalid access_token' });
      }
      return this.json(res, {
        errcode: 0,
        errmsg: 'ok',
        ticket: `WT_${crypto.randomBytes(12).toString('base64url')}`,
        expires_in: 7200,
      });
    }
    res.statusCode = 404;
    this.json(res, { errcode: 40066, errmsg: 'invalid url' });
  }

  private async tokenCall(
    res: http.ServerResponse,
    grantType: unknown,
    appid: unknown,
    secret: unknown,
    mode: 'stable' | 'new' | 'classic',
    errcodeZero = false,
  ): Promise<void> {
    if (grantType !== 'client_credential') return this.json(res, { errcode: 40002, errmsg: 'invalid grant_type' });
    if (typeof appid !== 'string' || !appid) return this.json(res, { errcode: 40013, errmsg: 'invalid appid' });
    if (typeof secret !== 'string' || !secret) return this.json(res, { errcode: 41004, errmsg: 'appsecret missing' });
    const failure = failureOf(appid);
    if (failure !== undefined) {
      this.failedCalls++;
      if (failure === 'http500') {
        res.statusCode = 500;
        return void res.end('internal error');
      }
      return this.json(res, {
        errcode: failure,
        errmsg: failure === -1 ? 'system error' : 'reach max api daily quota limit',
      });
    }
    const body = await this.tracked(appid, () => {
      const now = Date.now();
      const cur = this.current.get(appid);
      const live = cur !== undefined ? this.issued.get(cur) : undefined;
      if (mode === 'stable' && cur && live && live.expiresAt > now) {
        return { access_token: cur, expires_in: Math.floor((live.expiresAt - now) / 1000) };
      }
      const t = this.mint('AT', appid);
      return { access_token: t.value, expires_in: t.expiresIn };
    });
    this.json(res, errcodeZero ? { errcode: 0, errmsg: 'ok', ...body } : body);
  }

  /**
   * A token call: counted (total, per appid, in flight), answered after the appid's latency;
   * `answer` runs at the end of that wait, so what it checks and changes is atomic per call.
   */
  private async tracked<T>(appid: string, answer: () => T): Promise<T> {
    this.tokenCalls++;
    this.tokenCallsByApp.set(appid, this.callsFor(appid) + 1);
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    const start = Date.now();
    try {
      const ms = this.latency(appid);
      if (ms > 0) await sleep(ms);
      return answer();
    } finally {
      this.inFlight--;
      this.log?.push({ appId: appid, start, end: Date.now() });
    }
  }

  /** a new token for an app; the previous one stays valid for at most CLASSIC_OVERLAP_MS */
  private mint(prefix: string, appid: string): { value: string; expiresIn: number } {
    const now = Date.now();
    const cur = this.current.get(appid);
    const live = cur !== undefined ? this.issued.get(cur) : undefined;
    if (live) live.expiresAt = Math.min(live.expiresAt, now + CLASSIC_OVERLAP_MS);
    const expiresIn = this.expiresIn(appid);
    const value = `${prefix}_${appid}_${crypto.randomBytes(12).toString('base64url')}`;
    this.issued.set(value, { appId: appid, issuedAt: now, expiresAt: now + expiresIn * 1000 });
    this.current.set(appid, value);
    const mine = this.byApp.get(appid);
    if (mine) mine.push(value);
    else this.byApp.set(appid, [value]);
    return { value, expiresIn };
  }

  /** POST /cgi-bin/component/{api} */
  private async component(u: URL, body: string, res: http.ServerResponse): Promise<void> {
    const api = u.pathname.slice('/cgi-bin/component/'.length);
    this.componentCalls.set(api, this.componentCallsOf(api) + 1);
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(body || '{}') as Record<string, unknown>;
    } catch {
      return this.json(res, { errcode: 47001, errmsg: 'data format error' });
    }
    const componentAppId = typeof b.component_appid === 'string' ? b.component_appid : '';
    const platform = this.components.get(componentAppId);
    if (!platform) return this.json(res, { errcode: 40013, errmsg: 'invalid appid' });
    if (api === 'api_component_token') {
      if (b.component_appsecret !== platform.secret)
        return this.json(res, { errcode: 40125, errmsg: 'invalid appsecret' });
      if (typeof b.component_verify_ticket !== 'string' || !platform.tickets.has(b.component_verify_ticket)) {
        return this.json(res, { errcode: 61006, errmsg: 'component ticket is invalid' });
      }
      const t = await this.tracked(componentAppId, () => this.mint('CT', componentAppId));
      return this.json(res, { component_access_token: t.value, expires_in: t.expiresIn });
    }
    const ct = this.issued.get(u.searchParams.get('component_access_token') ?? '');
    if (!ct || ct.appId !== componentAppId || ct.expiresAt <= Date.now()) {
      return this.json(res, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    }
    switch (api) {
      case 'api_authorizer_token': {
        const authorizer = typeof b.authorizer_appid === 'string' ? b.authorizer_appid : '';
        const reply = await this.tracked(authorizer, () => {
          const a = this.authorizations.get(authorizer);
          if (!a || a.component !== componentAppId || a.refreshToken !== b.authorizer_refresh_token) {
            this.refreshRejected++;
            return { errcode: 61023, errmsg: 'refresh_token is invalid' };
          }
          a.refreshToken = newRefreshToken();
          a.history.push({ value: a.refreshToken, at: Date.now() });
          const t = this.mint('AAT', authorizer);
          return {
            authorizer_access_token: t.value,
            expires_in: t.expiresIn,
            authorizer_refresh_token: a.refreshToken,
          };
        });
        return this.json(res, reply);
      }
      case 'api_query_auth': {
        const grant = this.authCodes.get(String(b.authorization_code));
        if (!grant || grant.component !== componentAppId)
          return this.json(res, { errcode: 61010, errmsg: 'code is expired' });
        this.authCodes.delete(String(b.authorization_code));
        const info = await this.tracked(grant.authorizer, () => {
          this.preexisting(componentAppId, grant.authorizer);
          const t = this.mint('AAT', grant.authorizer);
          return {
            authorizer_appid: grant.authorizer,
            authorizer_access_token: t.value,
            expires_in: t.expiresIn,
            authorizer_refresh_token: this.authorizations.get(grant.authorizer)!.refreshToken,
            func_info: [{ funcscope_category: { id: 1 } }],
          };
        });
        return this.json(res, { authorization_info: info });
      }
      case 'api_get_authorizer_list': {
        const all = [...this.authorizations.entries()].filter(([, a]) => a.component === componentAppId);
        const offset = Math.max(0, Number(b.offset) || 0);
        const page = all.slice(offset, offset + Math.min(500, Math.max(0, Number(b.count) || 0)));
        return this.json(res, {
          total_count: all.length,
          list: page.map(([appid, a]) => ({
            authorizer_appid: appid,
            refresh_token: a.refreshToken,
            auth_time: 1700000000,
          })),
        });
      }
      default:
        res.statusCode = 404;
        return this.json(res, { errcode: 40066, errmsg: 'invalid url' });
    }
  }

  private json(res: http.ServerResponse, body: unknown): void {
    res.end(JSON.stringify(body));
  }
}

/**
 * The failures the fake answers every token call of some appids with (the warm-up's platform
 * failures, bench/warm.ts): an appid containing `busy` gets errcode -1 (transient: retried), one
 * containing `quota` errcode 45009 (not retried), one containing `http500` an HTTP 500.
 */
export function failureOf(appid: string): -1 | 45009 | 'http500' | undefined {
  if (appid.includes('busy')) return -1;
  if (appid.includes('quota')) return 45009;
  if (appid.includes('http500')) return 'http500';
  return undefined;
}

const newRefreshToken = () => `refreshtoken@@@${crypto.randomBytes(12).toString('hex')}`;

// run as a program: a fake of its own, on BENCH_PORT
if (require.main === module) {
  const port = Number(process.env.BENCH_PORT);
  if (!Number.isInteger(port) || port <= 0) {
    process.stderr.write('fake-wechat: set BENCH_PORT to the port to listen on\n');
    process.exit(1);
  }
  const fake = new FakeWechat({ control: true });
  fake.start(port).then(
    () => process.once('SIGTERM', () => void fake.stop().then(() => process.exit(0))),
    (err: unknown) => {
      process.stderr.write(`fake-wechat: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
