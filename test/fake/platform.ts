import crypto from 'node:crypto';
import http from 'node:http';

/**
 * A stand-in for the platforms' HTTP APIs, on loopback, speaking their wire formats (errcodes
 * included) and counting every call. Point gatehouse at it with GATEHOUSE_WECHAT_API etc.
 *
 * jscode2session:
 *   - a code made by `code()` answers {openid, session_key, unionid?} once; reused → 40163
 *   - `fail:<errcode>` answers {errcode, errmsg} (40029, -1, 45011, …)
 *   - `http:<status>` answers that HTTP status; `stall` never answers (until the client gives up);
 *     `garbage` answers a 200 that is not JSON; any other code → 40029 invalid code
 *   - the app must be registered with `app()` (else 40013) and called with its secret (else 40125)
 */
/** an extra endpoint: gets the URL, the body text and the response */
export type RouteHandler = (
  u: URL,
  body: string,
  res: http.ServerResponse,
  req: http.IncomingMessage,
) => void | Promise<void>;

export type FakeMode = { errcode: number; errmsg?: string } | { http: number } | 'stall' | 'garbage';

interface Issued {
  value: string;
  expiresAt: number;
  /** what it is: AT (WeChat app token), WT (WeCom corp/agent token), CT (component token), AAT (authorizer
   * token), SUITE (suite token), CORP (suite-authorized corp token), TT (ByteDance), TK<type> (ticket), … */
  kind: string;
  /** whose it is: the appid / corp id / suite id (see `issue` callers) */
  owner: string;
}

/**
 * Tokens (WeChat /cgi-bin/token, /cgi-bin/stable_token, /cgi-bin/ticket/getticket; WeCom
 * /cgi-bin/gettoken, /cgi-bin/get_jsapi_ticket, /cgi-bin/ticket/get):
 *   - classic `token` issues a new token per call; `stable_token` and WeCom `gettoken` answer the
 *     same one while it is valid (stable: unless force_refresh, or in its last `stableRenewS`)
 *   - every app must be registered with `app()` (WeCom agents' further secrets with `agent()`): an
 *     unknown appid / corpid answers 40013, a wrong secret 40125 (WeCom: 40001)
 *   - tickets need a live access token it issued of the right kind: WeChat getticket an app or authorizer
 *     token (else 40001), WeCom get_jsapi_ticket / ticket/get a corp token (else 40014; unknown or
 *     expired 40001); they are new per call
 *   - `lifetimeS` sets expires_in; `latencyMs` delays every token/ticket answer; `mode(api, m)`
 *     makes an API fail (errcode / HTTP status / stall / garbage) until `mode(api, null)`
 */
/** every token, ticket and session key any fake issued in this test run (checked against the logs) */
export const ISSUED_SECRETS = new Set<string>();

/** an app secret a test gave a fake: checked against the logs too, unless too short to be told from ordinary text */
export function registerSecret(secret: string): void {
  if (secret.length >= 12) ISSUED_SECRETS.add(secret);
}

export class FakePlatform {
  lifetimeS = 7200;
  stableRenewS = 300;
  latencyMs = 0;
  private readonly modes = new Map<string, FakeMode>();
  /** APIs whose mode applies to a number of calls only: the calls left */
  private readonly modeTimes = new Map<string, number>();
  private readonly tokens = new Map<string, Issued>();
  private readonly live = new Map<string, Issued>();
  private readonly inflight = new Map<string, number>();
  /** the most calls of one API that were in progress at once */
  readonly maxInFlight = new Map<string, number>();
  private server?: http.Server;
  url = '';
  private readonly counts = new Map<string, number>();
  private readonly codes = new Map<string, { openid: string; session_key: string; unionid?: string; appid?: string }>();
  private readonly used = new Set<string>();
  private readonly secrets = new Map<string, Set<string>>();
  private readonly stalled = new Set<http.ServerResponse>();
  private readonly extra = new Map<string, RouteHandler>();
  private readonly holds = new Map<string, Promise<void>>();

