import { RpcError, upstreamError, type ErrcodeRules } from '../../../system/errors';
import type { Upstream } from '../../../system/upstream';
import type { Code2Session, Fetched } from '../wechat/client';

interface Reply {
  errcode?: number;
  errmsg?: string;
  [k: string]: unknown;
}

/** QQ's errcodes read as WeChat's: busy (-1) is worth another attempt; 40001 / 42001 refuse the token */
const QQ_ERRCODES: ErrcodeRules = {
  transient: (c) => c === -1,
  tokenRejected: (c) => c === 40001 || c === 42001,
};

/** The QQ mini-program API (api.q.qq.com): WeChat-style `{errcode, errmsg, …}` replies. */
export class QqClient {
  constructor(
    private readonly upstream: Upstream,
    private readonly base: string,
  ) {}

  private async get(api: string, path: string, query: Record<string, string>): Promise<Reply> {
    const body = await this.upstream.json<Reply>({ platform: 'qq', api, url: this.base + path, method: 'GET', query });
    if (body.errcode !== undefined && body.errcode !== 0)
      throw upstreamError('qq', body.errcode, String(body.errmsg ?? ''), QQ_ERRCODES);
    return body;
  }

  /** GET /api/getToken: the mini program's access token */
  async token(appId: string, secret: string): Promise<Fetched> {
    const b = await this.get('getToken', '/api/getToken', { grant_type: 'client_credential', appid: appId, secret });
    const expiresIn = Number(b.expires_in);
    if (typeof b.access_token !== 'string' || !b.access_token || !(expiresIn > 0))
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'qq getToken: no access_token or expires_in');
    return { value: b.access_token, expiresIn };
  }

  /** GET /sns/jscode2session: qq.login's code → openid, session_key, unionid? */
  async jscode2session(appId: string, secret: string, code: string): Promise<Code2Session> {
    const b = await this.get('jscode2session', '/sns/jscode2session', {
      appid: appId,
      secret,
      js_code: code,
      grant_type: 'authorization_code',
    });
    const { openid, session_key, unionid } = b;
    if (typeof openid !== 'string' || !openid || typeof session_key !== 'string' || !session_key)
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'qq jscode2session: no openid or session_key');
    return { openid, session_key, unionid: typeof unionid === 'string' && unionid ? unionid : undefined };
  }
}
