import { RpcError, upstreamError, type ErrcodeRules } from '../../../system/errors';
import type { Upstream } from '../../../system/upstream';
import type { Fetched } from '../../services/tokens/engine';

/** oapi errcodes refusing the access token sent: 40001 / 40014 invalid, 42001 expired */
export const DINGTALK_TOKEN_REJECTED = new Set([40001, 40014, 42001]);

export const DINGTALK_ERRCODES: ErrcodeRules = {
  transient: (c) => c === -1,
  tokenRejected: (c) => DINGTALK_TOKEN_REJECTED.has(c),
};

type Reply = Record<string, unknown>;

/**
 * DingTalk (钉钉) as gatehouse uses it: the new API (api.dingtalk.com: `{accessToken, expireIn}`,
 * errors as an HTTP 4xx with `{code, message}`) and the old one (oapi.dingtalk.com: `{errcode,
 * errmsg, …}`). One access token serves both hosts.
 */
export class DingtalkClient {
  constructor(
    private readonly upstream: Upstream,
    private readonly urls: { oapi: string; api: string },
  ) {}

  /** an oapi call: errcode 0 or the platform's error */
  private async oapi(api: string, path: string, query: Record<string, string>, json?: unknown): Promise<Reply> {
    const body = await this.upstream.json<Reply>({
      platform: 'dingtalk',
      api,
      url: `${this.urls.oapi}${path}`,
      query,
      json,
    });
    if (body.errcode !== undefined && body.errcode !== 0)
      throw upstreamError('dingtalk', body.errcode as number, String(body.errmsg ?? ''), DINGTALK_ERRCODES);
    return body;
  }

  /** POST api /v1.0/oauth2/accessToken {appKey, appSecret} (企业内部应用) */
  async token(appKey: string, appSecret: string): Promise<Fetched> {
    const r = await this.upstream.raw({
      platform: 'dingtalk',
      api: 'oauth2_accessToken',
      url: `${this.urls.api}/v1.0/oauth2/accessToken`,
      json: { appKey, appSecret },
      errcodeField: 'code',
    });
    const b = r.json;
    if (r.res.status >= 500 || !b)
      throw new RpcError('UPSTREAM_UNREACHABLE', '', `dingtalk oauth2_accessToken: HTTP ${r.res.status}`);
    if (r.res.status !== 200 || typeof b.code === 'string')
      throw upstreamError('dingtalk', String(b.code ?? `http_${r.res.status}`), String(b.message ?? ''));
    const expiresIn = Number(b.expireIn);
    if (typeof b.accessToken !== 'string' || !b.accessToken || !(expiresIn > 0))
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'dingtalk oauth2_accessToken: no accessToken or expireIn');
    return { value: b.accessToken, expiresIn };
  }

  /** GET oapi /gettoken?appkey=&appsecret= (tokenMode "legacy") */
  async legacyToken(appKey: string, appSecret: string): Promise<Fetched> {
    const b = await this.oapi('gettoken', '/gettoken', { appkey: appKey, appsecret: appSecret });
    return DingtalkClient.fetched('gettoken', b, 'access_token');
  }

  /** GET oapi /get_jsapi_ticket?access_token= */
  async jsapiTicket(accessToken: string): Promise<Fetched> {
    const b = await this.oapi('get_jsapi_ticket', '/get_jsapi_ticket', { access_token: accessToken });
    return DingtalkClient.fetched('get_jsapi_ticket', b, 'ticket');
  }

  /** POST oapi /topapi/v2/user/getuserinfo {code}: the 免登 code of an H5 page or mini program → the user */
  async userinfo(accessToken: string, code: string): Promise<Reply> {
    const b = await this.oapi('getuserinfo', '/topapi/v2/user/getuserinfo', { access_token: accessToken }, { code });
    const result = b.result;
    if (!result || typeof result !== 'object')
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'dingtalk getuserinfo: no result');
    return result as Reply;
  }

  private static fetched(api: string, b: Reply, field: string): Fetched {
    const value = b[field];
    const expiresIn = Number(b.expires_in);
    if (typeof value !== 'string' || !value || !(expiresIn > 0))
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `dingtalk ${api}: no ${field} or expires_in`);
    return { value, expiresIn };
  }
}
