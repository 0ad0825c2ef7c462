import type { TokenRow } from '../../../db/store';
import type { AppConfig, AppService } from '../../services/apps';
import type { Fetched, TokenEngine } from '../../services/tokens/engine';
import { AppTokens } from '../../services/tokens/app-tokens';
import type { WecomClient } from './client';

export const WECOM_TICKET_TYPES = ['jsapi', 'agent_config'] as const;
export type WecomTicketType = (typeof WECOM_TICKET_TYPES)[number];

/** the token subject of a self-built WeCom app: one token per corp + app (secret) */
export const corpSubject = (app: AppConfig) => `${app.appId}:${String(app.config.agentId)}`;

/** Access tokens and tickets of WeCom self-built apps. */
export class WecomTokens extends AppTokens<WecomTicketType> {
  constructor(
    engine: TokenEngine,
    private readonly wecom: WecomClient,
    private readonly apps: AppService,
  ) {
    super(engine, {
      platform: 'wecom_corp',
      ticketTypes: WECOM_TICKET_TYPES,
      pageTypes: WECOM_TICKET_TYPES,
      ids: { corpId: (app) => app.appId, agentId: (app) => String(app.config.agentId) },
      ticketIds: ['corpId'],
    });
  }

  subject(app: AppConfig): string {
    return corpSubject(app);
  }

  /** the enabled app of a stored token, while its corp + agent is the token's subject */
  protected async appOf(row: TokenRow): Promise<AppConfig | null> {
    const app = await this.apps.get('wecom_corp', row.codeName);
    return app && app.enabled && corpSubject(app) === row.subject ? app : null;
  }

  protected fetchToken(app: AppConfig): Promise<Fetched> {
    return this.wecom.token(app.appId, String(app.config.secret));
  }

  protected fetchTicket(accessToken: string, type: WecomTicketType): Promise<Fetched> {
    return this.wecom.ticket(accessToken, type);
  }

  /** the enabled app of corpid + agentid (Wafer-fork interfaces) */
  async byAgent(corpId: string, agentId: string): Promise<AppConfig | null> {
    const named = await this.apps.get('wecom_corp', `${corpId}:${agentId}`);
    if (named?.enabled && named.appId === corpId && String(named.config.agentId) === agentId) return named;
    return (await this.apps.allByAppId('wecom_corp', corpId)).find((a) => String(a.config.agentId) === agentId) ?? null;
  }
}
