import { RpcError, upstreamError, type ErrcodeRules } from '../../../system/errors';
import type { Upstream } from '../../../system/upstream';

export interface Code2Session {
  openid: string;
  session_key: string;
  unionid?: string;
}

export interface Fetched {
  value: string;
  expiresIn: number;
}

interface WechatReply {
  errcode?: number;
  errmsg?: string;
}

interface TokenReply extends WechatReply {
  access_token?: string;
  ticket?: string;
  expires_in?: number;
}

/** errcodes that mean "this access token is no good" (WeChat and WeCom; 40082 / 42009: WeCom suite tokens) */
export const INVALID_TOKEN_ERRCODES: ReadonlySet<number> = new Set([40001, 40014, 42001, 40082, 42009]);

/**
 * How WeChat and WeCom errcodes are read: busy (-1) and 45000–45008 are worth another attempt;
 * INVALID_TOKEN_ERRCODES refuse the token used. Credentials, whitelists, quotas (45009): neither.
 */
export const WECHAT_ERRCODES: ErrcodeRules = {
  transient: (c) => c === -1 || (c >= 45000 && c <= 45008),
  tokenRejected: (c) => INVALID_TOKEN_ERRCODES.has(c),
};

/** Throws the platform's error (40029 envelope) when a reply carries a non-zero errcode. */
export function checkErrcode<T extends WechatReply>(platform: string, body: T): T {
  if (body.errcode !== undefined && body.errcode !== 0) {
    throw upstreamError(platform, body.errcode, String(body.errmsg ?? ''), WECHAT_ERRCODES);
  }
  return body;
}

/** the token (or ticket) a reply carries in `field`, with its expires_in; a 1007 when either is missing */
export function tokenOf(platform: string, api: string, body: Record<string, unknown>, field: string): Fetched {
  const value = body[field];
  const expiresIn = Number(body.expires_in);
  if (typeof value !== 'string' || !value || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw new RpcError('UPSTREAM_BAD_REPLY', '', `${platform} ${api}: no ${field} or expires_in`);
  }
  return { value, expiresIn };
}

/** The WeChat API (api.weixin.qq.com) as gatehouse uses it. */
export class WechatClient {
  constructor(
    private readonly upstream: Upstream,
    private readonly base: string,
  ) {}

  private async call(
    api: string,
    path: string,
    init: { query?: Record<string, string>; json?: unknown },
  ): Promise<TokenReply & Record<string, unknown>> {
    return checkErrcode(
      'wechat',
      await this.upstream.json<TokenReply & Record<string, unknown>>({
        platform: 'wechat',
        api,
        url: this.base + path,
        ...init,
      }),
    );
  }

  async jscode2session(appId: string, secret: string, jsCode: string): Promise<Code2Session> {
    const body = await this.call('jscode2session', '/sns/jscode2session', {
      query: { appid: appId, secret, js_code: jsCode, grant_type: 'authorization_code' },
    });
    return code2session(body, 'wechat jscode2session');
  }

  /** POST /cgi-bin/stable_token: the same token while it is valid, unless force_refresh */
  async stableToken(appId: string, secret: string, force: boolean): Promise<Fetched> {
    const body = await this.call('stable_token', '/cgi-bin/stable_token', {
      json: { grant_type: 'client_credential', appid: appId, secret, force_refresh: force },
    });
    return tokenOf('wechat', 'stable_token', body, 'access_token');
  }

  /** GET /cgi-bin/token: a new token on every call */
  async classicToken(appId: string, secret: string): Promise<Fetched> {
    const body = await this.call('token', '/cgi-bin/token', {
      query: { grant_type: 'client_credential', appid: appId, secret },
    });
    return tokenOf('wechat', 'token', body, 'access_token');
  }

  /** GET /cgi-bin/ticket/getticket: jsapi or wx_card ticket */
  async ticket(accessToken: string, type: 'jsapi' | 'wx_card'): Promise<Fetched> {
    const body = await this.call('getticket', '/cgi-bin/ticket/getticket', {
      query: { access_token: accessToken, type },
    });
    return tokenOf('wechat', 'getticket', body, 'ticket');
  }

  // ---- third-party platform (component) API

  private component(api: string, componentToken: string | undefined, json: unknown) {
    return this.call(api, `/cgi-bin/component/${api}`, {
      json,
      query: componentToken === undefined ? undefined : { component_access_token: componentToken },
    });
  }

