import { RpcError } from '../../../system/errors';
import type { Upstream } from '../../../system/upstream';
import { checkErrcode, tokenOf, type Fetched } from '../wechat/client';

/** The WeCom API (qyapi.weixin.qq.com) as gatehouse uses it. */
export class WecomClient {
  constructor(
    private readonly upstream: Upstream,
    private readonly base: string,
  ) {}

  private async get(
    api: string,
    path: string,
    query: Record<string, string>,
    field: 'access_token' | 'ticket',
  ): Promise<Fetched> {
    const body = checkErrcode(
      'wecom',
      await this.upstream.json({ platform: 'wecom', api, url: this.base + path, query }),
    );
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

  // ---- third-party suites (第三方应用): /cgi-bin/service/*

  private async service(api: string, suiteToken: string | undefined, json?: unknown): Promise<Record<string, unknown>> {
    const query = suiteToken === undefined ? undefined : { suite_access_token: suiteToken };
    return checkErrcode(
      'wecom',
      await this.upstream.json<Record<string, unknown>>({
        platform: 'wecom',
        api,
        url: `${this.base}/cgi-bin/service/${api}`,
        query,
        json,
      }),
    );
  }

  /** POST get_suite_token: the suite_access_token from the pushed suite_ticket */
  async suiteToken(suiteId: string, secret: string, suiteTicket: string): Promise<Fetched> {
    const body = await this.service('get_suite_token', undefined, {
      suite_id: suiteId,
      suite_secret: secret,
      suite_ticket: suiteTicket,
    });
    return tokenOf('wecom', 'get_suite_token', body, 'suite_access_token');
  }

  /** GET get_pre_auth_code: a pre-authorization code for the install page */
  async preAuthCode(suiteToken: string): Promise<string> {
    const body = await this.service('get_pre_auth_code', suiteToken);
    if (typeof body.pre_auth_code !== 'string' || !body.pre_auth_code)
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'wecom get_pre_auth_code: no pre_auth_code');
    return body.pre_auth_code;
  }

  /** POST get_permanent_code: exchanges a temporary auth code for the corp's permanent code */
  async permanentCode(suiteToken: string, authCode: string): Promise<PermanentCodeInfo> {
    const body = await this.service('get_permanent_code', suiteToken, { auth_code: authCode });
    const corp = body.auth_corp_info as Record<string, unknown> | undefined;
    if (
      !corp ||
      typeof corp.corpid !== 'string' ||
      !corp.corpid ||
      typeof body.permanent_code !== 'string' ||
      !body.permanent_code
    ) {
      throw new RpcError(
        'UPSTREAM_BAD_REPLY',
        '',
        'wecom get_permanent_code: no auth_corp_info.corpid or permanent_code',
      );
    }
    const info: Record<string, unknown> = {};
    for (const k of [
      'auth_corp_info',
      'auth_info',
      'auth_user_info',
      'dealer_corp_info',
      'register_code_info',
      'edition_info',
      'state',
    ]) {
      if (body[k] !== undefined) info[k] = body[k];
    }
    const expiresIn = Number(body.expires_in);
    return {
      corpId: corp.corpid,
      permanentCode: body.permanent_code,
      accessToken: typeof body.access_token === 'string' && body.access_token ? body.access_token : undefined,
      expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
      info,
    };
  }

  /** POST get_corp_token: an authorized corp's access token from its permanent code */
  async corpToken(suiteToken: string, corpId: string, permanentCode: string): Promise<Fetched> {
    const body = await this.service('get_corp_token', suiteToken, {
      auth_corpid: corpId,
      permanent_code: permanentCode,
    });
    return tokenOf('wecom', 'get_corp_token', body, 'access_token');
  }
}

/** what get_permanent_code answers (the first corp token comes with it) */
export interface PermanentCodeInfo {
  corpId: string;
  permanentCode: string;
  accessToken?: string;
  expiresIn?: number;
  /** auth_corp_info / auth_info / auth_user_info as WeCom sent them (no credentials) */
  info: Record<string, unknown>;
}
