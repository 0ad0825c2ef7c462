export const statements = [
  `CREATE TABLE tickets (
    platform    TEXT NOT NULL,
    app_id      TEXT NOT NULL,
    value       TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (platform, app_id)
  )`,
  `CREATE TABLE authorizers (
    platform      TEXT NOT NULL,
    owner_id      TEXT NOT NULL,
    authorizer_id TEXT NOT NULL,
    refresh_token TEXT,
    authorized    INTEGER NOT NULL DEFAULT 1,
    needs_reauth  INTEGER NOT NULL DEFAULT 0,
    info          TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (platform, owner_id, authorizer_id)
  )`,
  `CREATE TABLE pushes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    platform   TEXT NOT NULL,
    code_name  TEXT NOT NULL,
    info_type  TEXT NOT NULL,
    app_id     TEXT,
    verified   INTEGER NOT NULL,
    body       TEXT NOT NULL
  )`,
  `CREATE INDEX pushes_at ON pushes (at)`,
];
