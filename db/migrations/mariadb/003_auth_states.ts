/**
 * Authorization-flow `state` nonces (§7 trust): one row per authorization page served, keyed by
 * the SHA-256 of the nonce (the nonce itself is never stored), bound to what the page was opened
 * for, consumed once (DELETE … affected rows) and pruned after expires_at.
 */
export const statements = [
  `CREATE TABLE auth_states (
    nonce_hash   CHAR(64)     NOT NULL PRIMARY KEY,
    platform     VARCHAR(32)  NOT NULL,
    code_name    VARCHAR(64)  NOT NULL,
    subject      VARCHAR(128) NULL,
    caller_state VARCHAR(255) NULL,
    created_at   BIGINT       NOT NULL,
    expires_at   BIGINT       NOT NULL,
    INDEX auth_states_expires (expires_at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
];
