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
  /**
   * the app's identity on its platform (appId; corpId:agentId; appId:secretId …), unique per
   * platform (§6, trust); `appId` when not given
   */
  identity?: string;
  createdAt: number;
  updatedAt: number;
}

export interface SessionRow {
  id: string;
  /** the platform whose mini program it belongs to (wechat, toutiao, qq, alipay) */
  platform: string;
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
  /** id used when (platform, appid, openid) has no session yet; an existing id is kept. */
  newId: string;
  /** default wechat */
  platform?: string;
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

/** A ticket a platform pushes (component_verify_ticket, suite_ticket): newest CreateTime wins. */
export interface TicketRow {
  value: string;
  /** the push's CreateTime / TimeStamp, unix seconds */
  createTime: number;
  updatedAt: number;
}

/** An account or corp that authorized a third-party platform / suite. */
export interface AuthorizerRow {
  platform: string;
  /** component appid / suite id */
  ownerId: string;
  /** authorizer appid / corpid */
  authorizerId: string;
  /** sealed authorizer_refresh_token / permanent_code */
  refreshToken: string | null;
  authorized: boolean;
  /** the platform said the refresh token is gone (61023): the account must authorize again */
  needsReauth: boolean;
  /** JSON of what the platform said about it (func_info, auth_corp_info …), no secrets */
  info: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface PushRow {
  at: number;
  platform: string;
  codeName: string;
  infoType: string;
  appId: string | null;
  verified: boolean;
  /** JSON of the decrypted push, tickets and codes masked */
  body: string;
}

export interface PushFilter {
  platform?: string;
  codeName?: string;
  infoType?: string;
  limit: number;
}

/** An operator of the console: a name, a scrypt password hash, the scope its sessions get. */
export interface OperatorRow {
  name: string;
  passwordHash: string;
  scope: string;
  /** failed sign-ins in a row */
  failures: number;
  /** ms; sign-in refused before then */
  lockedUntil: number;
  createdAt: number;
  updatedAt: number;
}

/** One admin write: who (caller sub), through what (`rpc` or `console`), which interface, on what. */
export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  via: string;
  interfaceName: string;
  /** JSON of the para fields that name what was written (never a secret) */
  target: string;
  ip: string | null;
  requestId: string | null;
}

/** A caller token gatehouse minted (§4); never the token. A revoked foreign jti has only jti. */
export interface CallerRow {
  jti: string;
  sub: string | null;
  /** space-separated, as in the token */
  scope: string | null;
  apps: string[] | null;
  /** the token's exp, unix seconds */
  exp: number | null;
  createdAt: number;
  revokedAt: number | null;
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
  /** the app that owns an identity on a platform (§6, trust), or null */
  appByIdentity(platform: string, identity: string): Promise<AppRow | null>;
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
  /**
   * frees every refresh lease `owner` holds (a node leaving: another node may refresh those tokens
   * at once instead of waiting for the leases to expire); values and errors are kept. Returns how many.
   */
  releaseLeases(owner: string): Promise<number>;
  /** clears a token's value (e.g. unauthorized); bumps version */
  clearToken(key: string): Promise<void>;
  listTokens(filter?: TokenFilter): Promise<TokenRow[]>;
  /** tokens with a value whose refresh_at has come, not leased, and without an error in the last `quietMs` */
  dueTokens(now: number, quietMs: number, limit: number): Promise<TokenRow[]>;

  /** stores a pushed ticket unless the stored one is as new or newer (one statement) */
  putTicket(platform: string, appId: string, value: string, createTime: number, now: number): Promise<void>;
  getTicket(platform: string, appId: string): Promise<TicketRow | null>;

  /** inserts or replaces an authorizer (createdAt kept) */
  putAuthorizer(a: AuthorizerRow): Promise<void>;
  getAuthorizer(platform: string, ownerId: string, authorizerId: string): Promise<AuthorizerRow | null>;
  listAuthorizers(platform: string, ownerId: string): Promise<AuthorizerRow[]>;
  updateAuthorizer(
    platform: string,
    ownerId: string,
    authorizerId: string,
    change: { authorized?: boolean; needsReauth?: boolean; refreshToken?: string },
    now: number,
  ): Promise<boolean>;

  addPush(p: PushRow): Promise<void>;
  /** several pushes in one statement (one commit): the push log's group commit */
  addPushes(ps: PushRow[]): Promise<void>;
  /** newest first */
  listPushes(filter: PushFilter): Promise<PushRow[]>;
  /** deletes pushes older than `before`; returns how many */
  prunePushes(before: number): Promise<number>;

  /**
   * Rewrites every stored value that may hold a secret, in one transaction: `secret` gets each
   * secret column's value, `config` each app's config JSON (with its platform); a returned string
   * replaces the value. Returns how many values changed. (Master-key rotation.) `keyCheck`, when
   * given, becomes meta master_key_check in the same transaction (written whether or not one existed).
   */
  rewriteSecrets(
    secret: (value: string) => string,
    config: (platform: string, json: string) => string,
    keyCheck?: string,
  ): Promise<number>;

  /**
   * Runs `fn` in one transaction: every write it makes through `tx` (a store bound to that
   * transaction) is committed when it resolves and rolled back when it throws. `tx` must not start
   * a transaction of its own (rewriteSecrets, atomically). Imports write each platform this way.
   */
  atomically<T>(fn: (tx: Store) => Promise<T>): Promise<T>;

