import type { TokenRow } from '../../../db/store';
import type { AppConfig } from '../apps';
import { signPage } from '../crypto/jssdk';
import type { CurrentToken, Fetched, GetOptions, TokenEngine, TokenSpec } from './engine';
import { makeSpec, withAccessToken } from './spec';

/** What a platform's app tokens are: its ticket types, and how its answers name an app. */
export interface AppTokenKinds<T extends string> {
  platform: string;
  /** its ticket types (`<type>_ticket`), the first the default */
  ticketTypes: readonly T[];
  /** those a page can be signed with (wx.config, wx.agentConfig), the first the default */
  pageTypes: readonly T[];
  /** the fields naming the app in the token and jsconfig answers, with their values */
  ids: Record<string, (app: AppConfig) => string>;
  /** those of them in the ticket answer (default: all) */
  ticketIds?: readonly string[];
}

/**
 * The access token and tickets of a platform's apps (WeChat official accounts and mini programs,
 * WeCom self-built apps): a platform says how to fetch each and which enabled app a stored token
 * still belongs to; this class builds their specs, registers their background resolvers (refresh
 * ahead of expiry: the access token and one `<type>_ticket` per ticket type) and serves them
 * through the engine.
 */
export abstract class AppTokens<T extends string> {
  readonly platform: string;

  constructor(
    protected readonly engine: TokenEngine,
    readonly kinds: AppTokenKinds<T>,
  ) {
    const platform = (this.platform = kinds.platform);
    engine.resolver(platform, 'access_token', (row) => this.resolve(row, (app) => this.accessSpec(app)));
    for (const type of kinds.ticketTypes)
      engine.resolver(platform, `${type}_ticket`, (row) => this.resolve(row, (app) => this.ticketSpec(app, type)));
  }

  /** the token subject of an app (its appId; a WeCom agent's corpId:agentId) */
  abstract subject(app: AppConfig): string;
  /** the enabled app a stored token still belongs to (null: the row is left alone) */
  protected abstract appOf(row: TokenRow): Promise<AppConfig | null>;
  /** a fresh access token of the app from the platform */
  protected abstract fetchToken(app: AppConfig, force: boolean): Promise<Fetched>;
  /** a fresh ticket of `type`, with the access token */
  protected abstract fetchTicket(accessToken: string, type: T): Promise<Fetched>;

  private async resolve(row: TokenRow, build: (app: AppConfig) => TokenSpec): Promise<TokenSpec | null> {
    const app = await this.appOf(row);
    return app ? build(app) : null;
  }

  accessSpec(app: AppConfig): TokenSpec {
    return makeSpec(this.platform, app.codeName, this.subject(app), 'access_token', ({ force }) =>
      this.fetchToken(app, force),
    );
  }

  ticketSpec(app: AppConfig, type: T): TokenSpec {
    const access = this.accessSpec(app);
    return makeSpec(this.platform, app.codeName, this.subject(app), `${type}_ticket`, () =>
      withAccessToken(this.engine, access, (token) => this.fetchTicket(token, type)),
    );
  }

  token(app: AppConfig, opts: GetOptions = {}): Promise<CurrentToken> {
    return this.engine.get(this.accessSpec(app), opts);
  }

  ticket(app: AppConfig, type: T, opts: GetOptions = {}): Promise<CurrentToken> {
    return this.engine.get(this.ticketSpec(app, type), opts);
  }

  /** the fields naming the app in the token and jsconfig answers */
  ids(app: AppConfig): Record<string, string> {
    return Object.fromEntries(Object.entries(this.kinds.ids).map(([k, f]) => [k, f(app)]));
  }

  /** wx.config (wx.agentConfig …) parameters of a page URL: the app's ids and the `type` ticket's signature */
  async jsconfig(app: AppConfig, url: string, type: T = this.kinds.pageTypes[0]) {
    const ticket = await this.ticket(app, type);
    return { ...this.ids(app), ...signPage(ticket.value, url) };
  }
}
