import { RpcError, errcodeOf, upstreamError } from '../../../system/errors';
import type { RawReply, UpstreamRequest } from '../../../system/upstream';
import type { AuthorizerRow } from '../../../db/store';
import type { AppConfig } from '../../services/apps';
import { developerSign, refreshData, shansongSign } from './sign';
import type { PlatformDeps } from '../../services/deps';
import { AuthorizedAccounts } from '../../services/authorized-accounts';
import { forwardJson } from '../../services/pushes';
import type { CurrentToken, GetOptions, TokenSpec } from '../../services/tokens/engine';
import { makeSpec, sendWithToken } from '../../services/tokens/spec';
import type { MerchantTokens } from '../../controllers/token-interface';

export const PLATFORM = 'shansong_app';
/** the platform name in errors (`{platform, errcode, errmsg}`) and logs */
const UPSTREAM = 'shansong';
const KIND = 'merchant_access_token';

/** merchant codes (the `state` of an authorization): safe in a path, a key and a table column */
export const MERCHANT_CODE_PATTERN = '^[A-Za-z0-9_.@-]{1,128}$';
const MERCHANT_CODE = new RegExp(MERCHANT_CODE_PATTERN);

/**
 * Shansong `status` values that say the credential the call carried is no good: on the developer
 * API the access token (gatehouse refreshes it once and retries), on the refresh call the refresh
 * token (the merchant must authorize again). Shansong's public error table was not found in the
 * reference material; 401 is what the fake platform answers and the one place to change.
 */
export const CREDENTIAL_REJECTED = new Set([401]);

/** query parameters of a proxied call that gatehouse sets itself (never passed twice) */
const SYSTEM_PARAMS = new Set(['accesstoken', 'clientid', 'timestamp', 'sign', 'data']);

export interface ShansongTokens {
  accessToken: string;
  refreshToken?: string;
  /** seconds */
  expiresIn: number;
  /** the rest of what the platform said (no credentials), kept with the merchant */
  info: Record<string, unknown>;
}

/** `data` of a token exchange or refresh → tokens; expires_in may be a number or a numeric string */
function tokensOf(data: unknown, api: string): ShansongTokens {
  const d = (data ?? {}) as Record<string, unknown>;
  const accessToken = d.access_token;
  const expiresIn =
    typeof d.expires_in === 'string' && d.expires_in.trim() !== '' ? Number(d.expires_in) : d.expires_in;
  if (
    typeof accessToken !== 'string' ||
    !accessToken ||
    typeof expiresIn !== 'number' ||
    !Number.isFinite(expiresIn) ||
    expiresIn <= 0
  ) {
    throw new RpcError('UPSTREAM_BAD_REPLY', '', `${UPSTREAM} ${api}: no access_token / expires_in in the reply`);
  }
  const refreshToken = typeof d.refresh_token === 'string' && d.refresh_token ? d.refresh_token : undefined;
  const { access_token: _a, refresh_token: _r, ...info } = d;
  return { accessToken, refreshToken, expiresIn, info };
}

/**
 * Shansong (闪送) merchants: authorization (code → token), per-merchant access tokens through the
 * engine with the refresh token rotated and kept sealed in the authorizers table (platform
 * `shansong_app`, owner = clientId, authorizer = merchantCode), order callbacks, and the
 * form-signed developer API behind the proxy.
 */
export class Shansong implements MerchantTokens {
  private readonly merchants: AuthorizedAccounts;

  constructor(
    private readonly sv: PlatformDeps,
    private readonly urls: { api: string },
  ) {
    this.merchants = new AuthorizedAccounts(sv.store, sv.box, sv.apps, PLATFORM);
    sv.engine.resolver(PLATFORM, KIND, async (row) => {
      const m = await this.merchants.servableAccountOf(row);
      return m && this.merchantSpec(m.app, m.id);
    });
  }

  /** the enabled app, or a 1012 */
  require(codeName: string): Promise<AppConfig> {
    return this.sv.apps.require(PLATFORM, codeName);
  }

  static validMerchantCode(code: unknown): code is string {
    return typeof code === 'string' && MERCHANT_CODE.test(code);
  }

  private get engine() {
    return this.sv.engine;
  }

  private get base(): string {
    return this.urls.api;
  }

  // ---- HTTP

