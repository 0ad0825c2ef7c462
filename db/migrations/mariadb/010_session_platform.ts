/**
 * Sessions per platform: a session records the platform of its mini program (wechat, toutiao, qq,
 * alipay) and is unique per (platform, appid, openid). Existing sessions are WeChat's and keep
 * working. Guarded (applied only while sessions has no platform column; MySQL has no ADD COLUMN IF
 * NOT EXISTS), so a store set back to an older version migrates again.
 */
export const statements = [
  {
    unless: `SELECT 1 FROM information_schema.columns
             WHERE table_schema = DATABASE() AND table_name = 'sessions' AND column_name = 'platform'`,
    sql: `ALTER TABLE sessions
            ADD COLUMN platform VARCHAR(32) NOT NULL DEFAULT 'wechat' AFTER id,
            DROP INDEX sessions_app_openid,
            ADD UNIQUE KEY sessions_platform_app_openid (platform, appid, openid)`,
  },
];
