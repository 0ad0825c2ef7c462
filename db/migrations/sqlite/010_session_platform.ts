/**
 * Sessions per platform: a session records the platform of its mini program (wechat, toutiao, qq,
 * alipay) and is unique per (platform, appid, openid). Existing sessions are WeChat's and keep
 * working. SQLite cannot drop a table's UNIQUE constraint, so the table is rebuilt, in the
 * migration's one transaction; every step is guarded (applied only while sessions has no platform
 * column), so a store set back to an older version migrates again.
 */
const UNLESS = "SELECT 1 FROM pragma_table_info('sessions') WHERE name = 'platform'";
const COLS = 'id, appid, openid, unionid, skey_hash, session_key, user_info, created_at, last_visit';

export const statements = [
  {
    unless: UNLESS,
    sql: `CREATE TABLE sessions_010 (
    id          TEXT NOT NULL PRIMARY KEY,
    platform    TEXT NOT NULL DEFAULT 'wechat',
    appid       TEXT NOT NULL,
    openid      TEXT NOT NULL,
    unionid     TEXT,
    skey_hash   TEXT NOT NULL,
    session_key TEXT NOT NULL,
    user_info   TEXT,
    created_at  INTEGER NOT NULL,
    last_visit  INTEGER NOT NULL,
    UNIQUE (platform, appid, openid)
  )`,
  },
  { unless: UNLESS, sql: `INSERT INTO sessions_010 (${COLS}, platform) SELECT ${COLS}, 'wechat' FROM sessions` },
  { unless: UNLESS, sql: 'DROP TABLE sessions' },
  { unless: UNLESS, sql: 'ALTER TABLE sessions_010 RENAME TO sessions' },
];
