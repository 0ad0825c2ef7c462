/**
 * The operations console: operator accounts (scrypt password hashes, lockout after repeated
 * failures) and the audit log of every admin write (who, through which interface or console
 * session, on what; never a secret).
 */
export const statements = [
  `CREATE TABLE IF NOT EXISTS operators (
    name          VARCHAR(64)  NOT NULL PRIMARY KEY,
    password_hash VARCHAR(255) NOT NULL,
    scope         TEXT         NOT NULL,
    failures      INT          NOT NULL DEFAULT 0,
    locked_until  BIGINT       NOT NULL DEFAULT 0,
    created_at    BIGINT       NOT NULL,
    updated_at    BIGINT       NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS audit_log (
    id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at             BIGINT       NOT NULL,
    actor          VARCHAR(255) NOT NULL,
    via            VARCHAR(16)  NOT NULL,
    interface_name VARCHAR(128) NOT NULL,
    target         TEXT         NOT NULL,
    ip             VARCHAR(64)  NULL,
    request_id     VARCHAR(64)  NULL,
    INDEX audit_log_at (at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
];
