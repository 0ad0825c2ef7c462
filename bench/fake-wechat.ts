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
 * A missing grant_type / appid / secret gets the platform's errcode (40002 / 40013 / 41004).
 * Token calls wait `latencyMs` (per app, see `latency`) before answering, so that many of them can
 * be in flight at once; the fake counts them (total and per appid) and tracks how many were in
 * flight at most. Every token it issued is remembered with its expiry, so the bench can ask
 * whether a token gatehouse handed out is one the platform would still accept (`isLive`).
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

  private readonly issued = new Map<string, Issued>();
  /** each app's newest token */
  private readonly current = new Map<string, string>();
  /** each app's tokens, oldest first */
  private readonly byApp = new Map<string, string[]>();

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

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', 4096, () => resolve());
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

  private async handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    res.setHeader('content-type', 'application/json; encoding=utf-8');
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
    res.statusCode = 404;
    this.json(res, { errcode: 40066, errmsg: 'invalid url' });
  }

  private async tokenCall(res: http.ServerResponse, grantType: unknown, appid: unknown, secret: unknown, mode: 'stable' | 'new' | 'classic'): Promise<void> {
    if (grantType !== 'client_credential') return this.json(res, { errcode: 40002, errmsg: 'invalid grant_type' });
    if (typeof appid !== 'string' || !appid) return this.json(res, { errcode: 40013, errmsg: 'invalid appid' });
    if (typeof secret !== 'string' || !secret) return this.json(res, { errcode: 41004, errmsg: 'appsecret missing' });
    this.tokenCalls++;
    this.tokenCallsByApp.set(appid, this.callsFor(appid) + 1);
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    const start = Date.now();
    try {
      const ms = this.latency(appid);
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      const now = Date.now();
      const cur = this.current.get(appid);
      const live = cur !== undefined ? this.issued.get(cur) : undefined;
      if (mode === 'stable' && cur && live && live.expiresAt > now) {
        return this.json(res, { access_token: cur, expires_in: Math.floor((live.expiresAt - now) / 1000) });
      }
      if (live) live.expiresAt = Math.min(live.expiresAt, now + CLASSIC_OVERLAP_MS);
      const expiresIn = this.expiresIn(appid);
      const value = `AT_${appid}_${crypto.randomBytes(12).toString('base64url')}`;
      this.issued.set(value, { appId: appid, issuedAt: now, expiresAt: now + expiresIn * 1000 });
      this.current.set(appid, value);
      const mine = this.byApp.get(appid);
      if (mine) mine.push(value);
      else this.byApp.set(appid, [value]);
      this.json(res, { access_token: value, expires_in: expiresIn });
    } finally {
      this.inFlight--;
      this.log?.push({ appId: appid, start, end: Date.now() });
    }
  }

  private json(res: http.ServerResponse, body: unknown): void {
    res.end(JSON.stringify(body));
  }
}
