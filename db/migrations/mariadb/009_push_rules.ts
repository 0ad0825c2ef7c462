/**
 * Push forwarding rules (which pushes go where, as JSON or the original XML, with their own retries
 * and timeout) and the outcome of every delivery, shown with its push in the push log. Re-runnable
 * (IF NOT EXISTS): a store set back to an older version migrates again.
 */
export const statements = [
  `CREATE TABLE IF NOT EXISTS push_rules (
    id             VARCHAR(64)   NOT NULL PRIMARY KEY,
    name           VARCHAR(128)  NOT NULL,
    enabled        TINYINT(1)    NOT NULL,
    priority       INT           NOT NULL,
    platform       VARCHAR(32)   NOT NULL,
    code_name      VARCHAR(64)   NULL,
    app_id         VARCHAR(128)  NULL,
    info_type      VARCHAR(64)   NULL,
    msg_type       VARCHAR(64)   NULL,
    event          VARCHAR(64)   NULL,
    url            VARCHAR(2048) NOT NULL,
    format         VARCHAR(8)    NOT NULL,
    timeout_ms     INT           NOT NULL,
    retries        INT           NOT NULL,
    continue_after TINYINT(1)    NOT NULL,
    created_at     BIGINT        NOT NULL,
    updated_at     BIGINT        NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS push_deliveries (
    id        BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at        BIGINT       NOT NULL,
    push_at   BIGINT       NOT NULL,
    platform  VARCHAR(32)  NOT NULL,
    code_name VARCHAR(64)  NOT NULL,
    info_type VARCHAR(64)  NOT NULL,
    app_id    VARCHAR(128) NULL,
    rule_id   VARCHAR(64)  NOT NULL,
    rule_name VARCHAR(128) NOT NULL,
    host      VARCHAR(255) NOT NULL,
    delivered TINYINT(1)   NOT NULL,
    status    INT          NULL,
    error     VARCHAR(255) NULL,
    attempts  INT          NOT NULL,
    ms        INT          NOT NULL,
    KEY push_deliveries_push_at (push_at),
    KEY push_deliveries_at (at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
];
