// Authorization events apply in order (issue 9 item 6): the time (epoch ms) of the last
// authorization event applied to each authorizer / corp. Rows from before carry the WeCom
// authorization time that was kept in `info` (authAt, unix seconds), when there is one.
export const statements = [
  `ALTER TABLE authorizers ADD COLUMN last_event_at BIGINT NULL`,
  `UPDATE authorizers
      SET last_event_at = CAST(JSON_VALUE(info, '$.authAt') AS SIGNED) * 1000
    WHERE platform = 'wecom_tp' AND info IS NOT NULL AND JSON_VALID(info) AND JSON_VALUE(info, '$.authAt') IS NOT NULL`,
];
