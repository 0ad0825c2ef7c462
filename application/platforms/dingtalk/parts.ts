import type { PlatformDeps } from '../../services/deps';
import { DingtalkClient } from './client';
import { DingtalkTokens } from './tokens';

/** DingTalk's parts: the client (both hosts) and the apps' tokens. */
export type DingtalkParts = ReturnType<typeof buildDingtalk>;

export function buildDingtalk(d: PlatformDeps, urls: { oapi: string; api: string }) {
  const client = new DingtalkClient(d.upstream, urls);
  return { client, tokens: new DingtalkTokens(d.engine, client, d.apps), urls, d };
}
