import { RpcError, errcodeOf } from '../../../system/errors';
import { text } from '../../../system/xml';
import type { AuthorizerRow } from '../../../db/store';
import type { AppConfig } from '../../services/apps';
import type { PlatformDeps } from '../../services/deps';
import type { WechatClient } from './client';
import { signPage } from '../../services/crypto/jssdk';
import { AuthorizedAccounts } from '../../services/authorized-accounts';
import { MsgCrypt } from '../../services/crypto/msgcrypt';
import { decryptedXml, exchangeEventAt, pushEventAt, storePushedTicket } from '../../services/pushes';
import { forwardPush } from '../../services/rules';
import type { CurrentToken, GetOptions, TokenSpec } from '../../services/tokens/engine';
import { makeSpec, withAccessToken } from '../../services/tokens/spec';
import { ticketedSpec } from '../../services/tokens/ticketed';
import type { WechatTicketType } from './tokens';

const PLATFORM = 'wechat_tp';

/**
 * A WeChat third-party platform (第三方平台): component_verify_ticket pushes, the component token,
 * authorizations (pages, events, api_query_auth), authorizer tokens with rotated refresh tokens.
 */
export class WechatTp {
  private readonly authorizers: AuthorizedAccounts;

  constructor(
    private readonly d: PlatformDeps,
    private readonly wechat: WechatClient,
    private readonly mpBase: string,
  ) {
    const { store, engine, box, apps } = d;
    this.authorizers = new AuthorizedAccounts(store, box, apps, PLATFORM);
    engine.resolver(PLATFORM, 'component_access_token', async (row) => {
      const tp = await this.authorizers.ownerOf(row);
      return tp ? this.componentSpec(tp) : null;
    });
    engine.resolver(PLATFORM, 'authorizer_access_token', async (row) => {
      const a = await this.authorizers.servableAccountOf(row);
      return a && this.authorizerSpec(a.app, a.id);
    });
    for (const type of ['jsapi', 'wx_card'] as const) {
      engine.resolver(PLATFORM, `authorizer_${type}_ticket`, async (row) => {
        const a = await this.authorizers.servableAccountOf(row);
        return a && this.ticketSpec(a.app, a.id, type);
      });
    }
  }

  /** the enabled platform, or a 1012 */
  require(codeName: string): Promise<AppConfig> {
    return this.d.apps.require(PLATFORM, codeName);
  }

  crypt(tp: AppConfig): MsgCrypt {
    return new MsgCrypt(String(tp.config.token), String(tp.config.aesKey), tp.appId);
  }

  // ---- component token

  componentSpec(tp: AppConfig): TokenSpec {
    return ticketedSpec(this.d.store, PLATFORM, tp, 'component_access_token', 'component_verify_ticket', (ticket) =>
      this.wechat.componentToken(tp.appId, String(tp.config.secret), ticket),
    );
  }

  componentToken(tp: AppConfig, opts: GetOptions = {}): Promise<CurrentToken> {
    return this.d.engine.get(this.componentSpec(tp), opts);
  }

  /** runs a component API call, compare-and-refreshing the component token if WeChat rejects it */
  private withComponent<T>(tp: AppConfig, use: (token: string) => Promise<T>): Promise<T> {
    return withAccessToken(this.d.engine, this.componentSpec(tp), use);
  }

  // ---- authorizers

  /** read from the store on every call, so an unauthorization stops serving at once on every node */
  requireAuthorizer(tp: AppConfig, authorizerAppId: string): Promise<AuthorizerRow> {
    return this.authorizers.require(tp, authorizerAppId, 'authorizer', 'must authorize again');
  }

  authorizerSpec(tp: AppConfig, authorizerAppId: string): TokenSpec {
    return makeSpec(
      PLATFORM,
      tp.codeName,
      this.authorizers.subject(tp, authorizerAppId),
      'authorizer_access_token',
      async () => {
        const a = await this.requireAuthorizer(tp, authorizerAppId);
        try {
          const t = await this.withComponent(tp, (ct) =>
            this.wechat.authorizerToken(ct, tp.appId, authorizerAppId, this.authorizers.refreshToken(a)),
          );
          if (t.refreshToken) {
            await this.authorizers.rotate(tp, authorizerAppId, t.refreshToken);
          }
          return { value: t.value, expiresIn: t.expiresIn };
        } catch (err) {
          if (Number(errcodeOf(err)) === 61023) {
            // the refresh token is gone: stop retrying until the account authorizes again
            await this.authorizers.needsReauth(tp, authorizerAppId);
            throw new RpcError(
              'NOT_READY',
              '',
              `${tp.codeName}: authorizer ${authorizerAppId} refresh token invalid (61023)`,
            );
          }
          throw err;
        }
      },
    );
  }

