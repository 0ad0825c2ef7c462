import NodeCache from 'node-cache';
import { RpcError, StoreError } from '../../system/errors';
import type { SecretBox } from '../../system/secretbox';
import type { SessionRow, Store } from '../../db/store';
import type { AppConfig, AppService } from './apps';
import { decryptUserData, randomHex128, safeEqual, sha1, sha256 } from './crypto/datacrypt';

export const DEFAULT_LOGIN_DAYS = 30;
export const DEFAULT_SESSION_SECONDS = 2_592_000;
/** `auth` writes last_visit at most this often per session */
export const TOUCH_INTERVAL_MS = 60_000;

export interface LoginPara {
  code?: string;
  /** ByteDance: tt.login's anonymousCode (a session of the anonymous openid when no code is given) */
  anonymous_code?: string;
  encrypt_data?: string;
  iv?: string;
  appid?: string;
  /** the platform of the mini program (wechat, toutiao, qq, alipay), when its appid alone does not tell */
  platform?: string;
}

export interface Credentials {
  id: string;
  skey: string;
  appid?: string;
  platform?: string;
}

/** what a platform's login gives a session */
export interface MiniSession {
  openid: string;
  /** what the platform's user data is decrypted / signed with ('' when it has none: Alipay) */
  session_key: string;
  unionid?: string;
}

/** What a platform offers the Wafer session interfaces: its mini programs' login (code → session key). */
export interface MiniProgramLogin {
  /** the kind of app config whose apps log in (wechat_app) */
  kind: string;
  /** whether it logs in with an anonymous code too (ByteDance's tt.login anonymousCode) */
  anonymousCode?: boolean;
  /** the code, or the anonymous code when that is all there is */
  code2session(app: AppConfig, code: string | undefined, anonymousCode?: string): Promise<MiniSession>;
  /**
   * its encrypted user data (phone number, user info …) as an object; default WXBizDataCrypt with the
   * session key (AES-128-CBC, watermark.appid checked)
   */
  decrypt?(app: AppConfig, sessionKey: string, encryptData: string, iv: string | undefined): Record<string, unknown>;
  /** whether `signature` signs `rawData`; default sha1(rawData + session_key) */
  checkSignature?(app: AppConfig, sessionKey: string, rawData: string, signature: string): boolean;
}

/** a platform's login, named by its platform */
export interface PlatformLogin extends MiniProgramLogin {
  platform: string;
}

interface LiveSession {
  row: SessionRow;
  app: AppConfig;
  login: PlatformLogin;
}

const paraError = (path: string, message: string) => new RpcError('PARA_ERROR', { errors: [{ path, message }] });

/** the stored user info: JSON of an object, written by this service only */
const parseUserInfo = (s: string | null): Record<string, unknown> | null =>
  s === null ? null : (JSON.parse(s) as Record<string, unknown>);

/**
 * Wafer sessions (§3.1): login through each platform's code2session (its `MiniProgramLogin`), hashed
 * skeys, login and idle expiry; a session belongs to one platform and app.
 */
export class SessionService {
  /**
   * Session rows this node read recently. Its own writes update or drop them; another node's
   * logout or new login is seen within `cacheMs` (GATEHOUSE_SESSION_CACHE_MS, 0 = off).
   */
  private readonly cache?: NodeCache;
  /** the platforms' logins by platform, WeChat's first (the default mini program is looked for there first) */
  private readonly logins = new Map<string, PlatformLogin>();

  constructor(
    private readonly store: Store,
    private readonly apps: AppService,
    logins: PlatformLogin[],
    private readonly box: SecretBox,
    cacheMs = 0,
  ) {
    for (const l of [...logins].sort((a, b) => Number(b.platform === 'wechat') - Number(a.platform === 'wechat')))
      this.logins.set(l.platform, l);
    if (cacheMs > 0)
      this.cache = new NodeCache({
        stdTTL: cacheMs / 1000,
        checkperiod: Math.max(1, cacheMs / 1000),
        useClones: false,
        maxKeys: 100_000,
      });
  }

  /** drops this node's copy of a session (after a write elsewhere in this process) */
  forget(id: string): void {
    this.cache?.del(id);
  }

