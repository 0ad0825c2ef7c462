import crypto from 'node:crypto';
import type http from 'node:http';
import { ISSUED_SECRETS, registerSecret, type FakePlatform } from './platform';

type Obj = Record<string, any>;

/**
 * DingTalk on a FakePlatform, both hosts (point GATEHOUSE_DINGTALK_OAPI and _API at it):
 *   - POST /v1.0/oauth2/accessToken {appKey, appSecret}: `{accessToken, expireIn}`, the same token
 *     while it lives, its lifetime renewed (as DingTalk does); an unknown key or wrong secret HTTP 400 `{code:
 *     "invalidClientIdOrSecret", message}`
 *   - GET /gettoken?appkey=&appsecret= (legacy): `{errcode, errmsg, access_token, expires_in}`,
 *     40089 for bad credentials; the same token as the new API's
 *   - GET /get_jsapi_ticket?access_token=: a live token (else 40014), a new ticket per call
 *   - POST /topapi/v2/user/getuserinfo?access_token= {code}: a code from `code()` once (else 40078)
 *   - GET /topapi/v2/user/get?access_token= (oapi API to proxy) and GET /v1.0/contact/users/me
 *     (new API to proxy, `x-acs-dingtalk-access-token`, HTTP 401 `{code: "InvalidAuthentication"}`
 *     when not live): echo what they got
 * Calls count as `dingtalk_<api>` (and per appKey); `fake.mode('dingtalk_<api>', …)` applies.
 */
export class FakeDingtalk {
  private readonly codes = new Map<string, Obj>();
  /** access tokens by appKey: DingTalk answers the same one while it lives and renews its lifetime */
  private readonly tokens = new Map<string, { value: string; expiresAt: number }>();

  constructor(private readonly fake: FakePlatform) {
    const route = (
      api: string,
      path: string,
      h: (u: URL, b: Obj, req: http.IncomingMessage) => Obj | [number, Obj],
      appOf: (u: URL, b: Obj) => string | undefined = () => undefined,
    ) =>
      fake.route(path, async (u, body, res, req) => {
        let b: Obj = {};
        try {
          b = body ? (JSON.parse(body) as Obj) : {};
        } catch {
          return fake.json(res, { code: 'InvalidParameter', message: 'bad json' }, 400);
        }
        fake.hit(`dingtalk_${api}`, appOf(u, b));
        if (await fake.misbehave(`dingtalk_${api}`, res)) return;
        const r = h(u, b, req);
        if (Array.isArray(r)) fake.json(res, r[1], r[0]);
        else fake.json(res, r);
      });
    route(
      'accessToken',
      '/v1.0/oauth2/accessToken',
      (_u, b) => {
        if (fake.checkSecret(b.appKey, b.appSecret))
          return [400, { code: 'invalidClientIdOrSecret', message: '无效的clientId或者clientSecret', requestid: 'r1' }];
        const t = this.issue(String(b.appKey));
        return { accessToken: t.value, expireIn: t.expiresIn };
      },
      (_u, b) => b.appKey,
    );
    route(
      'gettoken',
      '/gettoken',
      (u) => {
        const appKey = u.searchParams.get('appkey');
        if (fake.checkSecret(appKey, u.searchParams.get('appsecret')))
          return { errcode: 40089, errmsg: '不合法的corpid或corpsecret' };
        const t = this.issue(String(appKey));
        return { errcode: 0, errmsg: 'ok', access_token: t.value, expires_in: t.expiresIn };
      },
      (u) => u.searchParams.get('appkey') ?? undefined,
    );
    const live = (u: URL) => this.ownerOf(u.searchParams.get('access_token') ?? '');
    route('get_jsapi_ticket', '/get_jsapi_ticket', (u) => {
      const owner = live(u);
      if (!owner) return { errcode: 40014, errmsg: '不合法的access_token' };
      const t = fake.issue('DTK', owner, false);
      return { errcode: 0, errmsg: 'ok', ticket: t.value, expires_in: t.expiresIn };
    });
    route('getuserinfo', '/topapi/v2/user/getuserinfo', (u, b) => {
      const owner = live(u);
      if (!owner) return { errcode: 40014, errmsg: '不合法的access_token' };
      const user = this.codes.get(String(b.code));
      this.codes.delete(String(b.code));
      if (!user || user.appKey !== owner) return { errcode: 40078, errmsg: '不存在的临时授权码' };
      return {
        errcode: 0,
        errmsg: 'ok',
        result: { userid: user.userId, unionid: user.unionId, name: user.name, sys: false, sys_level: 0 },
      };
    });
    route('user_get', '/topapi/v2/user/get', (u, b, req) => {
      const owner = live(u);
      if (!owner) return { errcode: 40014, errmsg: '不合法的access_token' };
      return { errcode: 0, errmsg: 'ok', result: { owner, method: req.method, query: u.search, body: b } };
    });
    route('users_me', '/v1.0/contact/users/me', (u, _b, req) => {
      const owner = this.ownerOf(String(req.headers['x-acs-dingtalk-access-token'] ?? ''));
      if (!owner) return [401, { code: 'InvalidAuthentication', message: '不合法的access_token' }];
      return { owner, query: u.search, hasAccessTokenParam: u.searchParams.has('access_token') };
    });
  }

  /** the app's access token: the live one with its lifetime renewed, or a new one */
  private issue(appKey: string): { value: string; expiresIn: number } {
    const now = Date.now();
    const current = this.tokens.get(appKey);
    const value =
      current && current.expiresAt > now ? current.value : `DT_${appKey}_${crypto.randomBytes(12).toString('hex')}`;
    ISSUED_SECRETS.add(value);
    this.tokens.set(appKey, { value, expiresAt: now + this.fake.lifetimeS * 1000 });
    return { value, expiresIn: this.fake.lifetimeS };
  }

  /** the appKey of a live access token */
  ownerOf(value: string): string | undefined {
    for (const [appKey, t] of this.tokens) if (t.value === value && t.expiresAt > Date.now()) return appKey;
    return undefined;
  }

  /** every access token dies (as if DingTalk revoked them) */
  expireAll(): void {
    this.tokens.clear();
  }

  /** an app (appKey) and its secret */
  app(appKey: string, secret: string): void {
    registerSecret(secret);
    this.fake.app(appKey, secret);
  }

  /** a 免登 code of a user of the app, good once */
  code(appKey: string, user: { userId: string; unionId: string; name?: string }): string {
    const c = `dc_${crypto.randomBytes(8).toString('hex')}`;
    ISSUED_SECRETS.add(c);
    this.codes.set(c, { appKey, name: 'User', ...user });
    return c;
  }
}
