/**
 * Caller tokens minted by gatehouse (never the token itself) and revocations. A revoked jti that
 * gatehouse never minted (a token signed elsewhere with the JWT secret) is a row with only
 * jti, created_at and revoked_at.
 */
export const statements = [
  `CREATE TABLE callers (
    jti        VARCHAR(64)  NOT NULL PRIMARY KEY,
    sub        VARCHAR(255) NULL,
    scope      TEXT         NULL,
    apps       TEXT         NULL,
    exp        BIGINT       NULL,
    created_at BIGINT       NOT NULL,
    revoked_at BIGINT       NULL,
    INDEX callers_revoked (revoked_at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
];