  private async row(id: string): Promise<SessionRow | null> {
    const hit = this.cache?.get<SessionRow>(id);
    if (hit) return hit;
    const row = await this.store.getSession(id);
    if (row && this.cache) {
      try {
        this.cache.set(id, row);
      } catch {
        // cache full: serve uncached
      }
    }
    return row;
  }

  private durations(app: AppConfig): { loginMs: number; idleS: number } {
    const days = (app.config.loginDurationDays as number | undefined) ?? DEFAULT_LOGIN_DAYS;
    const idleS = (app.config.sessionDurationSeconds as number | undefined) ?? DEFAULT_SESSION_SECONDS;
    return { loginMs: days * 86_400_000, idleS };
  }

  /** the platforms whose mini programs log in here */
  platforms(): string[] {
    return [...this.logins.keys()];
  }

  private platformLogin(platform: string): PlatformLogin {
    const l = this.logins.get(platform);
    if (!l) throw paraError('/platform', `must be one of ${[...this.logins.keys()].sort().join(', ')}`);
    return l;
  }

  /**
   * The mini program named by appid (on `platform`, or on the one platform that has it), or the
   * default one: `platform`'s, else WeChat's, else — when no WeChat mini program is configured — the
   * one platform's single mini program; 1012 / 1003 otherwise.
   */
  async resolveApp(appid: string | undefined, platform?: string): Promise<{ app: AppConfig; login: PlatformLogin }> {
    const logins = platform !== undefined ? [this.platformLogin(platform)] : [...this.logins.values()];
    if (appid !== undefined) {
      const found = (
        await Promise.all(logins.map(async (login) => ({ login, app: await this.apps.byAppId(login.kind, appid) })))
      ).filter((f): f is { login: PlatformLogin; app: AppConfig } => f.app !== null);
      if (found.length === 0) throw new RpcError('NO_APP', '', `mini program ${appid}`);
      if (found.length > 1)
        throw paraError(
          '/platform',
          `is required: appid ${appid} is configured on ${found.map((f) => f.login.platform).join(', ')}`,
        );
      return found[0];
    }
    const defaults = await Promise.all(
      logins.map(async (login) => ({ login, app: await this.apps.defaultApp(login.kind) })),
    );
    const found = defaults.filter((d): d is { login: PlatformLogin; app: AppConfig } => d.app !== null);
    // WeChat's default first (the Wafer SDK names no app); else the one platform's single mini program
    if (found.length > 0 && (found[0].login.platform === 'wechat' || found.length === 1)) {
      const wechatless = platform === undefined && found[0].login.platform !== 'wechat' && this.logins.has('wechat');
      if (!wechatless || !(await this.apps.hasEnabled(this.logins.get('wechat')!.kind))) return found[0];
    }
    throw paraError('/appid', 'is required: no single or default mini program is configured');
  }

  private decryptWith(login: PlatformLogin, app: AppConfig, sessionKey: string, data: string, iv: string | undefined) {
    if (login.decrypt) return login.decrypt(app, sessionKey, data, iv);
    if (iv === undefined) throw paraError('/iv', 'is required');
    return decryptUserData(sessionKey, iv, data, app.appId);
  }

  async login(p: LoginPara) {
    if (p.code === undefined && p.anonymous_code === undefined) throw paraError('/code', 'is required');
    const { app, login } = await this.resolveApp(p.appid, p.platform);
    if (p.code === undefined && !login.anonymousCode)
      throw paraError('/code', `is required (${login.platform} has no anonymous_code)`);
    // before the code is spent: WXBizDataCrypt needs the iv
    if (p.encrypt_data !== undefined && p.iv === undefined && !login.decrypt) throw paraError('/iv', 'is required');
    const s = await login.code2session(app, p.code, p.anonymous_code);
    let userInfo: Record<string, unknown> | undefined;
    if (p.encrypt_data !== undefined) {
      userInfo = this.decryptWith(login, app, s.session_key, p.encrypt_data, p.iv);
    }
    const unionid = s.unionid ?? (typeof userInfo?.unionId === 'string' ? userInfo.unionId : null);
    const skey = randomHex128();
    let id: string;
    try {
      id = await this.store.saveLogin({
        newId: randomHex128(),
        platform: login.platform,
        appid: app.appId,
        openid: s.openid,
        unionid,
        skeyHash: sha256(skey),
        sessionKey: this.box.seal(s.session_key),
        userInfo: userInfo ? JSON.stringify(userInfo) : null,
        now: Date.now(),
      });
    } catch (err) {
      if (err instanceof StoreError) throw new RpcError('SESSION_WRITE_FAILED', '', err.detail);
      throw err;
    }
    this.forget(id);
    const session = {
      id,
      skey,
      duration: this.durations(app).idleS,
      appid: app.appId,
      platform: login.platform,
      unionid,
    };
    return userInfo ? { ...session, user_info: userInfo } : session;
  }

