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
 *   - an app whose secret is registered with `app()` must be called with it (else 40125)
 */
export class FakePlatform {
  private server?: http.Server;
  url = '';
  private readonly counts = new Map<string, number>();
  private readonly codes = new Map<string, { openid: string; session_key: string; unionid?: string; appid?: string }>();
  private readonly used = new Set<string>();
  private readonly secrets = new Map<string, string>();
  private readonly stalled = new Set<http.ServerResponse>();

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

  /** registers an app secret the fake will insist on */
  app(appid: string, secret: string): void {
    this.secrets.set(appid, secret);
  }

  /** a fresh wx.login code that jscode2session accepts once */
  code(opts: { openid?: string; sessionKey?: string; unionid?: string; appid?: string } = {}): { code: string; openid: string; sessionKey: string } {
    const code = `c_${crypto.randomBytes(8).toString('hex')}`;
    const openid = opts.openid ?? `o_${crypto.randomBytes(10).toString('hex')}`;
    const sessionKey = opts.sessionKey ?? crypto.randomBytes(16).toString('base64');
    this.codes.set(code, { openid, session_key: sessionKey, unionid: opts.unionid, appid: opts.appid });
    return { code, openid, sessionKey };
  }

  /** calls of an API (e.g. "jscode2session"), optionally for one appid */
  count(api: string, appid?: string): number {
    return this.counts.get(appid ? `${api}:${appid}` : api) ?? 0;
  }

  reset(): void {
    this.counts.clear();
  }

  private hit(api: string, appid?: string | null): void {
    this.counts.set(api, (this.counts.get(api) ?? 0) + 1);
    if (appid) this.counts.set(`${api}:${appid}`, (this.counts.get(`${api}:${appid}`) ?? 0) + 1);
  }

  private json(res: http.ServerResponse, body: unknown, status = 200): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://fake');
    for await (const _ of req) void _; // drain
    if (u.pathname === '/sns/jscode2session') return this.jscode2session(u.searchParams, res);
    this.hit('unknown');
    this.json(res, { errcode: 40066, errmsg: 'invalid url' }, 404);
  }

  private jscode2session(q: URLSearchParams, res: http.ServerResponse): void {
    const appid = q.get('appid');
    const code = q.get('js_code') ?? '';
    this.hit('jscode2session', appid);
    if (q.get('grant_type') !== 'authorization_code') return this.json(res, { errcode: 40002, errmsg: 'invalid grant_type' });
    const secret = appid ? this.secrets.get(appid) : undefined;
    if (secret !== undefined && q.get('secret') !== secret) return this.json(res, { errcode: 40125, errmsg: 'invalid appsecret' });
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
    if (!known || (known.appid && known.appid !== appid)) return this.json(res, { errcode: 40029, errmsg: 'invalid code' });
    if (this.used.has(code)) return this.json(res, { errcode: 40163, errmsg: 'code been used' });
    this.used.add(code);
    const body: Record<string, string> = { openid: known.openid, session_key: known.session_key };
    if (known.unionid) body.unionid = known.unionid;
    this.json(res, body);
  }
}