  async authorizerToken(tp: AppConfig, authorizerAppId: string, opts: GetOptions = {}): Promise<CurrentToken> {
    await this.requireAuthorizer(tp, authorizerAppId);
    return this.d.engine.get(this.authorizerSpec(tp, authorizerAppId), opts);
  }

  ticketSpec(tp: AppConfig, authorizerAppId: string, type: WechatTicketType): TokenSpec {
    const access = this.authorizerSpec(tp, authorizerAppId);
    return makeSpec(
      PLATFORM,
      tp.codeName,
      this.authorizers.subject(tp, authorizerAppId),
      `authorizer_${type}_ticket`,
      () => withAccessToken(this.d.engine, access, (token) => this.wechat.ticket(token, type)),
    );
  }

  async ticket(
    tp: AppConfig,
    authorizerAppId: string,
    type: WechatTicketType,
    opts: GetOptions = {},
  ): Promise<CurrentToken> {
    await this.requireAuthorizer(tp, authorizerAppId);
    return this.d.engine.get(this.ticketSpec(tp, authorizerAppId, type), opts);
  }

  async jsconfig(tp: AppConfig, authorizerAppId: string, url: string) {
    const t = await this.ticket(tp, authorizerAppId, 'jsapi');
    return { appId: authorizerAppId, ...signPage(t.value, url) };
  }

  async code2session(tp: AppConfig, authorizerAppId: string, jsCode: string) {
    await this.requireAuthorizer(tp, authorizerAppId);
    const r = await this.withComponent(tp, (ct) =>
      this.wechat.componentJscode2session(authorizerAppId, jsCode, tp.appId, ct),
    );
    return { openid: r.openid, sessionKey: r.session_key, ...(r.unionid ? { unionid: r.unionid } : {}) };
  }

  async listAuthorizers(tp: AppConfig) {
    const rows = await this.authorizers.list(tp);
    return rows.map((a) => ({
      authorizerAppId: a.authorizerId,
      authorized: a.authorized && !a.needsReauth,
      updatedAt: Math.floor(a.updatedAt / 1000),
    }));
  }

  /** adopts the authorizations WeChat knows but gatehouse does not (or lost: 61023), page by page */
  async sync(tp: AppConfig): Promise<number> {
    let adopted = 0;
    const count = 500;
    for (let offset = 0; ; offset += count) {
      const page = await this.withComponent(tp, (ct) => this.wechat.authorizerList(ct, tp.appId, offset, count));
      for (const item of page.list) {
        if (await this.authorizers.usable(tp, item.authorizerAppId)) continue;
        // WeChat's list says authorized now: an event of now, ordered like the pushes
        if (await this.saveAuthorizer(tp, item.authorizerAppId, item.refreshToken, null, exchangeEventAt())) adopted++;
      }
      if (page.list.length < count || offset + count >= page.total) break;
    }
    return adopted;
  }

  /**
   * stores an authorization (sealed refresh token, func_info) as an authorization event at `eventAt` (ms); whether it
   * was applied
   */
  private saveAuthorizer(
    tp: AppConfig,
    authorizerAppId: string,
    refreshToken: string,
    info: unknown,
    eventAt: number,
  ): Promise<boolean> {
    return this.authorizers.authorized(
      tp,
      authorizerAppId,
      refreshToken,
      info === null || info === undefined ? undefined : JSON.stringify(info),
      eventAt,
    );
  }

  /**
   * Exchanges an authorization code at once and stores the authorizer; returns its appid.
   * `eventAt` is the push's CreateTime (ms) when the code came in a push; the authorization page's
   * redirect has none and uses the time of the exchange, which api_query_auth just proved current.
   */
  async authorize(tp: AppConfig, authCode: string, eventAt = exchangeEventAt()): Promise<string> {
    const info = await this.withComponent(tp, (ct) => this.wechat.queryAuth(ct, tp.appId, authCode));
    const spec = this.authorizerSpec(tp, info.authorizerAppId);
    if (
      !(await this.saveAuthorizer(
        tp,
        info.authorizerAppId,
        info.refreshToken,
        { func_info: info.funcInfo ?? null },
        eventAt,
      ))
    ) {
      this.d.log.info(
        { codeName: tp.codeName, authorizer: info.authorizerAppId },
        'authorization older than the last authorization event: not applied',
      );
      return info.authorizerAppId;
    }
    if (info.accessToken && info.expiresIn) await this.d.engine.seed(spec, info.accessToken, info.expiresIn);
    else await this.d.engine.clear(spec.key);
    return info.authorizerAppId;
  }

