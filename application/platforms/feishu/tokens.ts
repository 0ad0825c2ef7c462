import { RpcError } from '../../../system/errors';
import type { AuthorizerRow } from '../../../db/store';
import type { AppConfig } from '../../services/apps';
import { AuthorizedAccounts } from '../../services/authorized-accounts';
import type { PlatformDeps } from '../../services/deps';
import { jssdkSignature, nonceStr } from '../../services/crypto/jssdk';
import type { CurrentToken, GetOptions, TokenSpec } from '../../services/tokens/engine';
import { makeSpec, withAccessToken } from '../../services/tokens/spec';
import type { FeishuClient } from './client';

export const PLATFORM = 'feishu_app';
export const APP_KIND = 'app_access_token';
export const TENANT_KIND = 'tenant_access_token';
export const TICKET_KIND = 'jsapi_ticket';

/** how often a node asks Feishu to resend a store app's app_ticket while none is stored */
const RESEND_EVERY_MS = 60_000;

const isStore = (app: AppConfig) => app.config.kind === 'store';

/**
 * Feishu / Lark apps' tokens through the engine:
 *   - app_access_token (subject: app id): a self-built app's from /internal with its secret, a
 *     store app's from the app_ticket Feishu pushes hourly (1014 until one came; a resend is asked for)
 *   - tenant_access_token: a self-built app's (subject: app id) from /internal; a store app's per
 *     tenant (subject `appId:tenantKey`) from its app_access_token, for tenants that installed it
 *   - jsapi_ticket: per tenant token (same subject), from that tenant token
 * A store app's tenants are kept in the authorizers table (installs and uninstalls from events).
 */
export class FeishuTokens {
  readonly tenants: AuthorizedAccounts;
  private readonly resent = new Map<string, number>();

  constructor(
    private readonly d: PlatformDeps,
    private readonly client: FeishuClient,
    private readonly urls: { api: string; lark: string },
  ) {
    this.tenants = new AuthorizedAccounts(d.store, d.box, d.apps, PLATFORM);
    d.engine.resolver(PLATFORM, APP_KIND, async (row) => {
      const app = await this.appOfRow(row.codeName, row.subject);
      return app && this.appSpec(app);
    });
    for (const kind of [TENANT_KIND, TICKET_KIND]) {
      d.engine.resolver(PLATFORM, kind, async (row) => {
        const cut = row.subject.indexOf(':');
        const app = await this.appOfRow(row.codeName, cut < 0 ? row.subject : row.subject.slice(0, cut));
        if (!app || isStore(app) !== cut >= 0) return null;
        const tenantKey = cut < 0 ? undefined : row.subject.slice(cut + 1);
        if (tenantKey !== undefined && !(await this.tenants.usable(app, tenantKey))) return null;
        return kind === TENANT_KIND ? this.tenantSpec(app, tenantKey) : this.ticketSpec(app, tenantKey);
      });
    }
  }

  private async appOfRow(codeName: string, appId: string): Promise<AppConfig | null> {
    const app = await this.d.apps.get(PLATFORM, codeName);
    return app && app.enabled && app.appId === appId ? app : null;
  }

  /** the open-platform host of the app: Feishu (default) or Lark */
  base(app: AppConfig): string {
    return app.config.domain === 'lark' ? this.urls.lark : this.urls.api;
  }

  private secret(app: AppConfig): string {
    return String(app.config.appSecret);
  }

  // ---- app_access_token

  appSpec(app: AppConfig): TokenSpec {
    return makeSpec(PLATFORM, app.codeName, app.appId, APP_KIND, async () => {
      if (!isStore(app)) return this.client.appTokenInternal(this.base(app), app.appId, this.secret(app));
      const ticket = await this.d.store.getTicket(PLATFORM, app.appId);
      if (!ticket) {
        this.resendTicket(app);
        throw new RpcError('NOT_READY', '', `${app.codeName}: no app_ticket received yet (a resend was asked for)`);
      }
      return this.client.appToken(this.base(app), app.appId, this.secret(app), ticket.value);
    });
  }

