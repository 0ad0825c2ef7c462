import crypto from 'node:crypto';
import type http from 'node:http';
import { ISSUED_SECRETS, registerSecret, type FakePlatform } from './platform';

interface Authorization {
  component: string;
  authorizer: string;
  refreshToken: string;
}

/**
 * The WeChat third-party platform API on the fake (api_component_token, api_create_preauthcode,
 * api_query_auth, api_authorizer_token, api_get_authorizer_list, component jscode2session) and the
 * mp.weixin.qq.com authorization pages (componentloginpage, bindcomponent), with real shapes and
 * errcodes: 61006 unknown verify ticket, 61010 used/unknown authorization code, 61023 refresh token
 * no longer valid, 40001 a component_access_token that is not a live component token of the
 * component_appid named (dead, another component's, or another kind: an authorizer or app token).
 * The component must be registered with `fake.app(componentAppid, secret)`; component
 * jscode2session also needs the appid to be an authorizer of that component (else 61003).
 */
export class FakeWechatTp {
  /** component appid → the verify tickets the platform has pushed (valid ones) */
  readonly tickets = new Map<string, Set<string>>();
  /** authorization codes an admin produced: code → (component, authorizer) */
  private readonly codes = new Map<string, { component: string; authorizer: string }>();
  private readonly preAuth = new Map<string, string>();
  /** (component, authorizer) → current refresh token */
  readonly authorizations = new Map<string, Authorization>();
  /** rotate the refresh token on every api_authorizer_token call */
  rotate = true;
  /** the authorizer appid the fake login page authorizes when "approved" */
  approveAs = 'wxauthorizer00001';

