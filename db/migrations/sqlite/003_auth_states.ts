/**
 * Authorization-flow `state` nonces (§7 trust): one row per authorization page served, keyed by
 * the SHA-256 of the nonce (the nonce itself is never stored), bound to what the page was opened
 * for, consumed once (DELETE … changes) and pruned after expires_at.
 */
export const statements = [
  `CREATE TABLE auth_states (
    nonce_hash   TEXT    NOT NULL PRIMARY KEY,
    platform     TEXT    NOT NULL,
    code_name    TEXT    NOT NULL,
    subject      TEXT,
    caller_state TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
  )`,
  `CREATE INDEX auth_states_expires ON auth_states (expires_at)`,
];
