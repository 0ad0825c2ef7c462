import crypto from 'node:crypto';
import type http from 'node:http';
import { ISSUED_SECRETS, registerSecret, type FakePlatform } from './platform';

type Obj = Record<string, any>;

/**
 * The Feishu / Lark open platform on a FakePlatform, with its shapes (`{code, msg, …}`) and codes:
 *   - POST /open-apis/auth/v3/app_access_token/internal and tenant_access_token/internal {app_id,
 *     app_secret}: 10003 unknown app, 10014 wrong secret; the same token while it has more than
 *     30 minutes left (as Feishu does), `expire` in seconds
 *   - POST /open-apis/auth/v3/app_access_token {app_id, app_secret, app_ticket}: a store app's, with
 *     a ticket `ticket()` minted for it (else 10012)
 *   - POST /open-apis/auth/v3/tenant_access_token {app_access_token, tenant_key}: a live store app
 *     token (else 99991664) and a tenant that installed the app (`install()`, else 10013)
 *   - POST /open-apis/auth/v3/app_ticket/resend {app_id, app_secret}: counted, `onResend` called
 *   - POST /open-apis/jssdk/ticket/get, /open-apis/mina/v2/tokenLoginValidate,
 *     /open-apis/authen/v1/access_token, and /open-apis/im/v1/chats (an API to proxy, echoing what
 *     it got): `Authorization: Bearer` a live token of the right kind, else HTTP 400 with
 *     99991663 (tenant token) / 99991664 (app token) / 99991661 (none)
 * Every API counts calls as `feishu_<api>` (and per app id) and honours `fake.mode(...)`.
 */
export class FakeFeishu {
  private readonly tickets = new Map<string, string>();
  private readonly tenants = new Set<string>();
  private readonly codes = new Map<string, Obj>();
  private readonly store = new Set<string>();
  onResend?: (appId: string) => void;