  constructor(private readonly fake: FakePlatform) {
    const c = (api: string, h: (b: Record<string, any>, u: URL, res: http.ServerResponse) => void | Promise<void>) =>
      fake.route(`/cgi-bin/component/${api}`, async (u, body, res) => {
        let b: Record<string, any> = {};
        try {
          b = JSON.parse(body || '{}');
        } catch {
          return fake.json(res, { errcode: 47001, errmsg: 'data format error' });
        }
        fake.hit(api, b.component_appid);
        if (await fake.misbehave(api, res)) return;
        if (
          api !== 'api_component_token' &&
          !fake.isLive(u.searchParams.get('component_access_token') ?? '', 'CT', String(b.component_appid))
        ) {
          return fake.json(res, {
            errcode: 40001,
            errmsg: 'invalid credential, access_token is invalid or not latest',
          });
        }
        await h(b, u, res);
      });

    c('api_component_token', (b, _u, res) => {
      const bad = fake.checkSecret(b.component_appid, b.component_appsecret);
      if (bad) return fake.json(res, bad);
      if (!this.tickets.get(b.component_appid)?.has(b.component_verify_ticket))
        return fake.json(res, { errcode: 61006, errmsg: 'component ticket is invalid' });
      const t = fake.issue('CT', b.component_appid, false);
      fake.json(res, { component_access_token: t.value, expires_in: t.expiresIn });
    });
    c('api_create_preauthcode', (b, _u, res) => {
      const code = `preauthcode@@@${crypto.randomBytes(12).toString('hex')}`;
      ISSUED_SECRETS.add(code);
      this.preAuth.set(code, b.component_appid);
      fake.json(res, { pre_auth_code: code, expires_in: 1800 });
    });
    c('api_query_auth', (b, _u, res) => {
      const grant = this.codes.get(b.authorization_code);
      if (!grant || grant.component !== b.component_appid)
        return fake.json(res, { errcode: 61010, errmsg: 'code is expired' });
      this.codes.delete(b.authorization_code);
      const auth = this.grant(grant.component, grant.authorizer);
      const t = fake.issue('AAT', grant.authorizer, false);
      fake.json(res, {
        authorization_info: {
          authorizer_appid: grant.authorizer,
          authorizer_access_token: t.value,
          expires_in: t.expiresIn,
          authorizer_refresh_token: auth.refreshToken,
          func_info: [{ funcscope_category: { id: 1 } }],
        },
      });
    });
    c('api_authorizer_token', (b, _u, res) => {
      const auth = this.authorizations.get(`${b.component_appid}:${b.authorizer_appid}`);
      if (!auth || auth.refreshToken !== b.authorizer_refresh_token)
        return fake.json(res, { errcode: 61023, errmsg: 'refresh_token is invalid' });
      if (this.rotate)
        ISSUED_SECRETS.add((auth.refreshToken = `refreshtoken@@@${crypto.randomBytes(12).toString('hex')}`));
      const t = fake.issue('AAT', b.authorizer_appid, false);
      fake.json(res, {
        authorizer_access_token: t.value,
        expires_in: t.expiresIn,
        authorizer_refresh_token: auth.refreshToken,
      });
    });
    c('api_get_authorizer_list', (b, _u, res) => {
      const all = [...this.authorizations.values()].filter((a) => a.component === b.component_appid);
      const page = all.slice(Number(b.offset) || 0, (Number(b.offset) || 0) + Math.min(500, Number(b.count) || 0));
      fake.json(res, {
        total_count: all.length,
        list: page.map((a) => ({
          authorizer_appid: a.authorizer,
          refresh_token: a.refreshToken,
          auth_time: 1700000000,
        })),
      });
    });
    fake.route('/sns/component/jscode2session', (u, _b, res) => {
      fake.hit('component_jscode2session', u.searchParams.get('appid'));
      const component = u.searchParams.get('component_appid') ?? '';
      if (!fake.isLive(u.searchParams.get('component_access_token') ?? '', 'CT', component))
        return fake.json(res, { errcode: 40001, errmsg: 'invalid credential' });
      if (u.searchParams.get('grant_type') !== 'authorization_code')
        return fake.json(res, { errcode: 40002, errmsg: 'invalid grant_type' });
      if (!this.authorizations.has(`${component}:${u.searchParams.get('appid')}`))
        return fake.json(res, { errcode: 61003, errmsg: 'component is not authorized by this account' });
      const code = u.searchParams.get('js_code') ?? '';
      if (!code.startsWith('tpcode_')) return fake.json(res, { errcode: 40029, errmsg: 'invalid code' });
      const sessionKey = crypto.randomBytes(16).toString('base64');
      ISSUED_SECRETS.add(sessionKey);
      fake.json(res, { openid: `o_${code}`, session_key: sessionKey });
    });

    const page = (kind: string) => (u: URL, _b: string, res: http.ServerResponse) => {
      fake.hit(kind, u.searchParams.get('component_appid'));
      const component = u.searchParams.get('component_appid') ?? '';
      const valid = this.preAuth.get(u.searchParams.get('pre_auth_code') ?? '') === component;
      const approve = valid ? this.authorizationCode(component, this.approveAs) : '';
      // WeChat appends auth_code and expires_in to redirect_uri, keeping the query it already has
      let back: string;
      try {
        const r = new URL(u.searchParams.get('redirect_uri') ?? '');
        r.searchParams.append('auth_code', approve);
        r.searchParams.append('expires_in', '3600');
        back = r.toString();
      } catch {
        back = 'about:blank';
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>fake ${kind}</title><h1 id="kind">${kind}</h1>
<p id="component">${component}</p><p id="valid">${valid ? 'valid' : 'invalid'}</p>
<a id="approve" href="${back.replace(/"/g, '&quot;')}">授权 approve</a>`);
    };
    fake.route('/cgi-bin/componentloginpage', page('componentloginpage'));
    fake.route('/safe/bindcomponent', page('bindcomponent'));
  }

  private grant(component: string, authorizer: string): Authorization {
    const key = `${component}:${authorizer}`;
    const a = this.authorizations.get(key) ?? { component, authorizer, refreshToken: '' };
    a.refreshToken = `refreshtoken@@@${crypto.randomBytes(12).toString('hex')}`;
    ISSUED_SECRETS.add(a.refreshToken);
    this.authorizations.set(key, a);
    return a;
  }

  /** an authorization code as WeChat hands it out when an admin authorizes */
  authorizationCode(component: string, authorizer: string): string {
    const code = `queryauthcode@@@${crypto.randomBytes(12).toString('hex')}`;
    ISSUED_SECRETS.add(code);
    this.codes.set(code, { component, authorizer });
    return code;
  }

  /** an authorization WeChat knows but gatehouse never saw (for sync) */
  preexisting(component: string, authorizer: string): void {
    this.grant(component, authorizer);
  }

  /** revokes the refresh token (as if re-authorized elsewhere): api_authorizer_token answers 61023 */
  revoke(component: string, authorizer: string): void {
    const a = this.authorizations.get(`${component}:${authorizer}`);
    if (a) a.refreshToken = 'revoked';
  }

  /** marks a verify ticket as the one WeChat accepts */
  acceptTicket(component: string, ticket: string): void {
    const set = this.tickets.get(component) ?? new Set<string>();
    registerSecret(ticket);
    set.add(ticket);
    this.tickets.set(component, set);
  }
}
