import type { Upstream } from '../../../system/upstream';
import { checkErrcode, tokenOf, type Fetched } from './wechat';

/** The WeCom API (qyapi.weixin.qq.com) as gatehouse uses it. */
export class WecomClient {
  constructor(
    private readonly upstream: Upstream,
    private readonly base: string,
  ) {}

  private async get(api: string, path: string, query: Record<string, string>, field: 'access_token' | 'ticket'): Promise<Fetched> {
    const body = checkErrcode('wecom', await this.upstream.json({ platform: 'wecom', api, url: this.base + path, query }));
    return tokenOf('wecom', api, body, field);
  }

  /** GET /cgi-bin/gettoken (one token per corp + app secret) */
  token(corpId: string, secret: string): Promise<Fetched> {
    return this.get('gettoken', '/cgi-bin/gettoken', { corpid: corpId, corpsecret: secret }, 'access_token');
  }

  /** GET /cgi-bin/get_jsapi_ticket (corp) or /cgi-bin/ticket/get?type=agent_config (app) */
  ticket(accessToken: string, type: 'jsapi' | 'agent_config'): Promise<Fetched> {
    return type === 'jsapi'
      ? this.get('get_jsapi_ticket', '/cgi-bin/get_jsapi_ticket', { access_token: accessToken }, 'ticket')
      : this.get('ticket_get', '/cgi-bin/ticket/get', { access_token: accessToken, type: 'agent_config' }, 'ticket');
  }
}
