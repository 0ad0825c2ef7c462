import { RpcError, errcodeOf, upstreamError } from '../../../system/errors';
import type { Answer } from '../../../system/upstream';
import type { AuthorizerRow, TokenRow } from '../../../db/store';
import { mask, type AppConfig } from '../../services/apps';
import { fengniaoInvokeSign, fengniaoRefreshSign, fengniaoTokenSign, verifyFengniaoCallback } from './sign';
import type { PlatformDeps } from '../../services/deps';
import { AuthorizedAccounts } from '../../services/authorized-accounts';
import { forwardJson } from '../../services/pushes';
import type { CurrentToken, GetOptions, TokenSpec } from '../../services/tokens/engine';
import { makeSpec, sendWithToken } from '../../services/tokens/spec';
import type { MerchantTokens } from '../../controllers/token-interface';

export const PLATFORM = 'fengniao_app';
/** the platform name in 40029 errors and logs */
const UPSTREAM = 'fengniao';
const KIND = 'merchant_access_token';

/** a merchant id as it may appear in a route, a para or a push (Fengniao's are digits) */
export const MERCHANT_ID = /^[A-Za-z0-9_.-]{1,64}$/;
export const MERCHANT_ID_PATTERN = MERCHANT_ID.source;

/**
 * Fengniao answer codes (`code`, a string; "200" is success). Fengniao does not publish its error
 * code table where we could find it; these are the ones gatehouse acts on (the fake platform
 * answers them the same way):
 *   - the access token is unknown, expired or superseded → compare-and-refresh, retry once
 *   - the refresh token is unknown or expired → the merchant must authorize again (1014)
 */
export const FENGNIAO_CODES = {
  OK: '200',
  PARAM_ERROR: 'A0001',
  SIGN_ERROR: 'A0002',
  CODE_INVALID: 'A0003',
  ACCESS_TOKEN_INVALID: 'A0005',
  ACCESS_TOKEN_EXPIRED: 'A0006',
  REFRESH_TOKEN_INVALID: 'A0007',
} as const;
const INVALID_ACCESS_TOKEN = new Set<string>([
  FENGNIAO_CODES.ACCESS_TOKEN_INVALID,
  FENGNIAO_CODES.ACCESS_TOKEN_EXPIRED,
]);
const DEAD_REFRESH_TOKEN = new Set<string>([FENGNIAO_CODES.REFRESH_TOKEN_INVALID]);

/** what a token exchange or refresh handed over */
export interface FengniaoGrant {
  merchantId: string;
  accessToken: string;
  /** seconds */
  expiresIn: number;
  refreshToken?: string;
  /** seconds the refresh token lives (re_expire_in) */
  reExpiresIn?: number;
}

/** the non-secret part of what is kept per merchant (authorizers.info) */
interface MerchantInfo {
  /** epoch ms when the refresh token expires (re_expire_in); null when Fengniao did not say */
  reExpiresAt: number | null;
}

/** a Fengniao number: a JSON number or a numeric string, positive */
function positiveSeconds(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

/**
 * Checks a Fengniao reply `{code, msg, sign, business_data}`: a code other than 200 is a 40029;
 * `business_data` is a JSON-encoded string on the current API, an object on older ones.
 */
export function fengniaoBusinessData(api: string, body: Record<string, unknown>): Record<string, unknown> {
  const code = body.code === undefined || body.code === null ? '' : String(body.code);
  if (code !== FENGNIAO_CODES.OK)
    throw upstreamError(UPSTREAM, code || 'unknown', typeof body.msg === 'string' ? body.msg : String(body.msg ?? ''));
  let bd = body.business_data;
  if (typeof bd === 'string') {
    try {
      bd = JSON.parse(bd) as unknown;
    } catch {
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `${UPSTREAM} ${api}: business_data is not JSON`);
    }
  }
  if (bd === null || typeof bd !== 'object' || Array.isArray(bd)) {
    throw new RpcError('UPSTREAM_BAD_REPLY', '', `${UPSTREAM} ${api}: no business_data object in the reply`);
  }
  return bd as Record<string, unknown>;
}

/** the grant in a token / refreshToken reply (expire_in / re_expire_in as numbers or numeric strings) */
export function parseGrant(api: string, body: Record<string, unknown>): FengniaoGrant {
  const bd = fengniaoBusinessData(api, body);
  const accessToken = typeof bd.access_token === 'string' ? bd.access_token : '';
  const expiresIn = positiveSeconds(bd.expire_in);
  if (!accessToken || expiresIn === undefined)
    throw new RpcError('UPSTREAM_BAD_REPLY', '', `${UPSTREAM} ${api}: no access_token or expire_in in business_data`);
  return {
    merchantId: bd.merchant_id === undefined || bd.merchant_id === null ? '' : String(bd.merchant_id),
    accessToken,
    expiresIn,
    refreshToken: typeof bd.refresh_token === 'string' && bd.refresh_token ? bd.refresh_token : undefined,
    reExpiresIn: positiveSeconds(bd.re_expire_in),
  };
}

