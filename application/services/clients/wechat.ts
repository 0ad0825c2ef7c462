import { RpcError, upstreamError } from '../../../system/errors';
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

/** Throws the platform's error (40029 envelope) when a reply carries a non-zero errcode. */
export function checkErrcode<T extends WechatReply>(platform: string, body: T): T {
  if (body.errcode !== undefined && body.errcode !== 0) {
    throw upstreamError(platform, body.errcode, String(body.errmsg ?? ''));
  }
  return body;
}

export function tokenOf(platform: string, api: string, body: TokenReply, field: 'access_token' | 'ticket'): Fetched {
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

  private async call(api: string, path: string, init: { query?: Record<string, string>; json?: unknown }): Promise<TokenReply & Record<string, unknown>> {
    return checkErrcode('wechat', await this.upstream.json<TokenReply & Record<string, unknown>>({ platform: 'wechat', api, url: this.base + path, ...init }));
  }

  async jscode2session(appId: string, secret: string, jsCode: string): Promise<Code2Session> {
    const body = await this.call('jscode2session', '/sns/jscode2session', {
      query: { appid: appId, secret, js_code: jsCode, grant_type: 'authorization_code' },
    });
    if (typeof body.openid !== 'string' || !body.openid || typeof body.session_key !== 'string' || !body.session_key) {
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'wechat jscode2session: no openid or session_key');
    }
    return { openid: body.openid, session_key: body.session_key, unionid: typeof body.unionid === 'string' ? body.unionid : undefined };
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
    const body = await this.call('token', '/cgi-bin/token', { query: { grant_type: 'client_credential', appid: appId, secret } });
    return tokenOf('wechat', 'token', body, 'access_token');
  }

  /** GET /cgi-bin/ticket/getticket: jsapi or wx_card ticket */
  async ticket(accessToken: string, type: 'jsapi' | 'wx_card'): Promise<Fetched> {
    const body = await this.call('getticket', '/cgi-bin/ticket/getticket', { query: { access_token: accessToken, type } });
    return tokenOf('wechat', 'getticket', body, 'ticket');
  }
}
