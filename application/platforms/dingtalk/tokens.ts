import type { TokenRow } from '../../../db/store';
import type { AppConfig, AppService } from '../../services/apps';
import { AppTokens } from '../../services/tokens/app-tokens';
import type { Fetched, TokenEngine } from '../../services/tokens/engine';
import type { DingtalkClient } from './client';

export const PLATFORM = 'dingtalk_app';

/**
 * A DingTalk app's access token (the new oauth2/accessToken, or gettoken with `tokenMode:
 * "legacy"`) and its jsapi ticket, through the engine; the token subject is the appKey.
 */
export class DingtalkTokens extends AppTokens<'jsapi'> {
  constructor(
    engine: TokenEngine,
    private readonly client: DingtalkClient,
    private readonly apps: AppService,
  ) {
    super(engine, {
      platform: PLATFORM,
      ticketTypes: ['jsapi'],
      pageTypes: ['jsapi'],
      ids: {
        appKey: (app) => app.appId,
        corpId: (app) => String(app.config.corpId),
        agentId: (app) => String(app.config.agentId),
      },
      ticketIds: ['appKey'],
    });
  }

  subject(app: AppConfig): string {
    return app.appId;
  }

  protected async appOf(row: TokenRow): Promise<AppConfig | null> {
    const app = await this.apps.get(PLATFORM, row.codeName);
    return app && app.enabled && app.appId === row.subject ? app : null;
  }

  protected fetchToken(app: AppConfig): Promise<Fetched> {
    const secret = String(app.config.appSecret);
    return app.config.tokenMode === 'legacy'
      ? this.client.legacyToken(app.appId, secret)
      : this.client.token(app.appId, secret);
  }

  protected fetchTicket(accessToken: string): Promise<Fetched> {
    return this.client.jsapiTicket(accessToken);
  }
}