/** a callback as Fengniao pushes it (JSON or form): app_id, timestamp, signature, business_data */
export interface FengniaoCallback {
  app_id?: unknown;
  timestamp?: unknown;
  signature?: unknown;
  business_data?: unknown;
}

/**
 * Fengniao (蜂鸟, Ele.me delivery) merchants: authorization, tokens, callbacks, signed invoke proxy.
 *
 * A merchant's refresh token is kept sealed in the authorizers table (platform `fengniao_app`,
 * owner = the app's appId, authorizer = merchant id) with its re-expiry in `info`; its access token
 * is a token-engine token (subject `appId:merchantId`), seeded by the authorization and refreshed
 * with the refresh grant, which rotates the refresh token.
 */
export class Fengniao implements MerchantTokens {
  private readonly merchants: AuthorizedAccounts;

  constructor(
    private readonly sv: PlatformDeps,
    private readonly urls: { api: string; open: string },
  ) {
    this.merchants = new AuthorizedAccounts(sv.store, sv.box, sv.apps, PLATFORM);
    sv.engine.resolver(PLATFORM, KIND, async (row: TokenRow) => {
      const m = await this.merchants.accountOf(row);
      // a merchant that must authorize again is left alone: no refresh storm on a dead refresh token
      return m && this.usable(await this.merchants.row(m.app, m.id)) ? this.merchantSpec(m.app, m.id) : null;
    });
  }

  private get api(): string {
    return this.urls.api;
  }

  /** the enabled app, or a 1012 */
  require(codeName: string): Promise<AppConfig> {
    return this.sv.apps.require(PLATFORM, codeName);
  }

  private secret(app: AppConfig): string {
    return String(app.config.secret);
  }

  /**
   * The page an administrator is sent to for a merchant's authorization (§7), with the single-use
   * `state` nonce the page issued (§7 trust); Fengniao echoes it to the auth-callback.
   */
  authorizationUrl(app: AppConfig, state: string): string {
    const q = new URLSearchParams({ app_id: app.appId, dev_id: String(app.config.devId), state });
    return `${this.urls.open}/app-auth?${q.toString()}`;
  }

  // ---- Fengniao OAuth API

  private async grant(api: 'token' | 'refreshToken', json: Record<string, unknown>): Promise<FengniaoGrant> {
    const body = await this.sv.upstream.json({
      platform: UPSTREAM,
      api,
      url: `${this.api}/anubis-webapi/openapi/${api}`,
      method: 'POST',
      json,
      errcodeField: 'code',
    });
    return parseGrant(api, body);
  }

  /** authorization_code grant: the code Fengniao handed to auth-callback → token + refresh token */
  exchangeCode(app: AppConfig, code: string, merchantId: string): Promise<FengniaoGrant> {
    const timestamp = String(Date.now());
    return this.grant('token', {
      grant_type: 'authorization_code',
      code,
      app_id: app.appId,
      merchant_id: merchantId,
      timestamp,
      signature: fengniaoTokenSign(this.secret(app), app.appId, code, merchantId, timestamp),
    });
  }

  /** refresh_token grant (the refresh token rotates) */
  refreshGrant(app: AppConfig, merchantId: string, refreshToken: string): Promise<FengniaoGrant> {
    const timestamp = String(Date.now());
    return this.grant('refreshToken', {
      grant_type: 'refresh_token',
      app_id: app.appId,
      merchant_id: merchantId,
      refresh_token: refreshToken,
      timestamp,
      signature: fengniaoRefreshSign(this.secret(app), app.appId, merchantId, refreshToken, timestamp),
    });
  }

  // ---- merchants

  private info(row: AuthorizerRow): MerchantInfo {
    try {
      const i = JSON.parse(row.info ?? '{}') as Partial<MerchantInfo>;
      return { reExpiresAt: typeof i.reExpiresAt === 'number' ? i.reExpiresAt : null };
    } catch {
      return { reExpiresAt: null };
    }
  }

  /** why a merchant cannot be served (null when it can) */
  private unusable(row: AuthorizerRow | null): string | null {
    if (!row) return 'has never authorized';
    if (!row.authorized || row.needsReauth || !row.refreshToken) return 'must authorize again';
    const { reExpiresAt } = this.info(row);
    if (reExpiresAt !== null && reExpiresAt <= Date.now()) return 'must authorize again (refresh token expired)';
    return null;
  }

