import { RpcError, upstreamError, type ErrcodeRules } from '../../../system/errors';
import type { Upstream } from '../../../system/upstream';
import type { Fetched } from '../wechat/client';

interface Reply {
  err_no?: number;
  err_tips?: string;
  data?: Record<string, unknown>;
}

/** ByteDance's err_no: -1 (system busy) is worth another attempt */
const TOUTIAO_ERRCODES: ErrcodeRules = { transient: (c) => c === -1 };

/** The ByteDance mini-program API (developer.toutiao.com): `{err_no, err_tips, data}` replies. */
export class ToutiaoClient {
  constructor(
    private readonly upstream: Upstream,
    private readonly base: string,
  ) {}

  private async post(api: string, json: unknown): Promise<Record<string, unknown>> {
    const body = await this.upstream.json<Reply>({
      platform: 'toutiao',
      api,
      url: `${this.base}/api/apps/v2/${api}`,
      method: 'POST',
      json,
      errcodeField: 'err_no',
    });
    if (body.err_no !== undefined && body.err_no !== 0)
      throw upstreamError('toutiao', body.err_no, String(body.err_tips ?? ''), TOUTIAO_ERRCODES);
    if (!body.data || typeof body.data !== 'object')
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `toutiao ${api}: no data`);
    return body.data;
  }

  async token(appId: string, secret: string): Promise<Fetched> {
    const d = await this.post('token', { appid: appId, secret, grant_type: 'client_credential' });
    const expiresIn = Number(d.expires_in);
    if (typeof d.access_token !== 'string' || !d.access_token || !(expiresIn > 0))
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'toutiao token: no access_token');
    return { value: d.access_token, expiresIn };
  }

  async code2session(appId: string, secret: string, code?: string, anonymousCode?: string) {
    const d = await this.post('jscode2session', {
      appid: appId,
      secret,
      ...(code ? { code } : {}),
      ...(anonymousCode ? { anonymous_code: anonymousCode } : {}),
    });
    if (typeof d.session_key !== 'string')
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'toutiao jscode2session: no session_key');
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    return {
      openid: str(d.openid) ?? '',
      sessionKey: d.session_key,
      anonymousOpenid: str(d.anonymous_openid),
      unionid: str(d.unionid),
    };
  }
}
