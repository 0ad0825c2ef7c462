import crypto, { type KeyObject } from 'node:crypto';

/**
 * Alipay open gateway signatures (RSA2: SHA256withRSA, base64), with node:crypto only.
 *
 * A request's sign covers every parameter but `sign` whose value is not empty, sorted by name,
 * as `name=value` joined by `&`, the values as sent (not URL-encoded), UTF-8. An answer's sign
 * covers the raw JSON text of its `<method>_response` (or `error_response`) member, as it came.
 */
export function signContent(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export function rsa2Sign(content: string, key: KeyObject): string {
  return crypto.sign('sha256', Buffer.from(content, 'utf8'), key).toString('base64');
}

/** whether `sign` is a valid RSA2 signature of `content`; false for anything malformed */
export function rsa2Verify(content: string, sign: string, key: KeyObject): boolean {
  if (!/^[A-Za-z0-9+/=\s]{1,2048}$/.test(sign)) return false;
  try {
    return crypto.verify('sha256', Buffer.from(content, 'utf8'), key, Buffer.from(sign, 'base64'));
  } catch {
    return false;
  }
}

/**
 * An RSA key (2048 bits or more) from PEM (PKCS#1 `RSA PRIVATE KEY` / `RSA PUBLIC KEY`, PKCS#8
 * `PRIVATE KEY`, SPKI `PUBLIC KEY`) or the bare base64 Alipay's key tool gives (PKCS#8 / SPKI, or
 * PKCS#1). Throws an Error naming what is wrong, never the key.
 */
export function rsaKey(text: string, kind: 'private' | 'public'): KeyObject {
  const t = text.trim();
  let key: KeyObject | undefined;
  // a private key where the public one goes would be shown and stored in clear
  if (kind === 'public' && /PRIVATE KEY/.test(t)) throw new Error('is a private key: give the public key');
  if (t.startsWith('-----BEGIN ')) {
    try {
      key = kind === 'private' ? crypto.createPrivateKey(t) : crypto.createPublicKey(t);
    } catch {
      key = undefined;
    }
  } else if (/^[A-Za-z0-9+/=\s]+$/.test(t)) {
    const der = Buffer.from(t.replace(/\s+/g, ''), 'base64');
    const tries =
      kind === 'private'
        ? [
            () => crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
            () => crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }),
          ]
        : [
            () => crypto.createPublicKey({ key: der, format: 'der', type: 'spki' }),
            () => crypto.createPublicKey({ key: der, format: 'der', type: 'pkcs1' }),
          ];
    for (const make of tries) {
      try {
        key = make();
        break;
      } catch {
        // the other encoding
      }
    }
  }
  if (!key) throw new Error(`is not an RSA ${kind} key (PEM, PKCS#1 or PKCS#8, or its base64)`);
  if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
    throw new Error(`is not an RSA ${kind} key of 2048 bits or more`);
  return key;
}

/**
 * The raw text of each member of a JSON object's top level, as it is in `text` (what an Alipay sign
 * covers). Undefined when `text` is not one JSON object, or names a member twice.
 */
export function topLevelMembers(text: string): Map<string, string> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  } catch {
    return undefined;
  }
  // valid JSON from here: only strings, nesting and the top level's commas / colons matter
  const out = new Map<string, string>();
  let i = text.indexOf('{') + 1;
  const skipWs = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const endOfString = (at: number): number => {
    // at: the opening quote; returns the index after the closing one
    let j = at + 1;
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  for (;;) {
    skipWs();
    if (text[i] === '}') return out;
    const keyEnd = endOfString(i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = keyEnd;
    skipWs();
    i++; // the colon
    skipWs();
    const start = i;
    let depth = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i = endOfString(i);
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
      i++;
    }
    // a repeated member: which one a reader takes differs (JSON.parse the last, alipay-sdk the first)
    if (out.has(key)) return undefined;
    out.set(key, text.slice(start, i).trimEnd());
    if (text[i] === ',') i++;
  }
}

/** Alipay's timestamp: Beijing time, `yyyy-MM-dd HH:mm:ss` */
export function alipayTimestamp(now = Date.now()): string {
  return new Date(now + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}
