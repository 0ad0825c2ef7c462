/**
 * An app's identity on its platform belongs to one codeName (§6, trust): a unique
 * (platform, identity) index. identity = appId; corpId:agentId for WeCom agents; appId:secretId
 * for COS profiles. A store holding one identity under several codeNames is refused, naming them.
 */
const IDENTITY = `CASE platform
  WHEN 'wecom_corp' THEN app_id || ':' || json_extract(config, '$.agentId')
  WHEN 'cos' THEN app_id || ':' || json_extract(config, '$.secretId')
  ELSE app_id END`;

export const precheck = {
  sql: `SELECT platform, ident, GROUP_CONCAT(code_name) AS names
        FROM (SELECT platform, code_name, ${IDENTITY} AS ident FROM apps) t
        GROUP BY platform, ident HAVING COUNT(*) > 1 ORDER BY platform, ident`,
  explain: (rows: Record<string, unknown>[]) =>
    'one app identity is configured under several codeNames (each must belong to one): ' +
    rows
      .map((r) => `${String(r.platform)} ${String(r.ident)} → ${String(r.names).split(',').sort().join(',')}`)
      .join('; ') +
    ". Keep one codeName each (DELETE FROM apps WHERE platform = '…' AND code_name = '…') and start again.",
};

export const statements = [
  'ALTER TABLE apps ADD COLUMN identity TEXT',
  `UPDATE apps SET identity = ${IDENTITY}`,
  'CREATE UNIQUE INDEX apps_identity ON apps (platform, identity)',
];
