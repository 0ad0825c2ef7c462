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
  code: string;
  encrypt_data?: string;
  iv?: string;
  appid?: string;
}

export interface Credentials {
  id: string;
  skey: string;
  appid?: string;
}

/** What a platform offers the Wafer session interfaces: its mini programs' login (code → session key). */
export interface MiniProgramLogin {
  /** the kind of app config whose apps log in (wechat_app) */
  kind: string;
  code2session(app: AppConfig, code: string): Promise<{ openid: string; session_key: string; unionid?: string }>;
}

interface LiveSession {
  row: SessionRow;
  app: AppConfig;
}

/** the stored user info: JSON of an object, written by this service only */
const parseUserInfo = (s: string | null): Record<string, unknown> | null =>
  s === null ? null : (JSON.parse(s) as Record<string, unknown>);

/** Wafer sessions (§3.1): login through jscode2session, hashed skeys, login and idle expiry. */
export class SessionService {
  /**
   * Session rows this node read recently. Its own writes update or drop them; another node's
   * logout or new login is seen within `cacheMs` (GATEHOUSE_SESSION_CACHE_MS, 0 = off).
   */
  private readonly cache?: NodeCache;
  private readonly mini?: MiniProgramLogin;

  constructor(
    private readonly store: Store,
    private readonly apps: AppService,
    logins: MiniProgramLogin[],
    private readonly box: SecretBox,
    cacheMs = 0,
  ) {
    // one kind today: a session row names its app by appid only
    this.mini = logins[0];
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

  /** the mini program named by appid, or the default one; 1012 / 1003 otherwise */
  async resolveApp(appid: string | undefined): Promise<AppConfig> {
    if (appid !== undefined) {
      const app = this.mini && (await this.apps.byAppId(this.mini.kind, appid));
      if (!app) throw new RpcError('NO_APP', '', `${this.mini?.kind ?? 'mini program'} ${appid}`);
      return app;
    }
    const app = this.mini && (await this.apps.defaultApp(this.mini.kind));
    if (!app) {
      throw new RpcError('PARA_ERROR', {
        errors: [{ path: '/appid', message: 'is required: no single or default mini program is configured' }],
      });
    }
    return app;
  }

  async login(p: LoginPara) {
    const app = await this.resolveApp(p.appid);
    const s = await this.mini!.code2session(app, p.code);
    let userInfo: Record<string, unknown> | undefined;
    if (p.encrypt_data !== undefined && p.iv !== undefined) {
      userInfo = decryptUserData(s.session_key, p.iv, p.encrypt_data, app.appId);
    }
    const unionid = s.unionid ?? (typeof userInfo?.unionId === 'string' ? userInfo.unionId : null);
    const skey = randomHex128();
    let id: string;
    try {
      id = await this.store.saveLogin({
        newId: randomHex128(),
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
    const session = { id, skey, duration: this.durations(app).idleS, appid: app.appId, unionid };
    return userInfo ? { ...session, user_info: userInfo } : session;
  }

  /** finds the live session for id + skey: 60012 when none, 60011 when expired; moves last_visit */
  private async live(c: Credentials): Promise<LiveSession> {
    const row = await this.row(c.id);
    if (
      !row ||
      !row.skeyHash ||
      !safeEqual(row.skeyHash, sha256(c.skey)) ||
      (c.appid !== undefined && c.appid !== row.appid)
    ) {
      throw new RpcError('AUTH_FAIL');
    }
    const app = this.mini && (await this.apps.byAppId(this.mini.kind, row.appid));
    if (!app) throw new RpcError('NO_APP', '', `${this.mini?.kind ?? 'mini program'} ${row.appid}`);
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
    return { row, app };
  }

  async auth(c: Credentials) {
    const { row } = await this.live(c);
    return { user_info: parseUserInfo(row.userInfo), appid: row.appid, openid: row.openid, unionid: row.unionid };
  }

  private decrypt(s: LiveSession, encryptData: string, iv: string): Record<string, unknown> {
    return decryptUserData(this.box.open(s.row.sessionKey), iv, encryptData, s.app.appId);
  }

  async userinfo(c: Credentials & { encrypt_data: string; iv: string }) {
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

  async decryptData(c: Credentials & { encrypt_data: string; iv: string }) {
    return this.decrypt(await this.live(c), c.encrypt_data, c.iv);
  }

  async checkSignature(c: Credentials & { raw_data: string; signature: string }) {
    const s = await this.live(c);
    return { valid: safeEqual(sha1(c.raw_data + this.box.open(s.row.sessionKey)), c.signature.toLowerCase()) };
  }

  async logout(c: Credentials) {
    const row = await this.store.getSession(c.id);
    if (!row || !row.skeyHash || !safeEqual(row.skeyHash, sha256(c.skey))) throw new RpcError('AUTH_FAIL');
    await this.store.logoutSession(row.id, row.skeyHash);
    this.forget(row.id);
    return {};
  }
}