  private usable(row: AuthorizerRow | null): row is AuthorizerRow {
    return this.unusable(row) === null;
  }

  /**
   * The merchant's row when its tokens may be served, read from the store on every call. A merchant
   * that never authorized, or whose refresh token expired or was refused → 1014 NOT_READY.
   */
  async requireMerchant(app: AppConfig, merchantId: string): Promise<AuthorizerRow> {
    const row = await this.merchants.row(app, merchantId);
    const why = this.unusable(row);
    if (why) throw new RpcError('NOT_READY', '', `${app.codeName}: merchant ${merchantId} ${why}`);
    return row!;
  }

  /** stores (or replaces) a merchant's refresh token, sealed, and its re-expiry */
  private async saveMerchant(
    app: AppConfig,
    merchantId: string,
    refreshToken: string,
    reExpiresAt: number | null,
  ): Promise<void> {
    const info: MerchantInfo = { reExpiresAt };
    await this.merchants.put(app, merchantId, refreshToken, JSON.stringify(info));
  }

  merchantSpec(app: AppConfig, merchantId: string): TokenSpec {
    return makeSpec(PLATFORM, app.codeName, this.merchants.subject(app, merchantId), KIND, async () => {
      const row = await this.requireMerchant(app, merchantId);
      const old = this.info(row);
      let g: FengniaoGrant;
      try {
        g = await this.refreshGrant(app, merchantId, this.merchants.refreshToken(row));
      } catch (err) {
        const code = errcodeOf(err);
        if (code !== undefined && DEAD_REFRESH_TOKEN.has(String(code))) {
          // the refresh token is gone: stop refreshing until the merchant authorizes again
          await this.merchants.needsReauth(app, merchantId);
          throw new RpcError(
            'NOT_READY',
            '',
            `${app.codeName}: merchant ${merchantId} refresh token refused (${code}); it must authorize again`,
          );
        }
        throw err;
      }
      if (g.merchantId && g.merchantId !== merchantId) {
        throw new RpcError('UPSTREAM_BAD_REPLY', '', `${UPSTREAM} refreshToken: answered for another merchant`);
      }
      if (g.refreshToken) {
        const reExpiresAt = g.reExpiresIn !== undefined ? Date.now() + g.reExpiresIn * 1000 : null;
        await this.saveMerchant(app, merchantId, g.refreshToken, reExpiresAt);
      } else if (g.reExpiresIn !== undefined && old.reExpiresAt === null) {
        await this.saveMerchant(app, merchantId, this.merchants.refreshToken(row), Date.now() + g.reExpiresIn * 1000);
      }
      return { value: g.accessToken, expiresIn: g.expiresIn };
    });
  }

  // merchantTokenInterface(): the merchant's para field and pattern, and the interface's summary
  readonly platform = PLATFORM;
  readonly merchant = {
    field: 'merchantId',
    pattern: MERCHANT_ID_PATTERN,
    summary:
      "A Fengniao merchant's access token (refresh grant with the stored refresh token, which rotates); 1014 " +
      'until the merchant authorized, or once its refresh token expired.',
  };

  /** `fengniao.merchant.token`: the merchant's access token through the engine (§5) */
  async merchantToken(app: AppConfig, merchantId: string, opts: GetOptions = {}): Promise<CurrentToken> {
    await this.requireMerchant(app, merchantId);
    return this.sv.engine.get(this.merchantSpec(app, merchantId), opts);
  }

