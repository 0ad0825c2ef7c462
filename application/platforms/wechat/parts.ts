import type { PlatformDeps } from '../../services/deps';
import { WechatClient } from './client';
import { WechatTokens } from './tokens';
import { WechatTp } from './tp';

/** WeChat's parts: the API client, the app tokens and tickets, the third-party platform. */
export type WechatParts = ReturnType<typeof buildWechat>;

export function buildWechat(d: PlatformDeps, urls: { api: string; mp: string }) {
  const client = new WechatClient(d.upstream, urls.api);
  const tp = new WechatTp(d, client, urls.mp);
  return { client, tokens: new WechatTokens(d.engine, client, d.apps), tp, urls };
}
