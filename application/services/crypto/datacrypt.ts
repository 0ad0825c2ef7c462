import crypto from 'node:crypto';
import { RpcError } from '../../../system/errors';

/**
 * WXBizDataCrypt: mini-program user data. AES-128-CBC, key = base64(session_key),
 * iv = base64(iv), PKCS#7; the JSON's watermark.appid must be the app's.
 */
export function decryptUserData(
  sessionKey: string,
  iv: string,
  encryptedData: string,
  appId: string,
): Record<string, unknown> {
  const key = Buffer.from(sessionKey, 'base64');
  const ivb = Buffer.from(iv, 'base64');
  if (key.length !== 16 || ivb.length !== 16) throw new RpcError('DECRYPT_FAIL', '', 'bad key or iv length');
  let decoded: unknown;
  try {
    const decipher = crypto.createDecipheriv('aes-128-cbc', key, ivb);
    const plain = Buffer.concat([decipher.update(Buffer.from(encryptedData, 'base64')), decipher.final()]);
    decoded = JSON.parse(plain.toString('utf8'));
  } catch {
    throw new RpcError('DECRYPT_FAIL', '', 'data could not be decrypted');
  }
  if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) {
    throw new RpcError('DECRYPT_FAIL', '', 'decrypted data is not an object');
  }
  const data = decoded as Record<string, unknown>;
  const wm = data.watermark as { appid?: unknown } | undefined;
  if (!wm || wm.appid !== appId) throw new RpcError('DECRYPT_FAIL', '', 'watermark appid differs');
  return data;
}

/** sha1 hex of a string (utf8) */
export function sha1(s: string): string {
  return crypto.hash('sha1', s, 'hex');
}

export function sha256(s: string): string {
  return crypto.hash('sha256', s, 'hex');
}

/** constant-time comparison of two strings */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    crypto.timingSafeEqual(ab, ab);
    return false;
  }
  return crypto.timingSafeEqual(ab, bb);
}

/** 128-bit random value as 32 lowercase hex characters */
export function randomHex128(): string {
  return crypto.randomBytes(16).toString('hex');
}