  /** finds the live session for id + skey: 60012 when none, 60011 when expired; moves last_visit */
  private async live(c: Credentials): Promise<LiveSession> {
    const row = await this.row(c.id);
    if (
      !row ||
      !row.skeyHash ||
      !safeEqual(row.skeyHash, sha256(c.skey)) ||
      (c.appid !== undefined && c.appid !== row.appid) ||
      (c.platform !== undefined && c.platform !== row.platform)
    ) {
      throw new RpcError('AUTH_FAIL');
    }
    const login = this.logins.get(row.platform);
    const app = login && (await this.apps.byAppId(login.kind, row.appid));
    if (!login || !app) throw new RpcError('NO_APP', '', `${row.platform} mini program ${row.appid}`);
    const now = Date.now();
    const { loginMs, idleS } = this.durations(app);
    if (now - row.createdAt > loginMs || now - row.lastVisit > idleS * 1000) throw new RpcError('SESSION_EXPIRED');
    if (now - row.lastVisit >= TOUCH_INTERVAL_MS) {
      const before = row.lastVisit;
      row.lastVisit = now; // concurrent requests of this session do not write again
      try {
        await this.store.touchSession(row.id, now, now - TOUCH_INTERVAL_MS + 1);
      } catch (err) {
        row.lastVisit = before;
        throw err;
      }
    }
    return { row, app, login };
  }

  async auth(c: Credentials) {
    const { row } = await this.live(c);
    return {
      user_info: parseUserInfo(row.userInfo),
      appid: row.appid,
      platform: row.platform,
      openid: row.openid,
      unionid: row.unionid,
    };
  }

  private decrypt(s: LiveSession, encryptData: string, iv: string | undefined): Record<string, unknown> {
    return this.decryptWith(s.login, s.app, this.box.open(s.row.sessionKey), encryptData, iv);
  }

  async userinfo(c: Credentials & { encrypt_data: string; iv?: string }) {
    const s = await this.live(c);
    const info = this.decrypt(s, c.encrypt_data, c.iv);
    const unionid = typeof info.unionId === 'string' ? info.unionId : null;
    try {
      await this.store.setSessionUserInfo(s.row.id, JSON.stringify(info), unionid);
      this.forget(s.row.id);
    } catch (err) {
      if (err instanceof StoreError) throw new RpcError('SESSION_WRITE_FAILED', '', err.detail);
      throw err;
    }
    return { id: c.id, skey: c.skey, appid: s.row.appid, user_info: info };
  }

  async decryptData(c: Credentials & { encrypt_data: string; iv?: string }) {
    return this.decrypt(await this.live(c), c.encrypt_data, c.iv);
  }

  async checkSignature(c: Credentials & { raw_data: string; signature: string }) {
    const s = await this.live(c);
    const key = this.box.open(s.row.sessionKey);
    if (s.login.checkSignature) return { valid: s.login.checkSignature(s.app, key, c.raw_data, c.signature) };
    return { valid: safeEqual(sha1(c.raw_data + key), c.signature.toLowerCase()) };
  }

  async logout(c: Credentials) {
    const row = await this.store.getSession(c.id);
    if (!row || !row.skeyHash || !safeEqual(row.skeyHash, sha256(c.skey))) throw new RpcError('AUTH_FAIL');
    await this.store.logoutSession(row.id, row.skeyHash);
    this.forget(row.id);
    return {};
  }
}
