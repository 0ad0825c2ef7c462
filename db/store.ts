/**
 * The store contract. Both implementations (MariaDB, SQLite) pass the same contract tests
 * (test/db/store.contract.test.ts). All times are epoch milliseconds taken from the caller's
 * clock, so both dialects behave the same.
 */

export interface AppRow {
  platform: string;
  codeName: string;
  appId: string;
  enabled: boolean;
  isDefault: boolean;
  /** JSON of the app config; secret fields are sealed when a master key is set. */
  config: string;
  createdAt: number;
  updatedAt: number;
}

export interface SessionRow {
  id: string;
  appid: string;
  openid: string;
  unionid: string | null;
  /** hex SHA-256 of the current skey; '' after logout. */
  skeyHash: string;
  /** sealed session_key */
  sessionKey: string;
  /** JSON text of the decrypted user info, or null until known */
  userInfo: string | null;
  createdAt: number;
  lastVisit: number;
}

export interface LoginWrite {
  /** id used when (appid, openid) has no session yet; an existing id is kept. */
  newId: string;
  appid: string;
  openid: string;
  unionid: string | null;
  skeyHash: string;
  sessionKey: string;
  /** replaces the stored user info when not null */
  userInfo: string | null;
  now: number;
}

/** State of one token or ticket (PROTOCOL.md §5). The key is `platform:codeName:subject:kind`. */
export interface TokenRow {
  key: string;
  platform: string;
  codeName: string;
  subject: string;
  kind: string;
  value: string | null;
  expiresAt: number | null;
  version: number;
  refreshedAt: number | null;
  /** when the background refresher should renew it (refresh ahead) */
  refreshAt: number | null;
  leaseOwner: string | null;
  leaseUntil: number | null;
  forcedAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  /** sealed auxiliary state (refresh token, permanent code …) */
  aux: string | null;
}

export type TokenIdentity = Pick<TokenRow, 'key' | 'platform' | 'codeName' | 'subject' | 'kind'>;

export interface TokenWrite {
  value: string;
  expiresAt: number;
  refreshedAt: number;
  refreshAt: number;
  forced?: boolean;
  aux?: string | null;
}

export interface TokenFilter {
  platform?: string;
  codeName?: string;
}

export interface Store {
  readonly dialect: 'sqlite' | 'mariadb';
  /** applies pending migrations; returns the schema version */
  migrate(): Promise<number>;
  schemaVersion(): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;

  getMeta(key: string): Promise<string | null>;
  /** stores value unless the key exists; returns what is stored afterwards (first writer wins) */
  initMeta(key: string, value: string): Promise<string>;
  setMeta(key: string, value: string): Promise<void>;

  /** inserts or replaces (platform, codeName); createdAt is kept on update */
  putApp(row: AppRow): Promise<{ created: boolean }>;
  getApp(platform: string, codeName: string): Promise<AppRow | null>;
  findApps(platform: string, appId: string): Promise<AppRow[]>;
  listApps(platform?: string): Promise<AppRow[]>;
  deleteApp(platform: string, codeName: string): Promise<boolean>;

  /** upserts the session of (appid, openid) with a new skey; returns its (stable) id */
  saveLogin(w: LoginWrite): Promise<string>;
  getSession(id: string): Promise<SessionRow | null>;
  /** moves last_visit when the stored one is older than `olderThan` */
  touchSession(id: string, lastVisit: number, olderThan: number): Promise<void>;
  setSessionUserInfo(id: string, userInfo: string, unionid: string | null): Promise<void>;
  /** clears the skey when it still matches; returns whether a session was logged out */
  logoutSession(id: string, skeyHash: string): Promise<boolean>;

  /** creates the row if missing (no value); returns the current row */
  ensureToken(t: TokenIdentity): Promise<TokenRow>;
  getToken(key: string): Promise<TokenRow | null>;
  /** takes the refresh lease when free or expired at `now`; true when this owner holds it */
  tryLease(key: string, owner: string, now: number, until: number): Promise<boolean>;
  /** writes a refreshed value if `owner` still holds the lease; bumps version, frees the lease */
  saveToken(key: string, owner: string, w: TokenWrite): Promise<boolean>;
  /** frees the lease held by owner, recording the error (null keeps the last one) */
  releaseLease(key: string, owner: string, error: string | null, now: number): Promise<void>;
  /** clears a token's value (e.g. unauthorized); bumps version */
  clearToken(key: string): Promise<void>;
  listTokens(filter?: TokenFilter): Promise<TokenRow[]>;
  /** tokens with a value whose refresh_at has come, not leased, and without an error in the last `quietMs` */
  dueTokens(now: number, quietMs: number, limit: number): Promise<TokenRow[]>;
}

export function tokenKey(platform: string, codeName: string, subject: string, kind: string): string {
  return `${platform}:${codeName}:${subject}:${kind}`;
}