  /** adds an endpoint (plugins for more platforms: see test/fake/*.ts) */
  route(path: string, handler: RouteHandler): void {
    this.extra.set(path, handler);
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => {
        res.statusCode = 500;
        res.end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const r of this.stalled) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** registers an app (or WeCom corp) and the secret the fake will insist on (replacing any earlier one) */
  app(appid: string, secret: string): void {
    registerSecret(secret);
    this.secrets.set(appid, new Set([secret]));
  }

  /** one more secret of a WeCom corp (each agent has its own) */
  agent(corpId: string, secret: string): void {
    const set = this.secrets.get(corpId) ?? new Set<string>();
    set.add(secret);
    this.secrets.set(corpId, set);
  }

  /** a fresh wx.login code that jscode2session accepts once */
  code(opts: { code?: string; openid?: string; sessionKey?: string; unionid?: string; appid?: string } = {}): {
    code: string;
    openid: string;
    sessionKey: string;
  } {
    const code = opts.code ?? `c_${crypto.randomBytes(8).toString('hex')}`;
    if (opts.code === undefined) ISSUED_SECRETS.add(code);
    const openid = opts.openid ?? `o_${crypto.randomBytes(10).toString('hex')}`;
    const sessionKey = opts.sessionKey ?? crypto.randomBytes(16).toString('base64');
    ISSUED_SECRETS.add(sessionKey);
    this.codes.set(code, { openid, session_key: sessionKey, unionid: opts.unionid, appid: opts.appid });
    return { code, openid, sessionKey };
  }

  /** calls of an API (e.g. "jscode2session"), optionally for one appid */
  count(api: string, appid?: string): number {
    return this.counts.get(appid ? `${api}:${appid}` : api) ?? 0;
  }

  reset(): void {
    this.counts.clear();
    this.maxInFlight.clear();
  }

  /**
   * Holds every call of an API (after counting it, before answering) until the returned function is
   * called: a test sees what happens while the platform has not answered yet, without timing.
   */
  hold(api: string): () => void {
    let release!: () => void;
    this.holds.set(api, new Promise<void>((r) => (release = r)));
    return () => {
      this.holds.delete(api);
      release();
    };
  }

  /** calls of an API in progress right now (latency or a hold not yet over) */
  inFlight(api: string): number {
    return this.inflight.get(api) ?? 0;
  }

  /**
   * makes an API (e.g. "stable_token", "gettoken", "getticket") fail until set back to null, or only its next `times`
   * calls
   */
  mode(api: string, m: FakeMode | null, times?: number): void {
    this.modeTimes.delete(api);
    if (m === null) this.modes.delete(api);
    else this.modes.set(api, m);
    if (m !== null && times !== undefined) this.modeTimes.set(api, times);
  }

  /**
   * whether the fake issued this access token / ticket and it is still valid (and, when given, of that kind and owner)
   */
  isLive(value: string, kind?: string, owner?: string): boolean {
    const t = this.tokenOf(value);
    return !!t && (kind === undefined || t.kind === kind) && (owner === undefined || t.owner === owner);
  }

  /** the kind and owner of a live token / ticket this fake issued */
  tokenOf(value: string): { kind: string; owner: string } | undefined {
    const t = this.live.get(value);
    return t && t.expiresAt > Date.now() ? { kind: t.kind, owner: t.owner } : undefined;
  }

  /** the token / ticket of that kind and owner issued last (live or not) */
  lastIssued(kind: string, owner: string): string | undefined {
    return this.tokens.get(`${kind}:${owner}`)?.value;
  }

  /** expires every token and ticket issued so far (as if the platform rotated them) */
  expireAll(): void {
    this.tokens.clear();
    this.live.clear();
  }

  issue(kind: string, owner: string, reuse: boolean, renewMs = 0): { value: string; expiresIn: number } {
    const now = Date.now();
    const key = `${kind}:${owner}`;
    const current = this.tokens.get(key);
    if (reuse && current && current.expiresAt - now > renewMs) {
      return { value: current.value, expiresIn: Math.max(1, Math.round((current.expiresAt - now) / 1000)) };
    }
    const value = `${kind}_${owner}_${crypto.randomBytes(12).toString('hex')}`;
    ISSUED_SECRETS.add(value);
    const t = { value, expiresAt: now + this.lifetimeS * 1000, kind, owner };
    this.tokens.set(key, t);
    this.live.set(value, t);
    return { value, expiresIn: this.lifetimeS };
  }

  /** applies latency and a configured failure; true when the response was already written */
  async misbehave(api: string, res: http.ServerResponse): Promise<boolean> {
    const n = (this.inflight.get(api) ?? 0) + 1;
    this.inflight.set(api, n);
    this.maxInFlight.set(api, Math.max(n, this.maxInFlight.get(api) ?? 0));
    try {
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      await this.holds.get(api);
    } finally {
      this.inflight.set(api, (this.inflight.get(api) ?? 1) - 1);
    }
    const m = this.modes.get(api);
    if (!m) return false;
    const left = this.modeTimes.get(api);
    if (left !== undefined) {
      if (left <= 1) this.mode(api, null);
      else this.modeTimes.set(api, left - 1);
    }
    if (m === 'stall') {
      this.stalled.add(res);
      res.on('close', () => this.stalled.delete(res));
      return true;
    }
    if (m === 'garbage') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>busy</html>');
      return true;
    }
    if ('http' in m) {
      this.json(res, { errcode: -1, errmsg: 'system error' }, m.http);
      return true;
    }
    this.json(res, { errcode: m.errcode, errmsg: m.errmsg ?? `fake error ${m.errcode}` });
    return true;
  }

