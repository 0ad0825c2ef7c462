import crypto from 'node:crypto';

/**
 * Shansong (闪送) open-platform signatures (PROTOCOL.md §7). Every signed call is a form POST whose
 * system parameters are signed as
 *
 *     MD5(secret + name1 + value1 + name2 + value2 + …)   upper-case hex
 *
 * over the non-empty parameters (sign itself excluded) sorted by name — for the developer API
 * that is `accessToken`, `clientId`, `data` (left out when empty), `timestamp` (epoch ms); for the
 * refresh call `clientId`, `data` = {"refreshToken":"RT"}, `timestamp`.
 */

export type SignedParams = Record<string, string | undefined>;

/** the signature of a parameter set: names sorted, empty values and `sign` left out */
export function shansongSign(secret: string, params: SignedParams): string {
  const names = Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== undefined && params[k] !== '')
    .sort();
  const h = crypto.createHash('md5').update(secret, 'utf8');
  for (const k of names) h.update(k, 'utf8').update(params[k]!, 'utf8');
  return h.digest('hex').toUpperCase();
}

/** developer API (`/openapi/developer/v5/…`): accessToken, clientId, data (when non-empty), timestamp */
export function developerSign(
  secret: string,
  clientId: string,
  accessToken: string,
  timestamp: string,
  data?: string,
): string {
  return shansongSign(secret, { accessToken, clientId, data, timestamp });
}

/** the `data` parameter of a refresh call */
export function refreshData(refreshToken: string): string {
  return JSON.stringify({ refreshToken });
}

/** refresh (`/openapi/oauth/refresh_token`): clientId, data = {"refreshToken":"RT"}, timestamp */
export function refreshSign(secret: string, clientId: string, refreshToken: string, timestamp: string): string {
  return shansongSign(secret, { clientId, data: refreshData(refreshToken), timestamp });
}

/** whether a received signature is the expected one: case-insensitive, constant-time */
export function signatureMatches(expected: string, received: string | null | undefined): boolean {
  if (typeof received !== 'string') return false;
  const a = Buffer.from(expected.toUpperCase(), 'utf8');
  const b = Buffer.from(received.toUpperCase(), 'utf8');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
