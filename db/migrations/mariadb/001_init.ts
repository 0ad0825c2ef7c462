export const statements = [
  `CREATE TABLE apps (
    platform    VARCHAR(32)  NOT NULL,
    code_name   VARCHAR(64)  NOT NULL,
    app_id      VARCHAR(128) NOT NULL,
    enabled     TINYINT(1)   NOT NULL DEFAULT 1,
    is_default  TINYINT(1)   NOT NULL DEFAULT 0,
    config      MEDIUMTEXT   NOT NULL,
    created_at  BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL,
    PRIMARY KEY (platform, code_name),
    KEY apps_app_id (platform, app_id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE sessions (
    id          CHAR(32)     NOT NULL PRIMARY KEY,
    appid       VARCHAR(128) NOT NULL,
    openid      VARCHAR(128) NOT NULL,
    unionid     VARCHAR(128) NULL,
    skey_hash   CHAR(64)     NOT NULL,
    session_key TEXT         NOT NULL,
    user_info   MEDIUMTEXT   NULL,
    created_at  BIGINT       NOT NULL,
    last_visit  BIGINT       NOT NULL,
    UNIQUE KEY sessions_app_openid (appid, openid)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE tokens (
    token_key     VARCHAR(255) NOT NULL PRIMARY KEY,
    platform      VARCHAR(32)  NOT NULL,
    code_name     VARCHAR(64)  NOT NULL,
    subject       VARCHAR(128) NOT NULL,
    kind          VARCHAR(32)  NOT NULL,
    value         TEXT         NULL,
    expires_at    BIGINT       NULL,
    version       BIGINT       NOT NULL DEFAULT 0,
    refreshed_at  BIGINT       NULL,
    lease_owner   VARCHAR(64)  NULL,
    lease_until   BIGINT       NULL,
    forced_at     BIGINT       NULL,
    last_error    TEXT         NULL,
    last_error_at BIGINT       NULL,
    aux           TEXT         NULL,
    KEY tokens_app (platform, code_name)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
];