  /** One form-urlencoded POST to the platform (through the upstream client: metrics, timeout, no redirects). */
  private request(api: string, path: string, form: Record<string, string>, query?: URLSearchParams): UpstreamRequest {
    return {
      platform: UPSTREAM,
      api,
      url: this.base + path,
      query,
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' },
      form,
      errcodeField: 'status',
    };
  }

  /**
   * a call whose `{"status","msg","data"}` reply is ours to read: non-2xx → 1005, unparsable → 1007, status ≠ 200 →
   * 40029
   */
  private async call(api: string, path: string, form: Record<string, string>): Promise<unknown> {
    const reply = await this.sv.upstream.json(this.request(api, path, form));
    const status = Number(reply.status);
    if (!Number.isInteger(status))
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `${UPSTREAM} ${api}: reply is not a {status, msg, data} object`);
    if (status !== 200)
      throw upstreamError(UPSTREAM, status, typeof reply.msg === 'string' ? reply.msg : String(reply.msg ?? ''));
    return reply.data;
  }

  /** the authorization code of the redirect → tokens (unsigned: clientId, code) */
  async exchange(app: AppConfig, code: string): Promise<ShansongTokens> {
    return tokensOf(
      await this.call('oauth_token', '/openapi/oauth/token', { clientId: app.appId, code }),
      'oauth_token',
    );
  }

  /** a refresh token → new tokens (signed: clientId, timestamp, sign, data = {"refreshToken":"RT"}) */
  async refresh(app: AppConfig, refreshToken: string): Promise<ShansongTokens> {
    const timestamp = String(Date.now());
    const data = refreshData(refreshToken);
    const sign = shansongSign(String(app.config.secret), { clientId: app.appId, data, timestamp });
    return tokensOf(
      await this.call('oauth_refresh_token', '/openapi/oauth/refresh_token', {
        clientId: app.appId,
        timestamp,
        sign,
        data,
      }),
      'oauth_refresh_token',
    );
  }

  // ---- merchants

  // merchantTokenInterface(): the merchant's para field and pattern, and the interface's summary
  readonly platform = PLATFORM;
  readonly merchant = {
    field: 'merchantCode',
    pattern: MERCHANT_CODE_PATTERN,
    summary:
      "A Shansong merchant's access token (refreshed with its rotated refresh token; 1014 until the merchant " +
      'authorized, or after its refresh token was rejected).',
  };

  /**
   * Read from the store on every call, so a rejected refresh token stops serving on every node at
   * once. A merchant that never authorized is a 1014 (PROTOCOL §2: "merchant not authorized"), as is
   * one whose refresh token the platform rejected.
   */
  async requireMerchant(app: AppConfig, merchantCode: string): Promise<AuthorizerRow> {
    const a = await this.merchants.row(app, merchantCode);
    if (!a || !a.authorized || !a.refreshToken)
      throw new RpcError('NOT_READY', '', `${app.codeName}: merchant ${merchantCode} has not authorized`);
    if (a.needsReauth)
      throw new RpcError('NOT_READY', '', `${app.codeName}: merchant ${merchantCode} must authorize again`);
    return a;
  }

  merchantSpec(app: AppConfig, merchantCode: string): TokenSpec {
    return makeSpec(PLATFORM, app.codeName, this.merchants.subject(app, merchantCode), KIND, async () => {
      const a = await this.requireMerchant(app, merchantCode);
      const current = this.merchants.refreshToken(a);
      let t: ShansongTokens;
      try {
        t = await this.refresh(app, current);
      } catch (err) {
        if (CREDENTIAL_REJECTED.has(Number(errcodeOf(err)))) {
          // the refresh token is gone: no more refresh calls until the merchant authorizes again
          await this.merchants.needsReauth(app, merchantCode);
          this.sv.log.warn(
            { codeName: app.codeName, merchantCode },
            'shansong refresh token rejected; the merchant must authorize again',
          );
          throw new RpcError('NOT_READY', '', `${app.codeName}: merchant ${merchantCode} refresh token rejected`);
        }
        throw err;
      }
      // a rotated refresh token is kept before the new access token is handed out
      if (t.refreshToken && t.refreshToken !== current) {
        await this.merchants.rotate(app, merchantCode, t.refreshToken);
      }
      return { value: t.accessToken, expiresIn: t.expiresIn };
    });
  }

  async merchantToken(app: AppConfig, merchantCode: string, opts: GetOptions = {}): Promise<CurrentToken> {
    await this.requireMerchant(app, merchantCode);
    return this.engine.get(this.merchantSpec(app, merchantCode), opts);
  }

  /**
   * The URL of Shansong's authorization page (PROTOCOL §7, parameters in that order). `state` is the
   * single-use nonce the page issued for the merchant (§7 trust), never the merchant code itself.
   */
  authorizationUrl(app: AppConfig, state: string): string {
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: app.appId,
      scope: 'shop_open_api',
      redirect_uri: `${this.sv.config.publicUrl}/shansong/${encodeURIComponent(app.codeName)}/authorized`,
      state,
    });
    return `${this.base}/auth?${q.toString()}`;
  }

  /**
   * Exchanges the code of the authorization redirect at once: the refresh token is stored sealed
   * (a new authorization clears a rejected one), the access token seeded into the engine.
   */
  async authorize(app: AppConfig, merchantCode: string, code: string): Promise<void> {
    const t = await this.exchange(app, code);
    if (!t.refreshToken)
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `${UPSTREAM} oauth_token: no refresh_token in the reply`);
    await this.merchants.put(
      app,
      merchantCode,
      t.refreshToken,
      Object.keys(t.info).length ? JSON.stringify(t.info) : null,
    );
    await this.engine.seed(this.merchantSpec(app, merchantCode), t.accessToken, t.expiresIn);
  }

  // ---- callbacks

  /** an order status callback: recorded, then forwarded as JSON to callbackUrl in the background */
  async onCallback(app: AppConfig, fields: Record<string, unknown>): Promise<void> {
    const infoType =
      typeof fields.status === 'number' || typeof fields.status === 'string'
        ? `order_status_${String(fields.status)}`
        : 'callback';
    // Shansong does not sign its callbacks: recorded as unverified
    await this.sv.pushes.record({
      platform: PLATFORM,
      codeName: app.codeName,
      infoType,
      appId: app.appId,
      verified: false,
      fields,
    });
    forwardJson(this.sv.log, app.config.callbackUrl as string | undefined, fields, `${app.codeName} shansong callback`);
  }

  // ---- developer API (proxy)

  /**
   * Calls `/openapi/developer/v5{path}` for a merchant: clientId, accessToken, timestamp, sign and
   * (when given) data, form-signed. When the platform says the access token is no good, that exact
   * token is compare-and-refreshed (§5.4) and the call made once more. The reply is returned as it came.
   */
  async developer(
    app: AppConfig,
    merchantCode: string,
    path: string,
    data: string | undefined,
    query?: URLSearchParams,
  ): Promise<RawReply> {
    await this.requireMerchant(app, merchantCode);
    const spec = this.merchantSpec(app, merchantCode);
    const passed = new URLSearchParams();
    for (const [k, v] of query ?? []) if (!SYSTEM_PARAMS.has(k.toLowerCase())) passed.append(k, v);
    const send = (accessToken: string) => {
      const timestamp = String(Date.now());
      const form: Record<string, string> = {
        clientId: app.appId,
        accessToken,
        timestamp,
        sign: developerSign(String(app.config.secret), app.appId, accessToken, timestamp, data),
      };
      if (data) form.data = data;
      return this.sv.upstream.raw(this.request('developer', `/openapi/developer/v5${path}`, form, passed));
    };
    return sendWithToken(this.engine, spec, send, (r) => this.tokenRejected(r));
  }

  /**
   * Calls `/openapi/merchantRegister/v5{path}` for the app itself (no merchant token): clientId,
   * timestamp, sign and (when given) data, form-signed. The reply is returned as it came.
   */
  async merchantRegister(app: AppConfig, path: string, data: string | undefined, query?: URLSearchParams) {
    const passed = new URLSearchParams();
    for (const [k, v] of query ?? []) if (!SYSTEM_PARAMS.has(k.toLowerCase())) passed.append(k, v);
    const timestamp = String(Date.now());
    const form: Record<string, string> = {
      clientId: app.appId,
      timestamp,
      sign: shansongSign(String(app.config.secret), { clientId: app.appId, data, timestamp }),
    };
    if (data) form.data = data;
    return this.sv.upstream.raw(this.request('merchantRegister', `/openapi/merchantRegister/v5${path}`, form, passed));
  }

  private tokenRejected(r: RawReply): boolean {
    if (r.res.status < 200 || r.res.status > 299) return false;
    return !!r.json && CREDENTIAL_REJECTED.has(Number(r.json.status));
  }
}
