import { RpcError, UpstreamError, errcodeOf } from '../../../system/errors';
import { text } from '../../../system/xml';
import type { AuthorizerRow } from '../../../db/store';
import type { AppConfig } from '../../services/apps';
import type { PlatformDeps } from '../../services/deps';
import type { WecomClient } from './client';
import { AuthorizedAccounts } from '../../services/authorized-accounts';
import { MsgCrypt } from '../../services/crypto/msgcrypt';
import { exchangeEventAt, maskPush, pushEventAt, storePushedTicket } from '../../services/pushes';
import { forwardPush } from '../../services/rules';
import type { CurrentToken, GetOptions, TokenSpec } from '../../services/tokens/engine';
import { makeSpec, specKey, withAccessToken } from '../../services/tokens/spec';
import { ticketedSpec } from '../../services/tokens/ticketed';

const PLATFORM = 'wecom_tp';
const SUITE_KIND = 'suite_access_token';
const CORP_KIND = 'corp_access_token';

/** errcodes meaning "this suite_access_token is no good": invalid suitetoken, expired, invalid credential */
/** errcodes meaning "this permanent code is no good": the corp must install again */
const BAD_PERMANENT_CODE = new Set([40084]);

/** state of the install link (WeCom: a-zA-Z0-9, at most 128 bytes) */
export const INSTALL_STATE = /^[A-Za-z0-9_-]{0,128}$/;

/**
 * A WeCom third-party suite (第三方应用): suite_ticket pushes, the suite token, authorizations
 * (install page, redirect, create_auth / reset_permanent_code pushes, get_permanent_code) and the
 * authorized corps' tokens from their permanent codes (sealed in the authorizers table).
 */
export class WecomTp {
  private readonly corps: AuthorizedAccounts;

  constructor(
    private readonly d: PlatformDeps,
    private readonly wecom: WecomClient,
    private readonly openBase: string,
  ) {
    const { store, engine, box, apps } = d;
    this.corps = new AuthorizedAccounts(store, box, apps, PLATFORM);
    engine.resolver(PLATFORM, SUITE_KIND, async (row) => {
      const tp = await this.corps.ownerOf(row);
      return tp ? this.suiteSpec(tp) : null;
    });
    engine.resolver(PLATFORM, CORP_KIND, async (row) => {
      const c = await this.corps.servableAccountOf(row);
      return c && this.corpSpec(c.app, c.id);
    });
  }

  /** the enabled suite, or a 1012 */
  require(codeName: string): Promise<AppConfig> {
    return this.d.apps.require(PLATFORM, codeName);
  }

  /** message crypto of the suite's callback URL: receiver id = suite id */
  crypt(tp: AppConfig): MsgCrypt {
    return new MsgCrypt(String(tp.config.token), String(tp.config.aesKey), tp.appId);
  }

  // ---- suite token

  suiteSpec(tp: AppConfig): TokenSpec {
    return ticketedSpec(this.d.store, PLATFORM, tp, SUITE_KIND, 'suite_ticket', (ticket) =>
      this.wecom.suiteToken(tp.appId, String(tp.config.secret), ticket),
    );
  }

  suiteToken(tp: AppConfig, opts: GetOptions = {}): Promise<CurrentToken> {
    return this.d.engine.get(this.suiteSpec(tp), opts);
  }

  /**
   * Runs a suite API call; when WeCom rejects the suite token (40082 invalid, 42009 expired, …) that
   * exact token is compare-and-refreshed (§5.4) and the call runs once more.
   */
  private withSuite<T>(tp: AppConfig, use: (token: string) => Promise<T>): Promise<T> {
    return withAccessToken(this.d.engine, this.suiteSpec(tp), use);
  }

  // ---- authorized corps

  private corpKey(tp: AppConfig, corpId: string): string {
    return specKey(PLATFORM, this.corps.subject(tp, corpId), CORP_KIND);
  }

  /** read from the store on every call, so a cancel_auth stops serving at once on every node */
  requireCorp(tp: AppConfig, corpId: string): Promise<AuthorizerRow> {
    return this.corps.require(tp, corpId, 'corp', 'must install the suite again');
  }

  corpSpec(tp: AppConfig, corpId: string): TokenSpec {
    return makeSpec(PLATFORM, tp.codeName, this.corps.subject(tp, corpId), CORP_KIND, async () => {
      const a = await this.requireCorp(tp, corpId);
      const permanentCode = this.corps.refreshToken(a);
      try {
        return await this.withSuite(tp, (st) => this.wecom.corpToken(st, corpId, permanentCode));
      } catch (err) {
        const errcode = errcodeOf(err);
        if (errcode !== undefined && BAD_PERMANENT_CODE.has(Number(errcode))) {
          // the permanent code is gone (the corp uninstalled): its token went with it, and nothing
          // is retried until the corp installs again
          await this.corps.needsReauth(tp, corpId);
          await this.d.engine.clear(this.corpKey(tp, corpId));
          throw new RpcError('NOT_READY', '', `${tp.codeName}: corp ${corpId} permanent code invalid (${errcode})`);
        }
        throw err;
      }
    });
  }

  async corpToken(tp: AppConfig, corpId: string, opts: GetOptions = {}): Promise<CurrentToken> {
    await this.requireCorp(tp, corpId);
    return this.d.engine.get(this.corpSpec(tp, corpId), opts);
  }

