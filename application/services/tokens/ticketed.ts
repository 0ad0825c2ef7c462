import { RpcError } from '../../../system/errors';
import type { Store } from '../../../db/store';
import type { AppConfig } from '../apps';
import type { TokenSpec } from './engine';
import { makeSpec } from './spec';

/**
 * The token of a third-party platform or suite (component / suite access token), fetched with the
 * ticket the platform last pushed (`ticketName`: component_verify_ticket, suite_ticket); 1014 until
 * the first one came.
 */
export function ticketedSpec(
  store: Store,
  platform: string,
  app: AppConfig,
  kind: string,
  ticketName: string,
  exchange: (ticket: string) => ReturnType<TokenSpec['fetch']>,
): TokenSpec {
  return makeSpec(platform, app.codeName, app.appId, kind, async () => {
    const ticket = await store.getTicket(platform, app.appId);
    if (!ticket) throw new RpcError('NOT_READY', '', `${app.codeName}: no ${ticketName} received yet`);
    return exchange(ticket.value);
  });
}
