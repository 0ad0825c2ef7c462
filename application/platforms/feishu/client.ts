import { RpcError, upstreamError, type ErrcodeRules } from '../../../system/errors';
import type { Upstream } from '../../../system/upstream';
import type { Fetched } from '../../services/tokens/engine';

/**
 * Feishu's `code`s that refuse the token a call was made with: 99991663 invalid tenant token,
 * 99991664 invalid app token, 99991665 / 99991668 invalid access token, 99991677 expired.
 * A call made with such a token is compare-and-refreshed and sent once more.
 */
export const FEISHU_TOKEN_REJECTED = new Set([99991663, 99991664, 99991665, 99991668, 99991677]);

/** Feishu's codes: -1 and 99991400-ish internal errors are not retried; a rejected token is */
export const FEISHU_ERRCODES: ErrcodeRules = {
  transient: (c) => c === -1,
  tokenRejected: (c) => FEISHU_TOKEN_REJECTED.has(c),
};

type Reply = Record<string, unknown>;

/**
 * The Feishu / Lark open platform (open.feishu.cn, open.larksuite.com: the same API) as gatehouse
 * uses it: `{code, msg, …}` replies, code 0 for success. Feishu answers some refusals with an HTTP
 * 4xx and the same JSON; its `code` is what counts.
 */
export class FeishuClient {
  constructor(private readonly upstream: Upstream) {}

  private async call(base: string, api: string, path: string, json: unknown, bearer?: string): Promise<Reply> {
    const r = await this.upstream.raw({
      platform: 'feishu',
      api,
      url: `${base}/open-apis${path}`,
      method: 'POST',
      json,
      headers: bearer ? { authorization: `Bearer ${bearer}` } : undefined,
      errcodeField: 'code',
    });
    const body = r.json;
    if (!body || body.code === undefined) {
      if (r.res.status < 200 || r.res.status > 299)
        throw new RpcError('UPSTREAM_UNREACHABLE', '', `feishu ${api}: HTTP ${r.res.status}`);
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `feishu ${api}: reply is not a Feishu answer`);
    }
    if (body.code !== 0) throw upstreamError('feishu', body.code as number, String(body.msg ?? ''), FEISHU_ERRCODES);
    return body;
  }

  private static token(api: string, body: Reply, field: string): Fetched {
    const value = body[field];
    const expiresIn = Number(body.expire);
    if (typeof value !== 'string' || !value || !(expiresIn > 0))
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `feishu ${api}: no ${field} or expire`);
    return { value, expiresIn };
  }

  /** self-built app: POST /auth/v3/app_access_token/internal */
  async appTokenInternal(base: string, appId: string, secret: string): Promise<Fetched> {
    const b = await this.call(base, 'app_access_token_internal', '/auth/v3/app_access_token/internal', {
      app_id: appId,
      app_secret: secret,
    });
    return FeishuClient.token('app_access_token_internal', b, 'app_access_token');
  }

  /** self-built app: POST /auth/v3/tenant_access_token/internal */
  async tenantTokenInternal(base: string, appId: string, secret: string): Promise<Fetched> {
    const b = await this.call(base, 'tenant_access_token_internal', '/auth/v3/tenant_access_token/internal', {
      app_id: appId,
      app_secret: secret,
    });
    return FeishuClient.token('tenant_access_token_internal', b, 'tenant_access_token');
  }

  /** store app: POST /auth/v3/app_access_token with the pushed app_ticket */
  async appToken(base: string, appId: string, secret: string, appTicket: string): Promise<Fetched> {
    const b = await this.call(base, 'app_access_token', '/auth/v3/app_access_token', {
      app_id: appId,
      app_secret: secret,
      app_ticket: appTicket,
    });
    return FeishuClient.token('app_access_token', b, 'app_access_token');
  }

  /** store app: POST /auth/v3/tenant_access_token for one tenant, with the app_access_token */
  async tenantToken(base: string, appAccessToken: string, tenantKey: string): Promise<Fetched> {
    const b = await this.call(base, 'tenant_access_token', '/auth/v3/tenant_access_token', {
      app_access_token: appAccessToken,
      tenant_key: tenantKey,
    });
    return FeishuClient.token('tenant_access_token', b, 'tenant_access_token');
  }

  /** store app: POST /auth/v3/app_ticket/resend (Feishu pushes a new app_ticket at once) */
  async resendTicket(base: string, appId: string, secret: string): Promise<void> {
    await this.call(base, 'app_ticket_resend', '/auth/v3/app_ticket/resend', { app_id: appId, app_secret: secret });
  }

  /** POST /jssdk/ticket/get with a tenant_access_token: `{data: {ticket, expire_in}}` */
  async jsapiTicket(base: string, tenantToken: string): Promise<Fetched> {
    const b = await this.call(base, 'jssdk_ticket_get', '/jssdk/ticket/get', {}, tenantToken);
    const d = (b.data ?? {}) as Reply;
    const expiresIn = Number(d.expire_in);
    if (typeof d.ticket !== 'string' || !d.ticket || !(expiresIn > 0))
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'feishu jssdk_ticket_get: no ticket or expire_in');
    return { value: d.ticket, expiresIn };
  }

  /** mini program: POST /mina/v2/tokenLoginValidate {code} with the app_access_token */
  async miniLogin(base: string, appToken: string, code: string): Promise<Reply> {
    const b = await this.call(base, 'tokenLoginValidate', '/mina/v2/tokenLoginValidate', { code }, appToken);
    return (b.data ?? {}) as Reply;
  }

  /** H5 (web app) login: POST /authen/v1/access_token {grant_type, code} with the app_access_token */
  async webLogin(base: string, appToken: string, code: string): Promise<Reply> {
    const b = await this.call(
      base,
      'authen_access_token',
      '/authen/v1/access_token',
      { grant_type: 'authorization_code', code },
      appToken,
    );
    return (b.data ?? {}) as Reply;
  }
}
