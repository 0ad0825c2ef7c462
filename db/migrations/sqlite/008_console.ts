/**
 * The operations console: operator accounts (scrypt password hashes, lockout after repeated
 * failures) and the audit log of every admin write (who, through which interface or console
 * session, on what; never a secret).
 */
export const statements = [
  `CREATE TABLE IF NOT EXISTS operators (
    name          TEXT    NOT NULL PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    scope         TEXT    NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    actor          TEXT    NOT NULL,
    via            TEXT    NOT NULL,
    interface_name TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    ip             TEXT,
    request_id     TEXT
  )`,
  `CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at)`,
];