  /** an app must be registered (else 40013) and called with its secret (else 40125) */
  checkSecret(
    appid: string | null | undefined,
    secret: string | null | undefined,
  ): { errcode: number; errmsg: string } | null {
    const want = appid ? this.secrets.get(appid) : undefined;
    if (!appid || want === undefined) return { errcode: 40013, errmsg: 'invalid appid' };
    if (typeof secret !== 'string' || !want.has(secret)) return { errcode: 40125, errmsg: 'invalid appsecret' };
    return null;
  }

  private async token(api: string, u: URL, body: string, res: http.ServerResponse): Promise<void> {
    let appid: string | null | undefined;
    let secret: string | null | undefined;
    let force = false;
    if (api === 'stable_token') {
      let b: Record<string, unknown> = {};
      try {
        b = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return this.json(res, { errcode: 47001, errmsg: 'data format error' });
      }
      appid = b.appid as string;
      secret = b.secret as string;
      force = b.force_refresh === true;
      if (b.grant_type !== 'client_credential') return this.json(res, { errcode: 40002, errmsg: 'invalid grant_type' });
    } else if (api === 'gettoken') {
      appid = u.searchParams.get('corpid');
      secret = u.searchParams.get('corpsecret');
    } else {
      appid = u.searchParams.get('appid');
      secret = u.searchParams.get('secret');
      if (u.searchParams.get('grant_type') !== 'client_credential')
        return this.json(res, { errcode: 40002, errmsg: 'invalid grant_type' });
    }
    this.hit(api, appid);
    if (await this.misbehave(api, res)) return;
    const bad = this.checkSecret(appid, secret);
    if (bad && api === 'gettoken')
      return this.json(
        res,
        bad.errcode === 40013
          ? { errcode: 40013, errmsg: 'invalid corpid' }
          : { errcode: 40001, errmsg: 'invalid secret' },
      );
    if (bad) return this.json(res, bad);
    const owner = `${appid}`;
    const t =
      api === 'token'
        ? this.issue('AT', owner, false)
        : api === 'stable_token'
          ? this.issue('AT', owner, !force, this.stableRenewS * 1000)
          : this.issue(
              'WT',
              `${owner}_${crypto.createHash('md5').update(String(secret)).digest('hex').slice(0, 6)}`,
              true,
            );
    const reply: Record<string, unknown> = { access_token: t.value, expires_in: t.expiresIn };
    if (api === 'gettoken') Object.assign(reply, { errcode: 0, errmsg: 'ok' });
    this.json(res, reply);
  }

