import { RpcError, errcodeOf } from '../../system/errors';
import type { SecretBox } from '../../system/secretbox';
import type { AuthorizerEvent, AuthorizerRow, Store, TokenRow } from '../../db/store';
import type { Logger } from '../../system/log';
import type { AppConfig, AppService } from './apps';
import { eventIsCurrent } from './pushes';

/** an account whose tokens may be served: authorized, not refused since, its refresh token known */
const servable = (a: AuthorizerRow): boolean => a.authorized && !a.needsReauth && !!a.refreshToken;

/**
 * The accounts authorized under an app, kept in the authorizers table with their refresh token
 * (or permanent code) sealed: a WeChat third-party platform's authorizers, a WeCom suite's corps, a
 * delivery platform's merchants. Every read goes to the store, so that a revocation stops serving
 * at once on every node.
 */
export class AuthorizedAccounts {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly apps: AppService,
    readonly platform: string,
  ) {}

  /**
   * Whether an authorization push that carries a code for `account` still applies: not when it is a
   * replay, or overtaken by a later event of the same account (logged; its code is not exchanged).
   */
  async eventApplies(owner: AppConfig, account: string | undefined, eventAt: number, log: Logger, infoType: string) {
    if (!account || (await eventIsCurrent(this.store, this.platform, owner.appId, account, eventAt))) return true;
    log.info(
      { codeName: owner.codeName, account, infoType },
      'authorization event older than the last one applied: ignored',
    );
    return false;
  }

  /**
   * An authorization-code push (WeChat's authorized, WeCom's create_auth …), applied in event
   * order: when it carries a code and is the account's latest event, `exchange` runs. A failure
   * `usedAlready` recognises (the authorization page's redirect exchanged the code first) is logged
   * and the push acknowledged; any other throws, so that the platform pushes again and the code is
   * not lost.
   */
  async codePush(
    owner: AppConfig,
    push: { account: string | undefined; code: string | undefined; eventAt: number; infoType: string },
    log: Logger,
    exchange: (code: string) => Promise<unknown>,
    usedAlready: (err: unknown) => Promise<boolean>,
  ): Promise<void> {
    const { account, code, eventAt, infoType } = push;
    if (!code || !(await this.eventApplies(owner, account, eventAt, log, infoType))) return;
    try {
      await exchange(code);
    } catch (err) {
      if (!(await usedAlready(err))) throw err;
      log.info(
        { codeName: owner.codeName, account, infoType, errcode: errcodeOf(err) },
        'code used already: push acknowledged',
      );
    }
  }

  /** the enabled app that a token row belongs to: its own token, or one of its accounts' (subject `appId:…`) */
  async ownerOf(row: TokenRow): Promise<AppConfig | null> {
    const app = await this.apps.get(this.platform, row.codeName);
    return app && app.enabled && row.subject.split(':')[0] === app.appId ? app : null;
  }

  /**
   * The enabled app and the account a token row of an account belongs to (subject `appId:accountId`,
   * cut at the first colon); null for another app's row, or a row that names no account.
   */
  async accountOf(row: TokenRow): Promise<{ app: AppConfig; id: string } | null> {
    const cut = row.subject.indexOf(':');
    if (cut < 0) return null;
    const app = await this.apps.get(this.platform, row.codeName);
    return app && app.enabled && row.subject.slice(0, cut) === app.appId
      ? { app, id: row.subject.slice(cut + 1) }
      : null;
  }

  /** as accountOf, and only while the account may be served (the background refresher leaves the rest alone) */
  async servableAccountOf(row: TokenRow): Promise<{ app: AppConfig; id: string } | null> {
    const account = await this.accountOf(row);
    return account && (await this.usable(account.app, account.id)) ? account : null;
  }

  /** the token subject of an account: `appId:accountId` */
  subject(app: AppConfig, id: string): string {
    return `${app.appId}:${id}`;
  }

  row(app: AppConfig, id: string): Promise<AuthorizerRow | null> {
    return this.store.getAuthorizer(this.platform, app.appId, id);
  }

  list(app: AppConfig): Promise<AuthorizerRow[]> {
    return this.store.listAuthorizers(this.platform, app.appId);
  }

  /** the account when its tokens may be served: authorized, refresh token known and not revoked */
  async usable(app: AppConfig, id: string): Promise<AuthorizerRow | null> {
    const a = await this.row(app, id);
    return a && servable(a) ? a : null;
  }

  /** the usable account; 1012 `<codeName>: <noun> <id> unknown`, 1014 `<codeName>: <noun> <id> <again>` */
  async require(app: AppConfig, id: string, noun: string, again: string): Promise<AuthorizerRow> {
    const a = await this.row(app, id);
    if (!a) throw new RpcError('NO_APP', '', `${app.codeName}: ${noun} ${id} unknown`);
    if (!servable(a)) throw new RpcError('NOT_READY', '', `${app.codeName}: ${noun} ${id} ${again}`);
    return a;
  }

  /** the refresh token (permanent code) of a usable row, unsealed */
  refreshToken(a: AuthorizerRow): string {
    return this.box.open(a.refreshToken!);
  }

  /** keeps a rotated refresh token */
  rotate(app: AppConfig, id: string, refreshToken: string): Promise<boolean> {
    return this.store.updateAuthorizer(
      this.platform,
      app.appId,
      id,
      { refreshToken: this.box.seal(refreshToken) },
      Date.now(),
    );
  }

  /** the platform refused the refresh token: nothing is refreshed until the account authorizes again */
  needsReauth(app: AppConfig, id: string): Promise<boolean> {
    return this.store.updateAuthorizer(this.platform, app.appId, id, { needsReauth: true }, Date.now());
  }

  /** stores (or replaces) an authorization: refresh token sealed, `info` the JSON kept with it */
  put(app: AppConfig, id: string, refreshToken: string, info: string | null): Promise<void> {
    const now = Date.now();
    return this.store.putAuthorizer({
      platform: this.platform,
      ownerId: app.appId,
      authorizerId: id,
      refreshToken: this.box.seal(refreshToken),
      authorized: true,
      needsReauth: false,
      info,
      createdAt: now,
      updatedAt: now,
    });
  }

  /**
   * An authorization as an authorization event at `eventAt` (ms): not applied when older than the
   * last one applied to the account, decided in one conditional statement (README: "Authorization
   * events"). Returns whether it was applied.
   */
  authorized(
    app: AppConfig,
    id: string,
    refreshToken: string,
    info: string | undefined,
    eventAt: number,
  ): Promise<boolean> {
    return this.event(app, id, eventAt, {
      authorized: true,
      needsReauth: false,
      refreshToken: this.box.seal(refreshToken),
      info,
    });
  }

  /** a revocation at `eventAt` (ms), unless a later authorization event was applied; whether applied */
  revoked(app: AppConfig, id: string, eventAt: number): Promise<boolean> {
    return this.event(app, id, eventAt, { authorized: false });
  }

  /** an event that changes nothing but orders later ones (WeCom's change_auth) */
  touched(app: AppConfig, id: string, eventAt: number): Promise<boolean> {
    return this.event(app, id, eventAt, {});
  }

  private event(
    app: AppConfig,
    id: string,
    eventAt: number,
    change: Pick<AuthorizerEvent, 'authorized' | 'needsReauth' | 'refreshToken' | 'info'>,
  ): Promise<boolean> {
    const e = { platform: this.platform, ownerId: app.appId, authorizerId: id, eventAt, now: Date.now() };
    return this.store.applyAuthorizerEvent({ ...e, ...change });
  }
}
