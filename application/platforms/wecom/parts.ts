import type { PlatformDeps } from '../../services/deps';
import { WecomClient } from './client';
import { WecomTokens } from './tokens';
import { WecomTp } from './tp';

/** WeCom's parts: the API client, the corp agents' tokens and tickets, the third-party suites. */
export type WecomParts = ReturnType<typeof buildWecom>;

export function buildWecom(d: PlatformDeps, urls: { api: string; open: string }) {
  const client = new WecomClient(d.upstream, urls.api);
  return {
    client,
    tokens: new WecomTokens(d.engine, client, d.apps),
    tp: new WecomTp(d.store, d.apps, d.engine, client, d.box, d.pushes, d.log, urls.open, d.config.publicUrl),
    urls,
  };
}
