import { RpcError, upstreamError } from '../../../system/errors';
import type { Upstream } from '../../../system/upstream';

export interface Code2Session {
  openid: string;
  session_key: string;
  unionid?: string;
}

interface WechatReply {
  errcode?: number;
  errmsg?: string;
}

/** Throws the platform's error (40029 envelope) when a WeChat reply carries a non-zero errcode. */
export function checkWechat<T extends WechatReply>(body: T): T {
  if (body.errcode !== undefined && body.errcode !== 0) {
    throw upstreamError('wechat', body.errcode, String(body.errmsg ?? ''));
  }
  return body;
}

/** The WeChat API (api.weixin.qq.com) as gatehouse uses it. */
export class WechatClient {
  constructor(
    private readonly upstream: Upstream,
    private readonly base: string,
  ) {}

  async jscode2session(appId: string, secret: string, jsCode: string): Promise<Code2Session> {
    const body = checkWechat(
      await this.upstream.json<Code2Session & WechatReply>({
        platform: 'wechat',
        api: 'jscode2session',
        url: `${this.base}/sns/jscode2session`,
        query: { appid: appId, secret, js_code: jsCode, grant_type: 'authorization_code' },
      }),
    );
    if (typeof body.openid !== 'string' || !body.openid || typeof body.session_key !== 'string' || !body.session_key) {
      throw new RpcError('UPSTREAM_BAD_REPLY', '', 'wechat jscode2session: no openid or session_key');
    }
    return { openid: body.openid, session_key: body.session_key, unionid: typeof body.unionid === 'string' ? body.unionid : undefined };
  }
}