  constructor(private readonly fake: FakePlatform) {
    const post = (api: string, path: string, h: (b: Obj, req: http.IncomingMessage) => Obj | [number, Obj]) =>
      fake.route(`/open-apis${path}`, async (_u, body, res, req) => {
        let b: Obj = {};
        try {
          b = body ? (JSON.parse(body) as Obj) : {};
        } catch {
          return fake.json(res, { code: 9499, msg: 'bad request' }, 400);
        }
        fake.hit(`feishu_${api}`, b.app_id ?? undefined);
        if (await fake.misbehave(`feishu_${api}`, res)) return;
        const r = h(b, req);
        if (Array.isArray(r)) fake.json(res, r[1], r[0]);
        else fake.json(res, r);
      });
    const secretOk = (b: Obj): Obj | null => {
      const bad = fake.checkSecret(b.app_id, b.app_secret);
      if (!bad) return null;
      return bad.errcode === 40013
        ? { code: 10003, msg: 'invalid app_id' }
        : { code: 10014, msg: 'app secret invalid' };
    };
    const renew = 30 * 60 * 1000;
    post('app_access_token_internal', '/auth/v3/app_access_token/internal', (b) => {
      const bad = secretOk(b);
      if (bad) return bad;
      if (this.store.has(b.app_id)) return { code: 10001, msg: 'not a self-built app' };
      const t = fake.issue('FAPP', b.app_id, true, renew);
      return { code: 0, msg: 'ok', app_access_token: t.value, expire: t.expiresIn };
    });
    post('tenant_access_token_internal', '/auth/v3/tenant_access_token/internal', (b) => {
      const bad = secretOk(b);
      if (bad) return bad;
      if (this.store.has(b.app_id)) return { code: 10001, msg: 'not a self-built app' };
      const t = fake.issue('FTEN', b.app_id, true, renew);
      return { code: 0, msg: 'ok', tenant_access_token: t.value, expire: t.expiresIn };
    });
    post('app_access_token', '/auth/v3/app_access_token', (b) => {
      const bad = secretOk(b);
      if (bad) return bad;
      if (this.tickets.get(String(b.app_ticket)) !== b.app_id) return { code: 10012, msg: 'app_ticket invalid' };
      const t = fake.issue('FAPP', b.app_id, true, renew);
      return { code: 0, msg: 'ok', app_access_token: t.value, expire: t.expiresIn };
    });
    post('tenant_access_token', '/auth/v3/tenant_access_token', (b) => {
      const held = fake.tokenOf(String(b.app_access_token));
      if (!held || held.kind !== 'FAPP') return { code: 99991664, msg: 'invalid app access token' };
      if (!this.tenants.has(`${held.owner}:${String(b.tenant_key)}`)) return { code: 10013, msg: 'tenant_key invalid' };
      const t = fake.issue('FTEN', `${held.owner}:${String(b.tenant_key)}`, true, renew);
      return { code: 0, msg: 'ok', tenant_access_token: t.value, expire: t.expiresIn };
    });
    post('app_ticket_resend', '/auth/v3/app_ticket/resend', (b) => {
      const bad = secretOk(b);
      if (bad) return bad;
      this.onResend?.(b.app_id);
      return { code: 0, msg: 'ok' };
    });
    const bearer = (req: http.IncomingMessage, kind: string): { owner: string } | [number, Obj] => {
      const m = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''));
      if (!m) return [400, { code: 99991661, msg: 'missing access token' }];
      const held = fake.tokenOf(m[1]);
      if (!held || held.kind !== kind)
        return kind === 'FAPP'
          ? [400, { code: 99991664, msg: 'invalid app access token' }]
          : [400, { code: 99991663, msg: 'invalid tenant access token' }];
      return { owner: held.owner };
    };
    post('jssdk_ticket_get', '/jssdk/ticket/get', (_b, req) => {
      const who = bearer(req, 'FTEN');
      if (Array.isArray(who)) return who;
      const t = fake.issue('FTK', who.owner, false);
      return { code: 0, msg: 'ok', data: { ticket: t.value, expire_in: t.expiresIn } };
    });
    const login = (b: Obj, req: http.IncomingMessage, h5: boolean): Obj | [number, Obj] => {
      const who = bearer(req, 'FAPP');
      if (Array.isArray(who)) return who;
      if (h5 && b.grant_type !== 'authorization_code') return { code: 20001, msg: 'bad grant_type' };
      const user = this.codes.get(String(b.code));
      this.codes.delete(String(b.code));
      if (!user || user.appId !== who.owner) return { code: 20003, msg: 'invalid code' };
      const data: Obj = { open_id: user.openId, union_id: user.unionId, tenant_key: user.tenantKey, user_id: 'u1' };
      if (h5) data.access_token = fake.issue('FUSER', user.openId, false).value;
      else data.session_key = fake.issue('FSK', user.openId, false).value;
      return { code: 0, msg: 'ok', data };
    };
    post('tokenLoginValidate', '/mina/v2/tokenLoginValidate', (b, req) => login(b, req, false));
    post('authen_access_token', '/authen/v1/access_token', (b, req) => login(b, req, true));
    fake.route('/open-apis/im/v1/chats', async (u, body, res, req) => {
      fake.hit('feishu_chats');
      const who = bearer(req, 'FTEN');
      if (Array.isArray(who)) return fake.json(res, who[1], who[0]);
      fake.json(res, {
        code: 0,
        msg: 'ok',
        data: { owner: who.owner, method: req.method, query: u.search, body, type: req.headers['content-type'] ?? '' },
      });
    });
  }

  /** a self-built app (`store: true`: a store app, refused by the /internal endpoints) */
  app(appId: string, secret: string, store = false): void {
    registerSecret(secret);
    this.fake.app(appId, secret);
    if (store) this.store.add(appId);
  }

  /** an app_ticket Feishu would push for a store app (every one minted stays valid) */
  ticket(appId: string): string {
    const t = `at_${crypto.randomBytes(12).toString('hex')}`;
    ISSUED_SECRETS.add(t);
    this.tickets.set(t, appId);
    return t;
  }

  /** a tenant installed the store app */
  install(appId: string, tenantKey: string): void {
    this.tenants.add(`${appId}:${tenantKey}`);
  }

  /** a login code of a user of `appId` (tt.login / the web app's authorization), good once */
  code(appId: string, user: { openId: string; unionId: string; tenantKey: string }): string {
    const c = `fc_${crypto.randomBytes(8).toString('hex')}`;
    ISSUED_SECRETS.add(c);
    this.codes.set(c, { appId, ...user });
    return c;
  }
}
