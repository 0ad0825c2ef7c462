import type { PlatformDeps } from '../../services/deps';
import { FeishuClient } from './client';
import { FeishuEvents } from './events';
import { FeishuTokens } from './tokens';

/** Feishu's parts: the API client, the apps' and tenants' tokens, the event callbacks. */
export type FeishuParts = ReturnType<typeof buildFeishu>;

export function buildFeishu(d: PlatformDeps, urls: { api: string; lark: string }) {
  const client = new FeishuClient(d.upstream);
  const tokens = new FeishuTokens(d, client, urls);
  return { client, tokens, events: new FeishuEvents(d, tokens), urls };
}
