export const statements = [
  `CREATE TABLE apps (
    platform    TEXT NOT NULL,
    code_name   TEXT NOT NULL,
    app_id      TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    is_default  INTEGER NOT NULL DEFAULT 0,
    config      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (platform, code_name)
  )`,
  `CREATE INDEX apps_app_id ON apps (platform, app_id)`,
  `CREATE TABLE sessions (
    id          TEXT NOT NULL PRIMARY KEY,
    appid       TEXT NOT NULL,
    openid      TEXT NOT NULL,
    unionid     TEXT,
    skey_hash   TEXT NOT NULL,
    session_key TEXT NOT NULL,
    user_info   TEXT,
    created_at  INTEGER NOT NULL,
    last_visit  INTEGER NOT NULL,
    UNIQUE (appid, openid)
  )`,
  `CREATE TABLE tokens (
    token_key     TEXT NOT NULL PRIMARY KEY,
    platform      TEXT NOT NULL,
    code_name     TEXT NOT NULL,
    subject       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    value         TEXT,
    expires_at    INTEGER,
    version       INTEGER NOT NULL DEFAULT 0,
    refreshed_at  INTEGER,
    lease_owner   TEXT,
    lease_until   INTEGER,
    forced_at     INTEGER,
    last_error    TEXT,
    last_error_at INTEGER,
    aux           TEXT
  )`,
  `CREATE INDEX tokens_app ON tokens (platform, code_name)`,
];
