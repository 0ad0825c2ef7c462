import type { TokenRow } from '../../db/store';
import type { AppConfig, AppService } from './apps';
import type { WecomClient } from './clients/wecom';
import { signPage } from './crypto/jssdk';
import type { CurrentToken, GetOptions, TokenEngine, TokenSpec } from './tokens/engine';
import { makeSpec, withAccessToken } from './tokens/spec';

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
    engine.resolver('wecom_corp', 'access_token', (row) => this.resolve(row, (app) => this.accessSpec(app)));
    for (const type of ['jsapi', 'agent_config'] as const) {
      engine.resolver('wecom_corp', `${type}_ticket`, (row) => this.resolve(row, (app) => this.ticketSpec(app, type)));
    }
  }

  private async resolve(row: TokenRow, build: (app: AppConfig) => TokenSpec): Promise<TokenSpec | null> {
    const app = await this.apps.get('wecom_corp', row.codeName);
    return app && app.enabled && corpSubject(app) === row.subject ? build(app) : null;
  }

  /** the enabled app of corpid + agentid (Wafer-fork interfaces) */
  async byAgent(corpId: string, agentId: string): Promise<AppConfig | null> {
    const named = await this.apps.get('wecom_corp', `${corpId}:${agentId}`);
    if (named?.enabled && named.appId === corpId && String(named.config.agentId) === agentId) return named;
    return (await this.apps.allByAppId('wecom_corp', corpId)).find((a) => String(a.config.agentId) === agentId) ?? null;
  }

  accessSpec(app: AppConfig): TokenSpec {
    const secret = String(app.config.secret);
    return makeSpec('wecom_corp', app.codeName, corpSubject(app), 'access_token', () => this.wecom.token(app.appId, secret));
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
