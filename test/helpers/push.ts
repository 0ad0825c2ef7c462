// An independent implementation of the platforms' message crypto (npm wechat-crypto), so that the
// pushes the tests deliver are not built with gatehouse's own code.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WXBizMsgCrypt = require('wechat-crypto') as new (
  token: string,
  aesKey: string,
  id: string,
) => {
  encrypt(text: string): string;
  decrypt(text: string): { message: string; id: string };
  getSignature(timestamp: string, nonce: string, encrypt: string): string;
};

export interface SignedPush {
  /** query string: timestamp, nonce, encrypt_type, msg_signature */
  query: string;
  /** the XML body WeChat / WeCom would POST */
  body: string;
  encrypt: string;
}

/** encrypts and signs an XML message the way the platform pushes it */
export function signedPush(
  token: string,
  aesKey: string,
  receiverId: string,
  inner: string,
  opts: { timestamp?: string; nonce?: string; outer?: string } = {},
): SignedPush {
  const c = new WXBizMsgCrypt(token, aesKey, receiverId);
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = opts.nonce ?? Math.random().toString(36).slice(2, 12);
  const encrypt = c.encrypt(inner);
  const sig = c.getSignature(timestamp, nonce, encrypt);
  const outer = opts.outer ?? `<AppId><![CDATA[${receiverId}]]></AppId>`;
  return {
    query: `timestamp=${timestamp}&nonce=${nonce}&encrypt_type=aes&msg_signature=${sig}`,
    body: `<xml>${outer}<Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`,
    encrypt,
  };
}

/** signs an echostr for WeCom URL verification (GET) */
export function signedEcho(token: string, aesKey: string, receiverId: string, plain: string): string {
  const c = new WXBizMsgCrypt(token, aesKey, receiverId);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = 'n0nce';
  const echostr = c.encrypt(plain);
  return `msg_signature=${c.getSignature(timestamp, nonce, echostr)}&timestamp=${timestamp}&nonce=${nonce}&echostr=${encodeURIComponent(echostr)}`;
}

export function xml(fields: Record<string, string | number>): string {
  return `<xml>${Object.entries(fields)
    .map(([k, v]) => (typeof v === 'number' ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`))
    .join('')}</xml>`;
}