  async listCorps(tp: AppConfig) {
    const rows = await this.corps.list(tp);
    return rows.map((a) => ({
      corpId: a.authorizerId,
      authorized: a.authorized && !a.needsReauth && !!a.refreshToken,
      updatedAt: Math.floor(a.updatedAt / 1000),
    }));
  }

  /**
   * Exchanges a temporary auth code at once (get_permanent_code), stores the corp with its sealed
   * permanent code and seeds its token with the one WeCom handed over; returns the corpid.
   * The corp's authorization does not change when this event is older than the last one applied
   * to it (README: "Authorization events"): `eventAt` (ms) is the push's TimeStamp when the code
   * came in a push; the install redirect has none and uses the time of the exchange.
   */
  async authorize(tp: AppConfig, authCode: string, eventAt = exchangeEventAt()): Promise<string> {
    const r = await this.withSuite(tp, (st) => this.wecom.permanentCode(st, authCode));
    const applied = await this.corps.authorized(tp, r.corpId, r.permanentCode, JSON.stringify(r.info), eventAt);
    if (!applied) {
      this.d.log.info(
        { codeName: tp.codeName, corpId: r.corpId },
        'authorization older than the last authorization event: not applied',
      );
      return r.corpId;
    }
    const spec = this.corpSpec(tp, r.corpId);
    if (r.accessToken && r.expiresIn) await this.d.engine.seed(spec, r.accessToken, r.expiresIn);
    else await this.d.engine.clear(spec.key);
    return r.corpId;
  }

  /** the suite install page's URL (从服务商网站发起) with a fresh pre_auth_code */
  async installUrl(tp: AppConfig, state: string): Promise<string> {
    const code = await this.withSuite(tp, (st) => this.wecom.preAuthCode(st));
    const redirect = `${this.d.config.publicUrl}/wecom-tp/${encodeURIComponent(tp.codeName)}/installed`;
    const q = new URLSearchParams({ suite_id: tp.appId, pre_auth_code: code, redirect_uri: redirect, state });
    return `${this.openBase}/3rdapp/install?${q.toString()}`;
  }

  /**
   * Stops serving a corp at once (every node reads the corp's state before serving). A cancel
   * at `eventAt` (ms) older than the last authorization event applied (a replayed or late push)
   * changes nothing.
   */
  async cancel(tp: AppConfig, corpId: string, eventAt: number): Promise<boolean> {
    const applied = await this.corps.revoked(tp, corpId, eventAt);
    if (!applied) {
      this.d.log.info(
        { codeName: tp.codeName, corpId },
        'cancel_auth older than the last authorization event: ignored',
      );
      return false;
    }
    await this.d.engine.clear(this.corpKey(tp, corpId));
    return true;
  }

  // ---- pushes

  /**
   * Handles a decrypted push to the suite's 指令回调URL. Everything it stores is committed before
   * the caller answers `success`; a failure that a retry may fix throws (→ 503, WeCom pushes again).
   */
  async onEvent(tp: AppConfig, fields: Record<string, unknown>): Promise<void> {
    const infoType = text(fields, 'InfoType') ?? 'unknown';
    const ts = Number(text(fields, 'TimeStamp'));
    const timestamp = Number.isFinite(ts) && ts > 0 ? Math.floor(ts) : undefined;
    // authorization events apply in TimeStamp order, per corp
    const eventAt = pushEventAt(text(fields, 'TimeStamp'));
    let corpId = text(fields, 'AuthCorpId');
    switch (infoType) {
      case 'suite_ticket':
        await storePushedTicket(this.d.store, PLATFORM, tp.appId, text(fields, 'SuiteTicket'), timestamp);
        break;
      case 'create_auth':
      case 'reset_permanent_code': {
        const push = { account: corpId, code: text(fields, 'AuthCode'), eventAt, infoType };
        await this.corps.codePush(
          tp,
          push,
          this.d.log,
          async (code) => (corpId = await this.authorize(tp, code, eventAt)),
          // WeCom refused the code itself (used already, e.g. by the install redirect, or expired):
          // pushing it again cannot help. Anything else is retried.
          async (err) => err instanceof UpstreamError && Number(err.errcode) !== -1 && !err.tokenRejected,
        );
        break;
      }
      case 'cancel_auth':
        if (corpId) await this.cancel(tp, corpId, eventAt);
        break;
      case 'change_auth':
        // the corp was authorized at that time: a cancel_auth older than this one is stale from now on
        if (corpId) await this.corps.touched(tp, corpId, eventAt);
        break;
      default:
        // anything else: recorded only
        break;
    }
    const pushAt = await this.d.pushes.record({
      platform: PLATFORM,
      codeName: tp.codeName,
      infoType,
      appId: corpId ?? tp.appId,
      verified: true,
      fields,
    });
    // through the forwarding rules (services/rules.ts): a suite_ticket never leaves; codes masked as in the push log
    if (infoType !== 'suite_ticket') {
      const masked = maskPush(fields);
      forwardPush(this.d, {
        platform: PLATFORM,
        codeName: tp.codeName,
        appId: corpId ?? tp.appId,
        infoType,
        pushAt,
        fields: masked,
        json: masked,
      });
    }
  }
}