  /**
   * The URL of WeChat's authorization page (scan: PC QR code, link: inside WeChat) with a fresh
   * pre_auth_code. WeChat carries no state of its own: the page's single-use nonce (§7 trust) rides
   * in the redirect_uri's query, which WeChat keeps when it appends auth_code.
   */
  async authorizationUrl(tp: AppConfig, mode: 'scan' | 'link', state: string): Promise<string> {
    const code = await this.withComponent(tp, (ct) => this.wechat.preAuthCode(ct, tp.appId));
    const page = `${this.d.config.publicUrl}/wechat-tp/${encodeURIComponent(tp.codeName)}/authorized`;
    const redirect = `${page}?state=${encodeURIComponent(state)}`;
    const q = new URLSearchParams({
      component_appid: tp.appId,
      pre_auth_code: code,
      redirect_uri: redirect,
      auth_type: '3',
    });
    return mode === 'link'
      ? `${this.mpBase}/safe/bindcomponent?action=bindcomponent&no_scan=1&${q.toString()}#wechat_redirect`
      : `${this.mpBase}/cgi-bin/componentloginpage?${q.toString()}`;
  }

  // ---- pushes

  /**
   * Handles a decrypted 授权事件 push. State is committed before the caller answers `success`; the
   * forwarding rules and authForwardUrl deliver it in the background.
   */
  async onEvent(tp: AppConfig, fields: Record<string, unknown>): Promise<void> {
    const infoType = text(fields, 'InfoType') ?? 'unknown';
    const appId = text(fields, 'AppId') ?? tp.appId;
    const authorizer = text(fields, 'AuthorizerAppid');
    // authorization events apply in CreateTime order, per authorizer
    const eventAt = pushEventAt(text(fields, 'CreateTime'));
    const createTime = Number(text(fields, 'CreateTime'));
    switch (infoType) {
      case 'component_verify_ticket':
        await storePushedTicket(this.d.store, PLATFORM, tp.appId, text(fields, 'ComponentVerifyTicket'), createTime);
        break;
      case 'authorized':
      case 'updateauthorized': {
        const push = { account: authorizer, code: text(fields, 'AuthorizationCode'), eventAt, infoType };
        await this.authorizers.codePush(
          tp,
          push,
          this.d.log,
          (code) => this.authorize(tp, code, eventAt),
          // used already when the authorization page's redirect stored the authorizer
          async () => {
            const a = authorizer ? await this.authorizers.row(tp, authorizer) : null;
            return Boolean(a?.authorized && a.refreshToken);
          },
        );
        break;
      }
      case 'unauthorized':
        if (authorizer) await this.unauthorize(tp, authorizer, eventAt);
        break;
      default:
        break;
    }
    const pushAt = await this.d.pushes.record({
      platform: PLATFORM,
      codeName: tp.codeName,
      infoType,
      appId: authorizer ?? appId,
      verified: true,
      fields,
    });
    // through the forwarding rules, then authForwardUrl (services/rules.ts); a ticket never leaves
    if (infoType !== 'component_verify_ticket')
      forwardPush(this.d, {
        platform: PLATFORM,
        codeName: tp.codeName,
        appId: authorizer ?? appId,
        infoType,
        pushAt,
        fields,
        json: fields,
        xml: decryptedXml(fields),
        legacy: { name: 'authForwardUrl', url: tp.config.authForwardUrl as string | undefined },
      });
  }

  /**
   * Stops serving an authorizer at once (every node reads its state before serving), unless an
   * authorization event later than `eventAt` (ms) was applied already (a replayed or late push).
   */
  async unauthorize(tp: AppConfig, authorizerAppId: string, eventAt: number): Promise<boolean> {
    const applied = await this.authorizers.revoked(tp, authorizerAppId, eventAt);
    if (!applied) {
      this.d.log.info(
        { codeName: tp.codeName, authorizer: authorizerAppId },
        'unauthorized older than the last authorization event: ignored',
      );
      return false;
    }
    const subject = this.authorizers.subject(tp, authorizerAppId);
    for (const kind of ['authorizer_access_token', 'authorizer_jsapi_ticket', 'authorizer_wx_card_ticket']) {
      await this.d.engine.clear(`${PLATFORM}:${subject}:${kind}`);
    }
    return true;
  }

  /** a message or event for an authorizer (消息与事件接收URL): logged and forwarded (rules, msgForwardUrl) */
  async onMessage(tp: AppConfig, authorizerAppId: string, fields: Record<string, unknown>): Promise<void> {
    const infoType = text(fields, 'Event') ?? text(fields, 'MsgType') ?? 'message';
    const pushAt = await this.d.pushes.record({
      platform: PLATFORM,
      codeName: tp.codeName,
      infoType,
      appId: authorizerAppId,
      verified: true,
      fields,
    });
    // through the forwarding rules, then msgForwardUrl (services/rules.ts)
    forwardPush(this.d, {
      platform: PLATFORM,
      codeName: tp.codeName,
      appId: authorizerAppId,
      infoType,
      pushAt,
      fields,
      json: { appid: authorizerAppId, message: fields },
      xml: decryptedXml(fields),
      legacy: { name: 'msgForwardUrl', url: tp.config.msgForwardUrl as string | undefined },
    });
  }
}