  private async ticket(api: string, u: URL, res: http.ServerResponse): Promise<void> {
    const at = u.searchParams.get('access_token') ?? '';
    const type = api === 'get_jsapi_ticket' ? 'jsapi' : u.searchParams.get('type');
    const held = this.tokenOf(at);
    const owner = held?.owner.replace(/_[0-9a-f]{6}$/, '') ?? at.split('_')[1];
    this.hit(api, owner);
    if (await this.misbehave(api, res)) return;
    if (!held)
      return this.json(res, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    // WeChat's getticket takes an app's or an authorizer's token; WeCom's a corp's (own or via a suite)
    if (api === 'getticket' && held.kind !== 'AT' && held.kind !== 'AAT')
      return this.json(res, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    if (api !== 'getticket' && held.kind !== 'WT' && held.kind !== 'CORP')
      return this.json(res, { errcode: 40014, errmsg: 'invalid access_token' });
    if (api === 'ticket_get' && type !== 'agent_config')
      return this.json(res, { errcode: 40004, errmsg: 'invalid type' });
    if (api === 'getticket' && type !== 'jsapi' && type !== 'wx_card')
      return this.json(res, { errcode: 40004, errmsg: 'invalid type' });
    const t = this.issue(`TK${type}`, `${owner}`, false);
    this.json(res, { errcode: 0, errmsg: 'ok', ticket: t.value, expires_in: t.expiresIn });
  }

  hit(api: string, appid?: string | null): void {
    this.counts.set(api, (this.counts.get(api) ?? 0) + 1);
    if (appid) this.counts.set(`${api}:${appid}`, (this.counts.get(`${api}:${appid}`) ?? 0) + 1);
  }

  json(res: http.ServerResponse, body: unknown, status = 200): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const extra = this.extra.get(u.pathname);
    if (extra) return extra(u, body, res, req);
    if (u.pathname === '/sns/jscode2session') return this.jscode2session(u.searchParams, res);
    const tokenApi = {
      '/cgi-bin/token': 'token',
      '/cgi-bin/stable_token': 'stable_token',
      '/cgi-bin/gettoken': 'gettoken',
    }[u.pathname];
    if (tokenApi) return this.token(tokenApi, u, body, res);
    const ticketApi = {
      '/cgi-bin/ticket/getticket': 'getticket',
      '/cgi-bin/get_jsapi_ticket': 'get_jsapi_ticket',
      '/cgi-bin/ticket/get': 'ticket_get',
    }[u.pathname];
    if (ticketApi) return this.ticket(ticketApi, u, res);
    this.hit('unknown');
    this.json(res, { errcode: 40066, errmsg: 'invalid url' }, 404);
  }

  private jscode2session(q: URLSearchParams, res: http.ServerResponse): void {
    const appid = q.get('appid');
    const code = q.get('js_code') ?? '';
    this.hit('jscode2session', appid);
    if (q.get('grant_type') !== 'authorization_code')
      return this.json(res, { errcode: 40002, errmsg: 'invalid grant_type' });
    const bad = this.checkSecret(appid, q.get('secret'));
    if (bad) return this.json(res, bad);
    if (code === 'stall') {
      this.stalled.add(res);
      res.on('close', () => this.stalled.delete(res));
      return;
    }
    if (code === 'garbage') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>busy</html>');
      return;
    }
    const http = /^http:(\d{3})$/.exec(code);
    if (http) return this.json(res, { errcode: -1, errmsg: 'system error' }, Number(http[1]));
    const fail = /^fail:(-?\d+)$/.exec(code);
    if (fail) return this.json(res, { errcode: Number(fail[1]), errmsg: `fake error ${fail[1]}` });
    const known = this.codes.get(code);
    if (!known || (known.appid && known.appid !== appid))
      return this.json(res, { errcode: 40029, errmsg: 'invalid code' });
    if (this.used.has(code)) return this.json(res, { errcode: 40163, errmsg: 'code been used' });
    this.used.add(code);
    const body: Record<string, string> = { openid: known.openid, session_key: known.session_key };
    if (known.unionid) body.unionid = known.unionid;
    this.json(res, body);
  }
}
