/**
 * A MariaDB GATEHOUSE_DATABASE_URL may name several hosts, in failover order (issue 19):
 * `mariadb://user:pass@h1:3306,h2:3306,h3:3306/db?connectionLimit=N`. `hostUrls` turns it into one
 * ordinary single-host URL per host (same user, password, database and parameters), which every
 * other part of gatehouse already understands; a URL naming one host comes back unchanged.
 * No driver is loaded here (config validation uses it too).
 */
export function hostUrls(url: string): string[] {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?([^/?#]*)(.*)$/i.exec(url);
  if (!m || !m[3].includes(',')) return [url];
  const [, scheme, userinfo = '', hosts, rest] = m;
  return hosts.split(',').map((h) => `${scheme}${userinfo}${h}${rest}`);
}
