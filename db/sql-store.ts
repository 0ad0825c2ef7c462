import { loadMigrations, type Statement } from './migrations';
import type {
  AppRow,
  AuthStateRow,
  AuthorizerRow,
  CallerRow,
  LoginWrite,
  PushFilter,
  PushRow,
  SessionRow,
  Store,
  TicketRow,
  TokenFilter,
  TokenIdentity,
  TokenRow,
  TokenWrite,
} from './store';
import type { AuditRow, AuthorizerEvent, OperatorRow } from './store';

type Row = Record<string, unknown>;
type Param = string | number | null;

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function appRow(r: Row): AppRow {
  return {
    platform: String(r.platform),
    codeName: String(r.code_name),
    appId: String(r.app_id),
    enabled: Boolean(num(r.enabled)),
    isDefault: Boolean(num(r.is_default)),
    config: String(r.config),
    identity: r.identity === null || r.identity === undefined ? String(r.app_id) : String(r.identity),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function sessionRow(r: Row): SessionRow {
  return {
    id: String(r.id),
    platform: String(r.platform),
    appid: String(r.appid),
    openid: String(r.openid),
    unionid: strOrNull(r.unionid),
    skeyHash: String(r.skey_hash),
    sessionKey: String(r.session_key),
    userInfo: strOrNull(r.user_info),
    createdAt: num(r.created_at),
    lastVisit: num(r.last_visit),
  };
}

function tokenRow(r: Row): TokenRow {
  return {
    key: String(r.token_key),
    platform: String(r.platform),
    codeName: String(r.code_name),
    subject: String(r.subject),
    kind: String(r.kind),
    value: strOrNull(r.value),
    expiresAt: numOrNull(r.expires_at),
    version: num(r.version),
    refreshedAt: numOrNull(r.refreshed_at),
    refreshAt: numOrNull(r.refresh_at),
    leaseOwner: strOrNull(r.lease_owner),
    leaseUntil: numOrNull(r.lease_until),
    forcedAt: numOrNull(r.forced_at),
    lastError: strOrNull(r.last_error),
    lastErrorAt: numOrNull(r.last_error_at),
    aux: strOrNull(r.aux),
  };
}

function authorizerRow(r: Row): AuthorizerRow {
  return {
    platform: String(r.platform),
    ownerId: String(r.owner_id),
    authorizerId: String(r.authorizer_id),
    refreshToken: strOrNull(r.refresh_token),
    authorized: Boolean(num(r.authorized)),
    needsReauth: Boolean(num(r.needs_reauth)),
    info: strOrNull(r.info),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function pushRow(r: Row): PushRow {
  return {
    at: num(r.at),
    platform: String(r.platform),
    codeName: String(r.code_name),
    infoType: String(r.info_type),
    appId: strOrNull(r.app_id),
    verified: Boolean(num(r.verified)),
    body: String(r.body),
  };
}

const AUTHORIZER_COLS =
  'platform, owner_id, authorizer_id, refresh_token, authorized, needs_reauth, info, created_at, updated_at';
const SESSION_COLS = 'id, platform, appid, openid, unionid, skey_hash, session_key, user_info, created_at, last_visit';
const APP_COLS = 'platform, code_name, app_id, enabled, is_default, config, created_at, updated_at, identity';

/**
 * Everything both SQL dialects share. A dialect supplies query execution, `INSERT IGNORE`
 * spelling and a migration lock; the SQL itself is common.
 */
export abstract class SqlStore implements Store {
  abstract readonly dialect: 'sqlite' | 'mariadb';
  protected abstract readonly insertIgnore: string;
  /**
   * `INSERT INTO tickets (platform, app_id, value, create_time, updated_at) VALUES (?, ?, ?, ?, ?)`
   * that, where the row is there, replaces it only with a newer create_time: one statement (the
   * push path's; the dialects spell the conditional update differently)
   */
  protected abstract readonly ticketUpsert: string;

  protected abstract all(sql: string, params?: Param[]): Promise<Row[]>;
  /** runs a statement, resolves with the number of affected rows */
  protected abstract run(sql: string, params?: Param[]): Promise<number>;
  /** runs fn while holding the cluster-wide migration lock */
  protected abstract withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  protected abstract applyMigration(statements: Statement[], version: number): Promise<void>;
  /** runs fn in one transaction on one connection; `q` runs statements inside it */
  protected abstract transaction<T>(fn: (q: { all: SqlStore['all']; run: SqlStore['run'] }) => Promise<T>): Promise<T>;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;

  /**
   * The first row whose `column` equals `value` exactly. MariaDB's PAD SPACE collations compare
   * 'x' and 'x ' as equal; ids and keys must not.
   */
  private async one(sql: string, params: Param[], column?: string, value?: string): Promise<Row | null> {
    const rows = await this.all(sql, params);
    const row = column ? rows.find((r) => r[column] === value) : rows[0];
    return row ?? null;
  }

  async schemaVersion(): Promise<number> {
    const v = await this.getMeta('schema_version');
    return v === null ? 0 : Number(v);
  }

  async migrate(): Promise<number> {
    await this.run(
      this.dialect === 'mariadb'
        ? 'CREATE TABLE IF NOT EXISTS meta (k VARCHAR(64) NOT NULL PRIMARY KEY, v TEXT NOT NULL) ' +
            'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'
        : 'CREATE TABLE IF NOT EXISTS meta (k TEXT NOT NULL PRIMARY KEY, v TEXT NOT NULL)',
    );
    return this.withMigrationLock(async () => {
      let current = await this.schemaVersion();
      for (const m of loadMigrations(this.dialect)) {
        if (m.version <= current) continue;
        if (m.precheck) {
          // a migration that cannot apply to what is stored refuses before changing anything
          const found = await this.all(m.precheck.sql);
          if (found.length > 0) throw new Error(`migration ${m.name}: ${m.precheck.explain(found)}`);
        }
        await this.applyMigration(m.statements, m.version);
        current = m.version;
      }
      return current;
    });
  }

  protected metaVersionStatement(version: number): [string, Param[]] {
    return this.dialect === 'mariadb'
      ? [
          'INSERT INTO meta (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)',
          ['schema_version', String(version)],
        ]
      : [
          'INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
          ['schema_version', String(version)],
        ];
  }

  async getMeta(key: string): Promise<string | null> {
    const r = await this.one('SELECT k, v FROM meta WHERE k = ?', [key], 'k', key);
    return r ? String(r.v) : null;
  }

  async initMeta(key: string, value: string): Promise<string> {
    await this.run(`${this.insertIgnore} INTO meta (k, v) VALUES (?, ?)`, [key, value]);
    return (await this.getMeta(key)) ?? value;
  }

  async setMeta(key: string, value: string): Promise<void> {
    if ((await this.run('UPDATE meta SET v = ? WHERE k = ?', [value, key])) === 0) {
      await this.run(`${this.insertIgnore} INTO meta (k, v) VALUES (?, ?)`, [key, value]);
    }
  }

  // ---- apps

  async putApp(a: AppRow): Promise<{ created: boolean }> {
    const inserted = await this.run(`${this.insertIgnore} INTO apps (${APP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
      a.platform,
      a.codeName,
      a.appId,
      a.enabled ? 1 : 0,
      a.isDefault ? 1 : 0,
      a.config,
      a.createdAt,
      a.updatedAt,
      a.identity ?? a.appId,
    ]);
    if (inserted > 0) return { created: true };
    // an identity owned by another codeName fails here (unique index): the caller checks first
    await this.run(
      'UPDATE apps SET app_id = ?, enabled = ?, is_default = ?, config = ?, updated_at = ?, identity = ? ' +
        'WHERE platform = ? AND code_name = ?',
      [
        a.appId,
        a.enabled ? 1 : 0,
        a.isDefault ? 1 : 0,
        a.config,
        a.updatedAt,
        a.identity ?? a.appId,
        a.platform,
        a.codeName,
      ],
    );
    return { created: false };
  }

  async getApp(platform: string, codeName: string): Promise<AppRow | null> {
    const r = await this.one(
      `SELECT ${APP_COLS} FROM apps WHERE platform = ? AND code_name = ?`,
      [platform, codeName],
      'code_name',
      codeName,
    );
    return r ? appRow(r) : null;
  }

  async findApps(platform: string, appId: string): Promise<AppRow[]> {
    const rows = await this.all(`SELECT ${APP_COLS} FROM apps WHERE platform = ? AND app_id = ? ORDER BY code_name`, [
      platform,
      appId,
    ]);
    return rows.filter((r) => r.app_id === appId).map(appRow);
  }

  async appByIdentity(platform: string, identity: string): Promise<AppRow | null> {
    const r = await this.one(
      `SELECT ${APP_COLS} FROM apps WHERE platform = ? AND identity = ?`,
      [platform, identity],
      'identity',
      identity,
    );
    return r ? appRow(r) : null;
  }

  async listApps(platform?: string): Promise<AppRow[]> {
    const rows = platform
      ? await this.all(`SELECT ${APP_COLS} FROM apps WHERE platform = ? ORDER BY platform, code_name`, [platform])
      : await this.all(`SELECT ${APP_COLS} FROM apps ORDER BY platform, code_name`);
    return rows.map(appRow);
  }

  async deleteApp(platform: string, codeName: string): Promise<boolean> {
    return (await this.run('DELETE FROM apps WHERE platform = ? AND code_name = ?', [platform, codeName])) > 0;
  }

  // ---- sessions

  async saveLogin(w: LoginWrite): Promise<string> {
    const platform = w.platform ?? 'wechat';
    const inserted = await this.run(
      `${this.insertIgnore} INTO sessions (${SESSION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [w.newId, platform, w.appid, w.openid, w.unionid, w.skeyHash, w.sessionKey, w.userInfo, w.now, w.now],
    );
    if (inserted > 0) return w.newId;
    await this.run(
      `UPDATE sessions SET skey_hash = ?, session_key = ?, created_at = ?, last_visit = ?,
         unionid = COALESCE(?, unionid), user_info = COALESCE(?, user_info)
       WHERE platform = ? AND appid = ? AND openid = ?`,
      [w.skeyHash, w.sessionKey, w.now, w.now, w.unionid, w.userInfo, platform, w.appid, w.openid],
    );
    const r = await this.one('SELECT id FROM sessions WHERE platform = ? AND appid = ? AND openid = ?', [
      platform,
      w.appid,
      w.openid,
    ]);
    if (!r) throw new Error('session vanished while being written');
    return String(r.id);
  }

  async getSession(id: string): Promise<SessionRow | null> {
    const r = await this.one(`SELECT ${SESSION_COLS} FROM sessions WHERE id = ?`, [id], 'id', id);
    return r ? sessionRow(r) : null;
  }

  async touchSession(id: string, lastVisit: number, olderThan: number): Promise<void> {
    await this.run('UPDATE sessions SET last_visit = ? WHERE id = ? AND last_visit < ?', [lastVisit, id, olderThan]);
  }

  async setSessionUserInfo(id: string, userInfo: string, unionid: string | null): Promise<void> {
    await this.run('UPDATE sessions SET user_info = ?, unionid = COALESCE(?, unionid) WHERE id = ?', [
      userInfo,
      unionid,
      id,
    ]);
  }

  async logoutSession(id: string, skeyHash: string): Promise<boolean> {
    return (await this.run("UPDATE sessions SET skey_hash = '' WHERE id = ? AND skey_hash = ?", [id, skeyHash])) > 0;
  }

  // ---- tokens

  async ensureToken(t: TokenIdentity): Promise<TokenRow> {
    const existing = await this.getToken(t.key);
    if (existing) return existing;
    await this.run(
      `${this.insertIgnore} INTO tokens (token_key, platform, code_name, subject, kind, version) VALUES (?, ` +
        `?, ?, ?, ?, 0)`,
      [t.key, t.platform, t.codeName, t.subject, t.kind],
    );
    const row = await this.getToken(t.key);
    if (!row) throw new Error('token row vanished while being created');
    return row;
  }

  async getToken(key: string): Promise<TokenRow | null> {
    const r = await this.one('SELECT * FROM tokens WHERE token_key = ?', [key], 'token_key', key);
    return r ? tokenRow(r) : null;
  }

  async tryLease(key: string, owner: string, now: number, until: number): Promise<boolean> {
    const n = await this.run(
      `UPDATE tokens SET lease_owner = ?, lease_until = ?
       WHERE token_key = ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)`,
      [owner, until, key, now, owner],
    );
    return n > 0;
  }

  async saveToken(key: string, owner: string, w: TokenWrite): Promise<boolean> {
    const n = await this.run(
      `UPDATE tokens SET value = ?, expires_at = ?, refreshed_at = ?, refresh_at = ?, version = version + 1,
         forced_at = CASE WHEN ? = 1 THEN ? ELSE forced_at END,
         aux = CASE WHEN ? = 1 THEN ? ELSE aux END,
         lease_owner = NULL, lease_until = NULL, last_error = NULL, last_error_at = NULL
       WHERE token_key = ? AND lease_owner = ?`,
      [
        w.value,
        w.expiresAt,
        w.refreshedAt,
        w.refreshAt,
        w.forced ? 1 : 0,
        w.refreshedAt,
        w.aux !== undefined ? 1 : 0,
        w.aux ?? null,
        key,
        owner,
      ],
    );
    return n > 0;
  }

  async releaseLease(key: string, owner: string, error: string | null, now: number): Promise<void> {
    await this.run(
      `UPDATE tokens SET lease_owner = NULL, lease_until = NULL,
         last_error = COALESCE(?, last_error),
         last_error_at = CASE WHEN ? IS NULL THEN last_error_at ELSE ? END
       WHERE token_key = ? AND lease_owner = ?`,
      [error, error, now, key, owner],
    );
  }

  async releaseLeases(owner: string): Promise<number> {
    return this.run('UPDATE tokens SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?', [owner]);
  }

  async clearToken(key: string): Promise<void> {
    await this.run(
      'UPDATE tokens SET value = NULL, expires_at = NULL, refresh_at = NULL, version = version + 1 WHERE token_key = ?',
      [key],
    );
  }

  async listTokens(filter: TokenFilter = {}): Promise<TokenRow[]> {
    const where: string[] = [];
    const params: Param[] = [];
    if (filter.platform) {
      where.push('platform = ?');
      params.push(filter.platform);
    }
    if (filter.codeName) {
      where.push('code_name = ?');
      params.push(filter.codeName);
    }
    const rows = await this.all(
      `SELECT * FROM tokens ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY token_key`,
      params,
    );
    return rows.map(tokenRow);
  }

  async dueTokens(now: number, quietMs: number, limit: number): Promise<TokenRow[]> {
    const rows = await this.all(
      `SELECT * FROM tokens
       WHERE refresh_at <= ? AND value IS NOT NULL
         AND (lease_until IS NULL OR lease_until < ?)
         AND (last_error_at IS NULL OR last_error_at < ?)
       ORDER BY refresh_at LIMIT ${Math.max(1, Math.floor(limit))}`,
      [now, now, now - quietMs],
    );
    return rows.map(tokenRow);
  }

  // ---- pushed tickets

  async putTicket(platform: string, appId: string, value: string, createTime: number, now: number): Promise<void> {
    await this.run(this.ticketUpsert, [platform, appId, value, createTime, now]);
  }

  async getTicket(platform: string, appId: string): Promise<TicketRow | null> {
    const r = await this.one(
      'SELECT app_id, value, create_time, updated_at FROM tickets WHERE platform = ? AND app_id = ?',
      [platform, appId],
      'app_id',
      appId,
    );
    return r ? { value: String(r.value), createTime: num(r.create_time), updatedAt: num(r.updated_at) } : null;
  }

  // ---- authorizers

  async putAuthorizer(a: AuthorizerRow): Promise<void> {
    const inserted = await this.run(
      `${this.insertIgnore} INTO authorizers (${AUTHORIZER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        a.platform,
        a.ownerId,
        a.authorizerId,
        a.refreshToken,
        a.authorized ? 1 : 0,
        a.needsReauth ? 1 : 0,
        a.info,
        a.createdAt,
        a.updatedAt,
      ],
    );
    if (inserted > 0) return;
    await this.run(
      `UPDATE authorizers SET refresh_token = ?, authorized = ?, needs_reauth = ?, info = COALESCE(?, info),
       updated_at = ? WHERE platform = ? AND owner_id = ? AND authorizer_id = ?`,
      [
        a.refreshToken,
        a.authorized ? 1 : 0,
        a.needsReauth ? 1 : 0,
        a.info,
        a.updatedAt,
        a.platform,
        a.ownerId,
        a.authorizerId,
      ],
    );
  }

  async getAuthorizer(platform: string, ownerId: string, authorizerId: string): Promise<AuthorizerRow | null> {
    const r = await this.one(
      `SELECT ${AUTHORIZER_COLS} FROM authorizers WHERE platform = ? AND owner_id = ? AND authorizer_id = ?`,
      [platform, ownerId, authorizerId],
      'authorizer_id',
      authorizerId,
    );
    return r && r.owner_id === ownerId ? authorizerRow(r) : null;
  }

  async listAuthorizers(platform: string, ownerId: string): Promise<AuthorizerRow[]> {
    const rows = await this.all(
      `SELECT ${AUTHORIZER_COLS} FROM authorizers WHERE platform = ? AND owner_id = ? ORDER BY authorizer_id`,
      [platform, ownerId],
    );
    return rows.filter((r) => r.owner_id === ownerId).map(authorizerRow);
  }

  async updateAuthorizer(
    platform: string,
    ownerId: string,
    authorizerId: string,
    change: { authorized?: boolean; needsReauth?: boolean; refreshToken?: string },
    now: number,
  ): Promise<boolean> {
    const sets: string[] = ['updated_at = ?'];
    const params: Param[] = [now];
    if (change.authorized !== undefined) {
      sets.push('authorized = ?');
      params.push(change.authorized ? 1 : 0);
    }
    if (change.needsReauth !== undefined) {
      sets.push('needs_reauth = ?');
      params.push(change.needsReauth ? 1 : 0);
    }
    if (change.refreshToken !== undefined) {
      sets.push('refresh_token = ?');
      params.push(change.refreshToken);
    }
    const n = await this.run(
      `UPDATE authorizers SET ${sets.join(', ')} WHERE platform = ? AND owner_id = ? AND authorizer_id = ?`,
      [...params, platform, ownerId, authorizerId],
    );
    return n > 0;
  }

  // ---- pushes

  async addPush(p: PushRow): Promise<void> {
    await this.addPushes([p]);
  }

  async addPushes(ps: PushRow[]): Promise<void> {
    if (ps.length === 0) return;
    await this.run(
      'INSERT INTO pushes (at, platform, code_name, info_type, app_id, verified, body) VALUES ' +
        ps.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', '),
      ps.flatMap((p) => [p.at, p.platform, p.codeName, p.infoType, p.appId, p.verified ? 1 : 0, p.body]),
    );
  }

  async listPushes(f: PushFilter): Promise<PushRow[]> {
    const where: string[] = [];
    const params: Param[] = [];
    if (f.platform) {
      where.push('platform = ?');
      params.push(f.platform);
    }
    if (f.codeName) {
      where.push('code_name = ?');
      params.push(f.codeName);
    }
    if (f.infoType) {
      where.push('info_type = ?');
      params.push(f.infoType);
    }
    const rows = await this.all(
      `SELECT * FROM pushes ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC ` +
        `LIMIT ${Math.max(1, Math.floor(f.limit))}`,
      params,
    );
    return rows.map(pushRow);
  }

  async prunePushes(before: number): Promise<number> {
    return this.run('DELETE FROM pushes WHERE at < ?', [before]);
  }

  // ---- one transaction over any of the methods (imports)

  async atomically<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.transaction(async (q) => {
      // this store's methods, running their statements on the transaction's connection
      const tx = Object.create(this) as SqlStore;
      Object.defineProperties(tx, {
        all: { value: q.all },
        run: { value: q.run },
        transaction: {
          value: () => Promise.reject(new Error('a transaction cannot start inside atomically()')),
        },
      });
      return fn(tx);
    });
  }

  // ---- master-key rotation

  async rewriteSecrets(
    secret: (value: string) => string,
    config: (platform: string, json: string) => string,
    keyCheck?: string,
  ): Promise<number> {
    return this.transaction(async (q) => {
      let changed = 0;
      const rewrite = async (
        table: string,
        keys: string[],
        column: string,
        where = '',
        map: (r: Row) => string = (r) => secret(String(r[column])),
      ) => {
        const rows = await q.all(
          `SELECT ${[...keys, column].join(', ')} FROM ${table} WHERE ${column} IS NOT NULL ${where}`,
        );
        for (const r of rows) {
          const next = map(r);
          if (next === String(r[column])) continue;
          await q.run(`UPDATE ${table} SET ${column} = ? WHERE ${keys.map((k) => `${k} = ?`).join(' AND ')}`, [
            next,
            ...keys.map((k) => r[k] as Param),
          ]);
          changed++;
        }
      };
      await rewrite('meta', ['k'], 'v', "AND k IN ('jwt_secret', 'master_key_check')");
      await rewrite('apps', ['platform', 'code_name'], 'config', '', (r) =>
        config(String(r.platform), String(r.config)),
      );
      await rewrite('sessions', ['id'], 'session_key');
      await rewrite('authorizers', ['platform', 'owner_id', 'authorizer_id'], 'refresh_token');
      await rewrite('tokens', ['token_key'], 'aux');
      // the check that tells the new key from a wrong one commits with the values it describes
      if (
        keyCheck !== undefined &&
        (await q.run("UPDATE meta SET v = ? WHERE k = 'master_key_check'", [keyCheck])) === 0
      ) {
        await q.run("INSERT INTO meta (k, v) VALUES ('master_key_check', ?)", [keyCheck]);
      }
      return changed;
    });
  }

  // ---- caller tokens (§4 trust: jti, list, revocation) — owned by the callers work

  private static callerRow(r: Row): CallerRow {
    let apps: string[] | null = null;
    if (r.apps !== null && r.apps !== undefined) {
      try {
        const parsed = JSON.parse(String(r.apps)) as unknown;
        apps = Array.isArray(parsed) ? parsed.map(String) : null;
      } catch {
        apps = null;
      }
    }
    return {
      jti: String(r.jti),
      sub: strOrNull(r.sub),
      scope: strOrNull(r.scope),
      apps,
      exp: numOrNull(r.exp),
      createdAt: num(r.created_at),
      revokedAt: numOrNull(r.revoked_at),
    };
  }

  async recordCaller(c: CallerRow): Promise<void> {
    await this.run(
      `${this.insertIgnore} INTO callers (jti, sub, scope, apps, exp, created_at, revoked_at) VALUES (?, ?, ` +
        `?, ?, ?, ?, ?)`,
      [c.jti, c.sub, c.scope, c.apps ? JSON.stringify(c.apps) : null, c.exp, c.createdAt, c.revokedAt],
    );
  }

  async listCallers(): Promise<CallerRow[]> {
    const rows = await this.all(
      'SELECT jti, sub, scope, apps, exp, created_at, revoked_at FROM callers ORDER BY created_at DESC, jti',
    );
    return rows.map(SqlStore.callerRow);
  }

  async getCaller(jti: string): Promise<CallerRow | null> {
    const r = await this.one(
      'SELECT jti, sub, scope, apps, exp, created_at, revoked_at FROM callers WHERE jti = ?',
      [jti],
      'jti',
      jti,
    );
    return r ? SqlStore.callerRow(r) : null;
  }

  async revokeCaller(jti: string, now: number): Promise<{ known: boolean; already: boolean }> {
    if ((await this.run('UPDATE callers SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL', [now, jti])) > 0) {
      return { known: true, already: false };
    }
    const inserted = await this.run(
      `${this.insertIgnore} INTO callers (jti, created_at, revoked_at) VALUES (?, ?, ?)`,
      [jti, now, now],
    );
    if (inserted > 0) return { known: false, already: false };
    const row = await this.getCaller(jti);
    return { known: row?.sub !== null && row?.sub !== undefined, already: true };
  }

  // ---- operators and the audit log

  private static operatorRow(r: Row): OperatorRow {
    return {
      name: String(r.name),
      passwordHash: String(r.password_hash),
      scope: String(r.scope),
      failures: Number(r.failures),
      lockedUntil: Number(r.locked_until),
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    };
  }

  async putOperator(o: { name: string; passwordHash: string; scope: string }, now: number): Promise<boolean> {
    const changed = await this.run(
      'UPDATE operators SET password_hash = ?, scope = ?, failures = 0, locked_until = 0, updated_at = ? ' +
        'WHERE name = ?',
      [o.passwordHash, o.scope, now, o.name],
    );
    if (changed > 0) return false;
    await this.run(
      'INSERT INTO operators (name, password_hash, scope, failures, locked_until, created_at, updated_at) ' +
        'VALUES (?, ?, ?, 0, 0, ?, ?)',
      [o.name, o.passwordHash, o.scope, now, now],
    );
    return true;
  }

  async getOperator(name: string): Promise<OperatorRow | null> {
    const r = await this.one('SELECT * FROM operators WHERE name = ?', [name], 'name', name);
    return r ? SqlStore.operatorRow(r) : null;
  }

  async listOperators(): Promise<OperatorRow[]> {
    return (await this.all('SELECT * FROM operators ORDER BY name')).map(SqlStore.operatorRow);
  }

  async deleteOperator(name: string): Promise<boolean> {
    return (await this.run('DELETE FROM operators WHERE name = ?', [name])) > 0;
  }

  async operatorFailed(name: string, now: number, maxFailures: number, lockMs: number): Promise<OperatorRow | null> {
    // one statement: concurrent failures on several nodes all count
    await this.run(
      'UPDATE operators SET locked_until = CASE WHEN failures + 1 >= ? THEN ? ELSE locked_until END, ' +
        'failures = CASE WHEN failures + 1 >= ? THEN 0 ELSE failures + 1 END WHERE name = ?',
      [maxFailures, now + lockMs, maxFailures, name],
    );
    return this.getOperator(name);
  }

  async operatorSignedIn(name: string): Promise<void> {
    await this.run('UPDATE operators SET failures = 0 WHERE name = ?', [name]);
  }

  async appendAudit(e: Omit<AuditRow, 'id'>): Promise<void> {
    await this.run(
      'INSERT INTO audit_log (at, actor, via, interface_name, target, ip, request_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [e.at, e.actor, e.via, e.interfaceName, e.target, e.ip, e.requestId],
    );
  }

  async listAudit(f: { actor?: string; interfaceName?: string; limit: number }): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: Param[] = [];
    for (const [column, value] of [
      ['actor', f.actor],
      ['interface_name', f.interfaceName],
    ] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    const rows = await this.all(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...params, f.limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      actor: String(r.actor),
      via: String(r.via),
      interfaceName: String(r.interface_name),
      target: String(r.target),
      ip: r.ip === null ? null : String(r.ip),
      requestId: r.request_id === null ? null : String(r.request_id),
    }));
  }

  async revokedCallers(nowS: number): Promise<string[]> {
    const rows = await this.all('SELECT jti FROM callers WHERE revoked_at IS NOT NULL AND (exp IS NULL OR exp > ?)', [
      nowS,
    ]);
    return rows.map((r) => String(r.jti));
  }

  // ---- master-key check (issue 9 item 3) — owned by the callers work

  async sealedSamples(prefix: string, deep = true): Promise<string[]> {
    const samples: string[] = [];
    // INSTR is spelled alike and case-sensitive in both dialects (no LIKE escaping to agree on)
    const first = async (column: string, table: string, at: string, needle: string) => {
      const [r] = await this.all(`SELECT ${column} AS v FROM ${table} WHERE ${at} LIMIT 1`, [needle]);
      return r ? String(r.v) : undefined;
    };
    const jwtSecret = await this.getMeta('jwt_secret');
    if (jwtSecret?.startsWith(prefix)) samples.push(jwtSecret);
    // an app config is JSON: take the first string field that is sealed
    const config = await first('config', 'apps', 'INSTR(config, ?) > 0', `"${prefix}`);
    if (config) {
      try {
        const sealed = Object.values(JSON.parse(config) as Record<string, unknown>).find(
          (v): v is string => typeof v === 'string' && v.startsWith(prefix),
        );
        if (sealed) samples.push(sealed);
      } catch {
        /* not JSON: nothing to learn from it */
      }
    }
    if (!deep) return samples;
    for (const [table, column] of [
      ['sessions', 'session_key'],
      ['authorizers', 'refresh_token'],
      ['tokens', 'aux'],
    ]) {
      const v = await first(column, table, `INSTR(${column}, ?) = 1`, prefix);
      if (v?.startsWith(prefix)) samples.push(v);
    }
    return samples;
  }

  // ---- authorization-flow state nonces (§7 trust) — owned by the oauth work

  async putAuthState(a: AuthStateRow): Promise<void> {
    await this.run(
      'INSERT INTO auth_states (nonce_hash, platform, code_name, subject, caller_state, created_at, ' +
        'expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [a.nonceHash, a.platform, a.codeName, a.subject, a.callerState, a.createdAt, a.expiresAt],
    );
  }

  async takeAuthState(
    nonceHash: string,
    platform: string,
    codeName: string,
    subject: string | null,
    now: number,
  ): Promise<AuthStateRow | null> {
    // the row never changes once written: read it, then the one DELETE that removes it wins
    const r = await this.one(
      'SELECT nonce_hash, platform, code_name, subject, caller_state, created_at, expires_at FROM auth_states ' +
        'WHERE nonce_hash = ?',
      [nonceHash],
      'nonce_hash',
      nonceHash,
    );
    if (!r || r.platform !== platform || r.code_name !== codeName || num(r.expires_at) <= now) return null;
    const bound = strOrNull(r.subject);
    if (bound !== null && subject !== null && bound !== subject) return null;
    const n = await this.run(
      'DELETE FROM auth_states WHERE nonce_hash = ? AND platform = ? AND code_name = ? AND expires_at > ?',
      [nonceHash, platform, codeName, now],
    );
    if (n !== 1) return null;
    return {
      nonceHash,
      platform,
      codeName,
      subject: bound,
      callerState: strOrNull(r.caller_state),
      createdAt: num(r.created_at),
      expiresAt: num(r.expires_at),
    };
  }

  async pruneAuthStates(now: number): Promise<number> {
    return this.run('DELETE FROM auth_states WHERE expires_at <= ?', [now]);
  }

  // ---- authorization events in order (issue 9 item 6) — owned by the callbacks work

  async applyAuthorizerEvent(e: AuthorizerEvent): Promise<boolean> {
    if (e.authorized !== undefined) {
      const inserted = await this.run(
        `${this.insertIgnore} INTO authorizers (${AUTHORIZER_COLS}, last_event_at) VALUES (?, ?, ?, ?, ?, ?, ` +
          `?, ?, ?, ?)`,
        [
          e.platform,
          e.ownerId,
          e.authorizerId,
          e.refreshToken ?? null,
          e.authorized ? 1 : 0,
          e.needsReauth ? 1 : 0,
          e.info ?? null,
          e.now,
          e.now,
          e.eventAt,
        ],
      );
      if (inserted > 0) return true;
    }
    const sets: string[] = ['updated_at = ?', 'last_event_at = ?'];
    const params: Param[] = [e.now, e.eventAt];
    if (e.authorized !== undefined) {
      sets.push('authorized = ?');
      params.push(e.authorized ? 1 : 0);
    }
    if (e.needsReauth !== undefined) {
      sets.push('needs_reauth = ?');
      params.push(e.needsReauth ? 1 : 0);
    }
    if (e.refreshToken !== undefined) {
      sets.push('refresh_token = ?');
      params.push(e.refreshToken);
    }
    if (e.info !== undefined) {
      sets.push('info = ?');
      params.push(e.info);
    }
    // one statement decides: an event older than the last one applied changes nothing
    const n = await this.run(
      `UPDATE authorizers SET ${sets.join(', ')}
       WHERE platform = ? AND owner_id = ? AND authorizer_id = ? AND (last_event_at IS NULL OR last_event_at <= ?)`,
      [...params, e.platform, e.ownerId, e.authorizerId, e.eventAt],
    );
    return n > 0;
  }

  async lastAuthorizerEvent(platform: string, ownerId: string, authorizerId: string): Promise<number | null> {
    const r = await this.one(
      'SELECT owner_id, authorizer_id, last_event_at FROM authorizers WHERE platform = ? AND owner_id = ? AND ' +
        'authorizer_id = ?',
      [platform, ownerId, authorizerId],
      'authorizer_id',
      authorizerId,
    );
    return r && r.owner_id === ownerId ? numOrNull(r.last_event_at) : null;
  }
}
