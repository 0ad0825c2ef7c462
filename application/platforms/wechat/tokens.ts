import type { TokenRow } from '../../../db/store';
import type { AppConfig, AppService } from '../../services/apps';
import type { WechatClient } from './client';
import { signPage } from '../../services/crypto/jssdk';
import type { CurrentToken, GetOptions, TokenEngine, TokenSpec } from '../../services/tokens/engine';
import { appTokenResolvers } from '../../services/tokens/app-resolvers';
import { makeSpec, withAccessToken } from '../../services/tokens/spec';

export type WechatTicketType = 'jsapi' | 'wx_card';

/** Access tokens and tickets of WeChat official accounts and mini programs. */
export class WechatTokens {
  constructor(
    private readonly engine: TokenEngine,
    private readonly wechat: WechatClient,
    private readonly apps: AppService,
  ) {
    const types = ['jsapi', 'wx_card'] as const;
    appTokenResolvers(
      engine,
      'wechat_app',
      (row) => this.appOf(row),
      (app) => this.accessSpec(app),
      types,
      (app, type) => this.ticketSpec(app, type),
    );
  }

  /** the enabled app of a stored token: by its codeName, or (renamed) by its appId */
  private async appOf(row: TokenRow): Promise<AppConfig | null> {
    const app =
      (await this.apps.get('wechat_app', row.codeName)) ?? (await this.apps.byAppId('wechat_app', row.subject));
    return app && app.enabled && app.appId === row.subject ? app : null;
  }

  accessSpec(app: AppConfig): TokenSpec {
    const secret = String(app.config.secret);
    const classic = app.config.tokenMode === 'classic';
    return makeSpec('wechat_app', app.codeName, app.appId, 'access_token', ({ force }) =>
      classic ? this.wechat.classicToken(app.appId, secret) : this.wechat.stableToken(app.appId, secret, force),
    );
  }

  ticketSpec(app: AppConfig, type: WechatTicketType): TokenSpec {
    const access = this.accessSpec(app);
    return makeSpec('wechat_app', app.codeName, app.appId, `${type}_ticket`, () =>
      withAccessToken(this.engine, access, (token) => this.wechat.ticket(token, type)),
    );
  }

  token(app: AppConfig, opts: GetOptions = {}): Promise<CurrentToken> {
    return this.engine.get(this.accessSpec(app), opts);
  }

  ticket(app: AppConfig, type: WechatTicketType, opts: GetOptions = {}): Promise<CurrentToken> {
    return this.engine.get(this.ticketSpec(app, type), opts);
  }

  async jsconfig(app: AppConfig, url: string) {
    const ticket = await this.ticket(app, 'jsapi');
    return { appId: app.appId, ...signPage(ticket.value, url) };
  }
}