  /**
   * auth-callback: exchanges the code at once, stores the refresh token (sealed) and its re-expiry,
   * seeds the access token (no second call), records the push and notifies callbackUrl (background).
   */
  async authorize(app: AppConfig, code: string, merchantId: string): Promise<void> {
    let g: FengniaoGrant;
    try {
      g = await this.exchangeCode(app, code, merchantId);
    } catch (err) {
      // Fengniao may deliver the same callback twice: a code already exchanged is not an error when
      // the merchant's authorization was stored moments ago
      const row = await this.merchants.row(app, merchantId).catch(() => null);
      if (errcodeOf(err) === undefined || !this.usable(row) || Date.now() - row.updatedAt > 10 * 60_000) throw err;
      this.sv.log.info({ codeName: app.codeName, merchantId }, 'fengniao authorization code already exchanged');
      return;
    }
    if (g.merchantId && g.merchantId !== merchantId) {
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `${UPSTREAM} token: answered for another merchant`);
    }
    if (!g.refreshToken)
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `${UPSTREAM} token: no refresh_token in business_data`);
    await this.saveMerchant(
      app,
      merchantId,
      g.refreshToken,
      g.reExpiresIn !== undefined ? Date.now() + g.reExpiresIn * 1000 : null,
    );
    await this.sv.engine.seed(this.merchantSpec(app, merchantId), g.accessToken, g.expiresIn);
    await this.sv.pushes.record({
      platform: PLATFORM,
      codeName: app.codeName,
      infoType: 'authNotify',
      appId: merchantId,
      verified: true,
      fields: { merchant_id: merchantId, code: mask(code) },
    });
    forwardJson(
      this.sv.log,
      app.config.callbackUrl as string | undefined,
      { callback_business_type: 'authNotify', param: { merchant_id: merchantId } },
      `${app.codeName} authNotify`,
    );
  }

  // ---- callbacks

  /**
   * A callback Fengniao pushes: the app_id must be the app's and the signature must verify
   * (otherwise false: nothing is recorded or forwarded). A good one is recorded and its
   * business_data forwarded to callbackUrl in the background.
   */
  async onCallback(app: AppConfig, cb: FengniaoCallback): Promise<boolean> {
    const appId = cb.app_id === undefined || cb.app_id === null ? '' : String(cb.app_id);
    const ts = typeof cb.timestamp === 'string' || typeof cb.timestamp === 'number' ? String(cb.timestamp) : '';
    const signature = typeof cb.signature === 'string' ? cb.signature : '';
    // current API: a JSON-encoded string, signed as it is; an object (older API) is signed as compact JSON
    const raw =
      typeof cb.business_data === 'string'
        ? cb.business_data
        : cb.business_data !== undefined && cb.business_data !== null
          ? JSON.stringify(cb.business_data)
          : '';
    if (!appId || !ts || !signature || appId !== app.appId) return false;
    if (!verifyFengniaoCallback(this.secret(app), appId, raw, ts, signature)) return false;
    let data: unknown = raw;
    try {
      data = JSON.parse(raw) as unknown;
    } catch {
      // not JSON: recorded and forwarded as the string it is
    }
    const obj =
      data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
    const param =
      obj && obj.param !== null && typeof obj.param === 'object' ? (obj.param as Record<string, unknown>) : null;
    const infoType =
      obj && typeof obj.callback_business_type === 'string' ? obj.callback_business_type.slice(0, 64) : 'callback';
    const merchant = param?.merchant_id ?? obj?.merchant_id;
    await this.sv.pushes.record({
      platform: PLATFORM,
      codeName: app.codeName,
      infoType,
      appId: merchant === undefined || merchant === null ? null : String(merchant).slice(0, 128),
      verified: true,
      fields: obj ?? { business_data: data },
    });
    forwardJson(this.sv.log, app.config.callbackUrl as string | undefined, data, `${app.codeName} ${infoType}`);
    return true;
  }

  // ---- the signed invoke proxy

  private async post(
    app: AppConfig,
    merchantId: string,
    path: string,
    search: string,
    businessData: string,
    accessToken: string,
  ): Promise<{ res: Answer; body: Buffer; code?: string }> {
    const timestamp = String(Date.now());
    const payload = {
      app_id: app.appId,
      merchant_id: merchantId,
      timestamp,
      version: '1.0',
      access_token: accessToken,
      business_data: businessData,
      signature: fengniaoInvokeSign(this.secret(app), accessToken, app.appId, businessData, merchantId, timestamp),
    };
    const { res, body, json } = await this.sv.upstream.raw({
      platform: UPSTREAM,
      api: 'invoke',
      url: `${this.api}/anubis-webapi/v3/invoke${path}${search}`,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      json: payload,
      errcodeField: 'code',
    });
    // not JSON: relayed as it came
    const code = json?.code === undefined || json.code === null ? undefined : String(json.code);
    return { res, body, code };
  }

  /**
   * POSTs `businessData` (the caller's JSON body, as a string) to `/anubis-webapi/v3/invoke{path}`,
   * signed with the merchant's access token. When Fengniao says that token is no good it is
   * compare-and-refreshed (§5.4) and the call is made once more. The platform's answer is returned
   * as it came.
   */
  async invoke(
    app: AppConfig,
    merchantId: string,
    path: string,
    search: string,
    businessData: string,
  ): Promise<{ res: Answer; body: Buffer }> {
    await this.requireMerchant(app, merchantId);
    const spec = this.merchantSpec(app, merchantId);
    const send = (token: string) => this.post(app, merchantId, path, search, businessData, token);
    return sendWithToken(this.sv.engine, spec, send, (r) => r.code !== undefined && INVALID_ACCESS_TOKEN.has(r.code));
  }
}
