import type { PlatformDeps } from '../../services/deps';
import { WecomClient } from './client';
import { WecomTokens } from './tokens';
import { WecomTp } from './tp';

/** WeCom's parts: the API client, the corp agents' tokens and tickets, the third-party suites. */
export type WecomParts = ReturnType<typeof buildWecom>;

export function buildWecom(d: PlatformDeps, urls: { api: string; open: string }) {
  const client = new WecomClient(d.upstream, urls.api);
  const tp = new WecomTp(d, client, urls.open);
  return { client, tokens: new WecomTokens(d.engine, client, d.apps), tp, urls };
}
