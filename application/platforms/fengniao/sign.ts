import crypto from 'node:crypto';

/**
 * Fengniao (蜂鸟, Ele.me delivery open platform "anubis", v3) signatures, PROTOCOL.md §7:
 * `sha256(secret + "k1=v1&k2=v2…")` over the parameters in key order, as lower-case hex; `ts` is
 * epoch milliseconds. Values are concatenated as they are sent (no URL encoding).
 */

const sha256 = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

/** token request, authorization_code grant */
export function fengniaoTokenSign(
  secret: string,
  appId: string,
  code: string,
  merchantId: string,
  ts: string | number,
): string {
  return sha256(
    `${secret}app_id=${appId}&code=${code}&grant_type=authorization_code&merchant_id=${merchantId}&timestamp=${ts}`,
  );
}

/** token request, refresh_token grant */
export function fengniaoRefreshSign(
  secret: string,
  appId: string,
  merchantId: string,
  refreshToken: string,
  ts: string | number,
): string {
  return sha256(
    `${secret}app_id=${appId}&grant_type=refresh_token&merchant_id=${merchantId}` +
      `&refresh_token=${refreshToken}&timestamp=${ts}`,
  );
}

/** a business API call (`/anubis-webapi/v3/invoke/…`), version 1.0 */
export function fengniaoInvokeSign(
  secret: string,
  accessToken: string,
  appId: string,
  businessData: string,
  merchantId: string,
  ts: string | number,
): string {
  return sha256(
    `${secret}access_token=${accessToken}&app_id=${appId}&business_data=${businessData}` +
      `&merchant_id=${merchantId}&timestamp=${ts}&version=1.0`,
  );
}

/** what a callback Fengniao pushes is signed with */
export function fengniaoCallbackSign(secret: string, appId: string, businessData: string, ts: string | number): string {
  return sha256(`${secret}app_id=${appId}&business_data=${businessData}&timestamp=${ts}`);
}

/** constant-time check of a pushed callback's signature (hex compared case-insensitively) */
export function verifyFengniaoCallback(
  secret: string,
  appId: string,
  businessData: string,
  ts: string,
  signature: string,
): boolean {
  const want = Buffer.from(fengniaoCallbackSign(secret, appId, businessData, ts), 'utf8');
  const got = Buffer.from(signature.toLowerCase(), 'utf8');
  if (want.length !== got.length) {
    crypto.timingSafeEqual(want, want);
    return false;
  }
  return crypto.timingSafeEqual(want, got);
}