  /** component_access_token from the pushed component_verify_ticket */
  async componentToken(componentAppId: string, secret: string, verifyTicket: string): Promise<Fetched> {
    const body = await this.component('api_component_token', undefined, {
      component_appid: componentAppId,
      component_appsecret: secret,
      component_verify_ticket: verifyTicket,
    });
    return tokenOf('wechat', 'api_component_token', body, 'component_access_token');
  }

  async preAuthCode(componentToken: string, componentAppId: string): Promise<string> {
    const body = await this.component('api_create_preauthcode', componentToken, { component_appid: componentAppId });
    if (typeof body.pre_auth_code !== 'string' || !body.pre_auth_code)
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'wechat api_create_preauthcode: no pre_auth_code');
    return body.pre_auth_code;
  }

  /** exchanges an authorization code: the authorizer, its first access token and its refresh token */
  async queryAuth(componentToken: string, componentAppId: string, authCode: string): Promise<AuthorizationInfo> {
    const body = await this.component('api_query_auth', componentToken, {
      component_appid: componentAppId,
      authorization_code: authCode,
    });
    const info = body.authorization_info as Record<string, unknown> | undefined;
    if (!info || typeof info.authorizer_appid !== 'string' || typeof info.authorizer_refresh_token !== 'string') {
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'wechat api_query_auth: no authorization_info');
    }
    return {
      authorizerAppId: info.authorizer_appid,
      refreshToken: info.authorizer_refresh_token,
      accessToken: typeof info.authorizer_access_token === 'string' ? info.authorizer_access_token : undefined,
      expiresIn: Number(info.expires_in) || undefined,
      funcInfo: info.func_info,
    };
  }

  /** a new authorizer access token; the refresh token may come back rotated */
  async authorizerToken(
    componentToken: string,
    componentAppId: string,
    authorizerAppId: string,
    refreshToken: string,
  ): Promise<Fetched & { refreshToken?: string }> {
    const body = await this.component('api_authorizer_token', componentToken, {
      component_appid: componentAppId,
      authorizer_appid: authorizerAppId,
      authorizer_refresh_token: refreshToken,
    });
    const t = tokenOf('wechat', 'api_authorizer_token', body, 'authorizer_access_token');
    const rotated =
      typeof body.authorizer_refresh_token === 'string' && body.authorizer_refresh_token
        ? body.authorizer_refresh_token
        : undefined;
    return { ...t, refreshToken: rotated };
  }

  /** one page of the authorizers WeChat knows for a component (with their refresh tokens) */
  async authorizerList(
    componentToken: string,
    componentAppId: string,
    offset: number,
    count: number,
  ): Promise<{ total: number; list: Array<{ authorizerAppId: string; refreshToken: string; authTime?: number }> }> {
    const body = await this.component('api_get_authorizer_list', componentToken, {
      component_appid: componentAppId,
      offset,
      count,
    });
    const list = Array.isArray(body.list) ? (body.list as Array<Record<string, unknown>>) : [];
    return {
      total: Number(body.total_count) || 0,
      list: list
        .filter((i) => typeof i.authorizer_appid === 'string' && typeof i.refresh_token === 'string')
        .map((i) => ({
          authorizerAppId: String(i.authorizer_appid),
          refreshToken: String(i.refresh_token),
          authTime: Number(i.auth_time) || undefined,
        })),
    };
  }

  /** jscode2session for a mini program run by a third-party platform (component token, not the authorizer's) */
  async componentJscode2session(
    appId: string,
    jsCode: string,
    componentAppId: string,
    componentToken: string,
  ): Promise<Code2Session> {
    const body = await this.call('component_jscode2session', '/sns/component/jscode2session', {
      query: {
        appid: appId,
        js_code: jsCode,
        grant_type: 'authorization_code',
        component_appid: componentAppId,
        component_access_token: componentToken,
      },
    });
    return code2session(body, 'wechat component jscode2session');
  }
}

/** a jscode2session answer: openid and session_key required (otherwise 1016), unionid when given */
function code2session(body: Record<string, unknown>, what: string): Code2Session {
  const { openid, session_key, unionid } = body;
  if (typeof openid !== 'string' || !openid || typeof session_key !== 'string' || !session_key)
    throw new RpcError('UPSTREAM_BAD_REPLY', '', `${what}: no openid or session_key`);
  return { openid, session_key, unionid: typeof unionid === 'string' ? unionid : undefined };
}

export interface AuthorizationInfo {
  authorizerAppId: string;
  refreshToken: string;
  accessToken?: string;
  expiresIn?: number;
  funcInfo?: unknown;
}
