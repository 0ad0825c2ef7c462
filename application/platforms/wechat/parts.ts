import type { PlatformDeps } from '../../services/deps';
import { WechatClient } from './client';
import { WechatTokens } from './tokens';
import { WechatTp } from './tp';

/** WeChat's parts: the API client, the app tokens and tickets, the third-party platform. */
export type WechatParts = ReturnType<typeof buildWechat>;

export function buildWechat(d: PlatformDeps, urls: { api: string; mp: string }) {
  const client = new WechatClient(d.upstream, urls.api);
  return {
    client,
    tokens: new WechatTokens(d.engine, client, d.apps),
    tp: new WechatTp(d.store, d.apps, d.engine, client, d.box, d.pushes, d.log, urls.mp, d.config.publicUrl),
    urls,
  };
}
