/**
 * Caller tokens minted by gatehouse (never the token itself) and revocations. A revoked jti that
 * gatehouse never minted (a token signed elsewhere with the JWT secret) is a row with only
 * jti, created_at and revoked_at.
 */
export const statements = [
  `CREATE TABLE callers (
    jti        TEXT    NOT NULL PRIMARY KEY,
    sub        TEXT,
    scope      TEXT,
    apps       TEXT,
    exp        INTEGER,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  )`,
  `CREATE INDEX callers_revoked ON callers (revoked_at)`,
];
