import crypto from 'node:crypto';
import { PushRejected } from '../../services/crypto/msgcrypt';

/**
 * Feishu's event encryption: `{"encrypt": base64(iv ‖ AES-256-CBC(json))}` with key = SHA-256 of
 * the app's Encrypt Key, iv the first 16 bytes, PKCS#7 padding.
 */
export function decryptEvent(encryptKey: string, encrypt: string): string {
  const key = crypto.createHash('sha256').update(encryptKey, 'utf8').digest();
  const data = Buffer.from(encrypt, 'base64');
  if (data.length < 32 || data.length % 16 !== 0) throw new PushRejected(400, 'undecryptable');
  try {
    const decipher = crypto.createDecipheriv('aes-256-cbc', key, data.subarray(0, 16));
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]).toString('utf8');
  } catch {
    throw new PushRejected(400, 'undecryptable');
  }
}

/** X-Lark-Signature: hex SHA-256 of timestamp + nonce + encrypt key + the body as sent */
export function eventSignature(timestamp: string, nonce: string, encryptKey: string, body: string): string {
  return crypto
    .createHash('sha256')
    .update(timestamp + nonce + encryptKey, 'utf8')
    .update(body, 'utf8')
    .digest('hex');
}

/** checks X-Lark-Signature in constant time (403 when it differs or is missing) */
export function verifyEventSignature(
  headers: { timestamp: string; nonce: string; signature: string },
  encryptKey: string,
  body: string,
): void {
  const want = Buffer.from(eventSignature(headers.timestamp, headers.nonce, encryptKey, body));
  const got = Buffer.from(headers.signature.toLowerCase());
  if (!headers.timestamp || want.length !== got.length || !crypto.timingSafeEqual(want, got))
    throw new PushRejected(403, 'bad X-Lark-Signature');
}