  // ---- caller tokens (§4 trust: jti, list, revocation) — owned by the callers work

  /** records a minted caller token (never the token itself); a jti already recorded is kept */
  recordCaller(c: CallerRow): Promise<void>;
  /** every recorded or revoked jti, newest first */
  listCallers(): Promise<CallerRow[]>;
  getCaller(jti: string): Promise<CallerRow | null>;
  /**
   * marks jti revoked at `now`; a jti never recorded is recorded as revoked (a token signed
   * elsewhere with the JWT secret). `known`: it was recorded; `already`: it was revoked before.
   */
  revokeCaller(jti: string, now: number): Promise<{ known: boolean; already: boolean }>;
  /** the revoked jtis that may still be presented: exp unknown or later than `nowS` (seconds) */
  revokedCallers(nowS: number): Promise<string[]>;

  // ---- the operations console: operators and the audit log

  /** creates or replaces an operator (its failures and lock cleared); whether it was new */
  putOperator(o: { name: string; passwordHash: string; scope: string }, now: number): Promise<boolean>;
  getOperator(name: string): Promise<OperatorRow | null>;
  listOperators(): Promise<OperatorRow[]>;
  deleteOperator(name: string): Promise<boolean>;
  /**
   * Counts a failed sign-in; at `maxFailures` in a row the operator is locked until `now + lockMs`
   * (and the count starts again). Returns the row after the change.
   */
  operatorFailed(name: string, now: number, maxFailures: number, lockMs: number): Promise<OperatorRow | null>;
  /** a successful sign-in: the failure count back to 0 */
  operatorSignedIn(name: string): Promise<void>;
  appendAudit(e: Omit<AuditRow, 'id'>): Promise<void>;
  /** newest first */
  listAudit(f: { actor?: string; interfaceName?: string; limit: number }): Promise<AuditRow[]>;

  // ---- master-key check (issue 9 item 3) — owned by the callers work

  /**
   * A few stored values that start with `prefix` (a sealed secret): at most one from each place
   * secrets are kept (meta jwt_secret, app configs, and when `deep` sessions, authorizers, tokens).
   * Read only.
   */
  sealedSamples(prefix: string, deep?: boolean): Promise<string[]>;

  // ---- authorization-flow state nonces (§7 trust) — owned by the oauth work

  /** records a nonce (by its hash) and what the page was opened for */
  putAuthState(s: AuthStateRow): Promise<void>;
  /**
   * Consumes a nonce atomically: deletes the row when it matches platform and codeName, has not
   * expired at `now` and, when both the row and the request name a subject, the subjects are equal
   * (`subject` null: the request names none, the row's is taken as it is); returns it only to the
   * one caller whose DELETE removed it. A mismatch or expired row is left as it is (null returned).
   */
  takeAuthState(
    nonceHash: string,
    platform: string,
    codeName: string,
    subject: string | null,
    now: number,
  ): Promise<AuthStateRow | null>;
  /** deletes nonces expired at `now`; returns how many */
  pruneAuthStates(now: number): Promise<number>;

  // ---- authorization events in order (issue 9 item 6) — owned by the callbacks work

  /**
   * Applies an authorization state change of a WeChat TP authorizer / WeCom corp unless `eventAt`
   * is older than the last one applied to it: a missing row is inserted (when the event says
   * whether it is authorized), an existing one changed by one conditional UPDATE … WHERE
   * last_event_at <= eventAt, so nodes racing on one authorizer still end in event order (events
   * of the same time apply in arrival order). Fields left undefined are kept. Returns whether it
   * was applied.
   */
  applyAuthorizerEvent(e: AuthorizerEvent): Promise<boolean>;
  /** when the last authorization event applied to the authorizer happened (ms), null when never */
  lastAuthorizerEvent(platform: string, ownerId: string, authorizerId: string): Promise<number | null>;
}

/** An authorization event (authorized, unauthorized, create_auth, cancel_auth …) for applyAuthorizerEvent. */
export interface AuthorizerEvent {
  platform: string;
  ownerId: string;
  authorizerId: string;
  /** when the event happened, epoch ms: the push's CreateTime / TimeStamp, or the time of an exchange */
  eventAt: number;
  /** undefined: the event orders later ones but changes no state (change_auth) */
  authorized?: boolean;
  /** sealed authorizer_refresh_token / permanent_code */
  refreshToken?: string;
  needsReauth?: boolean;
  info?: string;
  now: number;
}

/** A served authorization page's `state` nonce (§7 trust); never the nonce, only its hash. */
export interface AuthStateRow {
  /** hex SHA-256 of the nonce */
  nonceHash: string;
  platform: string;
  codeName: string;
  /** the merchant the page was opened for (Shansong merchantCode, Fengniao merchant_id), if any */
  subject: string | null;
  /** the caller-supplied state to hand on (WeCom install?state=), if any */
  callerState: string | null;
  createdAt: number;
  expiresAt: number;
}

export function tokenKey(platform: string, codeName: string, subject: string, kind: string): string {
  return `${platform}:${codeName}:${subject}:${kind}`;
}
