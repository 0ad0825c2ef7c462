import type { TokenRow } from '../../../db/store';
import type { AppConfig, AppService } from '../../services/apps';
import type { WecomClient } from './client';
import { signPage } from '../../services/crypto/jssdk';
import type { CurrentToken, GetOptions, TokenEngine, TokenSpec } from '../../services/tokens/engine';
import { appTokenResolvers } from '../../services/tokens/app-resolvers';
import { makeSpec, withAccessToken } from '../../services/tokens/spec';

export type WecomTicketType = 'jsapi' | 'agent_config';

/** the token subject of a self-built WeCom app: one token per corp + app (secret) */
export const corpSubject = (app: AppConfig) => `${app.appId}:${String(app.config.agentId)}`;

/** Access tokens and tickets of WeCom self-built apps. */
export class WecomTokens {
  constructor(
    private readonly engine: TokenEngine,
    private readonly wecom: WecomClient,
    private readonly apps: AppService,
  ) {
    const types = ['jsapi', 'agent_config'] as const;
    appTokenResolvers(
      engine,
      'wecom_corp',
      (row) => this.appOf(row),
      (app) => this.accessSpec(app),
      types,
      (app, type) => this.ticketSpec(app, type),
    );
  }

  /** the enabled app of a stored token, while its corp + agent is the token's subject */
  private async appOf(row: TokenRow): Promise<AppConfig | null> {
    const app = await this.apps.get('wecom_corp', row.codeName);
    return app && app.enabled && corpSubject(app) === row.subject ? app : null;
  }

  /** the enabled app of corpid + agentid (Wafer-fork interfaces) */
  async byAgent(corpId: string, agentId: string): Promise<AppConfig | null> {
    const named = await this.apps.get('wecom_corp', `${corpId}:${agentId}`);
    if (named?.enabled && named.appId === corpId && String(named.config.agentId) === agentId) return named;
    return (await this.apps.allByAppId('wecom_corp', corpId)).find((a) => String(a.config.agentId) === agentId) ?? null;
  }

  accessSpec(app: AppConfig): TokenSpec {
    const secret = String(app.config.secret);
    return makeSpec('wecom_corp', app.codeName, corpSubject(app), 'access_token', () =>
      this.wecom.token(app.appId, secret),
    );
  }

  ticketSpec(app: AppConfig, type: WecomTicketType): TokenSpec {
    const access = this.accessSpec(app);
    return makeSpec('wecom_corp', app.codeName, corpSubject(app), `${type}_ticket`, () =>
      withAccessToken(this.engine, access, (token) => this.wecom.ticket(token, type)),
    );
  }

  token(app: AppConfig, opts: GetOptions = {}): Promise<CurrentToken> {
    return this.engine.get(this.accessSpec(app), opts);
  }

  ticket(app: AppConfig, type: WecomTicketType, opts: GetOptions = {}): Promise<CurrentToken> {
    return this.engine.get(this.ticketSpec(app, type), opts);
  }

  async jsconfig(app: AppConfig, url: string, type: WecomTicketType) {
    const ticket = await this.ticket(app, type);
    return { corpId: app.appId, agentId: String(app.config.agentId), ...signPage(ticket.value, url) };
  }
}
