/**
 * Push forwarding rules (which pushes go where, as JSON or the original XML, with their own retries
 * and timeout) and the outcome of every delivery, shown with its push in the push log. Re-runnable
 * (IF NOT EXISTS): a store set back to an older version migrates again.
 */
export const statements = [
  `CREATE TABLE IF NOT EXISTS push_rules (
    id             TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    enabled        INTEGER NOT NULL,
    priority       INTEGER NOT NULL,
    platform       TEXT    NOT NULL,
    code_name      TEXT,
    app_id         TEXT,
    info_type      TEXT,
    msg_type       TEXT,
    event          TEXT,
    url            TEXT    NOT NULL,
    format         TEXT    NOT NULL,
    timeout_ms     INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    continue_after INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS push_deliveries (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    push_at   INTEGER NOT NULL,
    platform  TEXT    NOT NULL,
    code_name TEXT    NOT NULL,
    info_type TEXT    NOT NULL,
    app_id    TEXT,
    rule_id   TEXT    NOT NULL,
    rule_name TEXT    NOT NULL,
    host      TEXT    NOT NULL,
    delivered INTEGER NOT NULL,
    status    INTEGER,
    error     TEXT,
    attempts  INTEGER NOT NULL,
    ms        INTEGER NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS push_deliveries_push_at ON push_deliveries (push_at)`,
  `CREATE INDEX IF NOT EXISTS push_deliveries_at ON push_deliveries (at)`,
];
