export const statements = [
  `CREATE TABLE tickets (
    platform    VARCHAR(32)  NOT NULL,
    app_id      VARCHAR(128) NOT NULL,
    value       TEXT         NOT NULL,
    create_time BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL,
    PRIMARY KEY (platform, app_id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE authorizers (
    platform      VARCHAR(32)  NOT NULL,
    owner_id      VARCHAR(128) NOT NULL,
    authorizer_id VARCHAR(128) NOT NULL,
    refresh_token TEXT         NULL,
    authorized    TINYINT(1)   NOT NULL DEFAULT 1,
    needs_reauth  TINYINT(1)   NOT NULL DEFAULT 0,
    info          MEDIUMTEXT   NULL,
    created_at    BIGINT       NOT NULL,
    updated_at    BIGINT       NOT NULL,
    PRIMARY KEY (platform, owner_id, authorizer_id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE pushes (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at         BIGINT       NOT NULL,
    platform   VARCHAR(32)  NOT NULL,
    code_name  VARCHAR(64)  NOT NULL,
    info_type  VARCHAR(64)  NOT NULL,
    app_id     VARCHAR(128) NULL,
    verified   TINYINT(1)   NOT NULL,
    body       MEDIUMTEXT   NOT NULL,
    KEY pushes_at (at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
];
