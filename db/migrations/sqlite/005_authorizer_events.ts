// Authorization events apply in order (issue 9 item 6): the time (epoch ms) of the last
// authorization event applied to each authorizer / corp. Rows from before carry the WeCom
// authorization time that was kept in `info` (authAt, unix seconds), when there is one.
export const statements = [
  `ALTER TABLE authorizers ADD COLUMN last_event_at INTEGER`,
  `UPDATE authorizers
      SET last_event_at = CASE WHEN json_valid(info) THEN CAST(json_extract(info, '$.authAt') AS INTEGER) * 1000 END
    WHERE platform = 'wecom_tp' AND info IS NOT NULL`,
];