  /** asks Feishu to push the app_ticket again, at most once a minute per app and node, in the background */
  resendTicket(app: AppConfig): void {
    const last = this.resent.get(app.appId) ?? 0;
    if (Date.now() - last < RESEND_EVERY_MS) return;
    this.resent.set(app.appId, Date.now());
    this.client.resendTicket(this.base(app), app.appId, this.secret(app)).catch((err: unknown) => {
      this.d.log.warn({ codeName: app.codeName, error: (err as Error).message }, 'feishu app_ticket resend failed');
    });
  }

  appToken(app: AppConfig, opts: GetOptions = {}): Promise<CurrentToken> {
    return this.d.engine.get(this.appSpec(app), opts);
  }

  // ---- tenant_access_token

  /**
   * The tenant a request names, checked: a self-built app has one tenant and takes no tenantKey
   * (1003); a store app needs one (1003) of a tenant that installed it and did not uninstall
   * (1012 unknown, 1014 uninstalled).
   */
  async requireTenant(app: AppConfig, tenantKey: string | undefined): Promise<AuthorizerRow | undefined> {
    if (!isStore(app)) {
      if (tenantKey !== undefined)
        throw new RpcError('PARA_ERROR', '', `${app.codeName}: a self-built app takes no tenantKey`);
      return undefined;
    }
    if (tenantKey === undefined || tenantKey === '')
      throw new RpcError('PARA_ERROR', '', `${app.codeName}: a store app needs a tenantKey`);
    return this.tenants.require(app, tenantKey, 'tenant', 'uninstalled the app');
  }

  tenantSpec(app: AppConfig, tenantKey: string | undefined): TokenSpec {
    if (tenantKey === undefined)
      return makeSpec(PLATFORM, app.codeName, app.appId, TENANT_KIND, () =>
        this.client.tenantTokenInternal(this.base(app), app.appId, this.secret(app)),
      );
    return makeSpec(PLATFORM, app.codeName, this.tenants.subject(app, tenantKey), TENANT_KIND, async () => {
      await this.requireTenant(app, tenantKey);
      return withAccessToken(this.d.engine, this.appSpec(app), (appToken) =>
        this.client.tenantToken(this.base(app), appToken, tenantKey),
      );
    });
  }

  async tenantToken(app: AppConfig, tenantKey: string | undefined, opts: GetOptions = {}): Promise<CurrentToken> {
    await this.requireTenant(app, tenantKey);
    return this.d.engine.get(this.tenantSpec(app, tenantKey), opts);
  }

  // ---- JSSDK

  ticketSpec(app: AppConfig, tenantKey: string | undefined): TokenSpec {
    const tenant = this.tenantSpec(app, tenantKey);
    return makeSpec(PLATFORM, app.codeName, tenant.subject, TICKET_KIND, () =>
      withAccessToken(this.d.engine, tenant, (t) => this.client.jsapiTicket(this.base(app), t)),
    );
  }

  async ticket(app: AppConfig, tenantKey: string | undefined, opts: GetOptions = {}): Promise<CurrentToken> {
    await this.requireTenant(app, tenantKey);
    return this.d.engine.get(this.ticketSpec(app, tenantKey), opts);
  }

  /**
   * h5sdk.config parameters of a page: appId, timestamp (ms, as Feishu's JSSDK takes it), nonceStr
   * and signature = sha1("jsapi_ticket=…&noncestr=…&timestamp=…&url=…"), the url without #fragment.
   */
  async jsconfig(app: AppConfig, tenantKey: string | undefined, url: string) {
    const t = await this.ticket(app, tenantKey);
    const timestamp = Date.now();
    const nonce = nonceStr();
    return { appId: app.appId, timestamp, nonceStr: nonce, signature: jssdkSignature(t.value, nonce, timestamp, url) };
  }
}
