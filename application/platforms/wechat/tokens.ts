import type { TokenRow } from '../../../db/store';
import type { AppConfig, AppService } from '../../services/apps';
import type { Fetched, TokenEngine } from '../../services/tokens/engine';
import { AppTokens } from '../../services/tokens/app-tokens';
import type { WechatClient } from './client';

export const WECHAT_TICKET_TYPES = ['jsapi', 'wx_card'] as const;
export type WechatTicketType = (typeof WECHAT_TICKET_TYPES)[number];

/** Access tokens and tickets of WeChat official accounts and mini programs. */
export class WechatTokens extends AppTokens<WechatTicketType> {
  constructor(
    engine: TokenEngine,
    private readonly wechat: WechatClient,
    private readonly apps: AppService,
  ) {
    super(engine, {
      platform: 'wechat_app',
      ticketTypes: WECHAT_TICKET_TYPES,
      pageTypes: ['jsapi'],
      ids: { appId: (app) => app.appId },
    });
  }

  subject(app: AppConfig): string {
    return app.appId;
  }

  /** the enabled app of a stored token: by its codeName, or (renamed) by its appId */
  protected async appOf(row: TokenRow): Promise<AppConfig | null> {
    const app =
      (await this.apps.get('wechat_app', row.codeName)) ?? (await this.apps.byAppId('wechat_app', row.subject));
    return app && app.enabled && app.appId === row.subject ? app : null;
  }

  /** stable_token (default; `force` asks WeChat for a new one) or the classic /cgi-bin/token */
  protected fetchToken(app: AppConfig, force: boolean): Promise<Fetched> {
    const secret = String(app.config.secret);
    return app.config.tokenMode === 'classic'
      ? this.wechat.classicToken(app.appId, secret)
      : this.wechat.stableToken(app.appId, secret, force);
  }

  protected fetchTicket(accessToken: string, type: WechatTicketType): Promise<Fetched> {
    return this.wechat.ticket(accessToken, type);
  }
}
