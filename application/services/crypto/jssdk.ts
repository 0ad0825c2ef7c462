import crypto from 'node:crypto';
import { sha1 } from './datacrypt';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** nonceStr: 16 characters of [0-9A-Za-z] from a CSPRNG */
export function nonceStr(length = 16): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[crypto.randomInt(ALPHABET.length)];
  return s;
}

/** JS-SDK signature: sha1("jsapi_ticket=…&noncestr=…&timestamp=…&url=…"), the url without #fragment */
export function jssdkSignature(ticket: string, nonce: string, timestamp: number, url: string): string {
  const bare = url.split('#')[0];
  return sha1(`jsapi_ticket=${ticket}&noncestr=${nonce}&timestamp=${timestamp}&url=${bare}`);
}

/** the wx.config / wx.agentConfig signature fields of a page */
export interface PageSignature {
  timestamp: number;
  nonceStr: string;
  signature: string;
}

export function signPage(ticket: string, url: string): PageSignature {
  const timestamp = Math.floor(Date.now() / 1000);
  const nonce = nonceStr();
  return { timestamp, nonceStr: nonce, signature: jssdkSignature(ticket, nonce, timestamp, url) };
}
