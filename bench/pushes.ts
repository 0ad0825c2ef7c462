import crypto from 'node:crypto';
import { post, type Reply, type Target } from './targets';

/**
 * The WeChat third-party platform of the callbacks and authorizers scenarios, and its pushes:
 * encrypted and signed with the npm package wechat-crypto (an implementation independent of
 * gatehouse's own), the way WeChat POSTs them to 授权事件接收URL.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const WXBizMsgCrypt = require('wechat-crypto') as new (
  token: string,
  aesKey: string,
  id: string,
) => {
  encrypt(text: string): string;
  getSignature(timestamp: string, nonce: string, encrypt: string): string;
};

/** the wechat_tp app config of the bench (admin.app.put {platform: "wechat_tp", codeName: TP.codeName, config}) */
export const TP = {
  codeName: 'tp',
  config: {
    appId: 'wxcomponent00bench',
    secret: 's',
    token: 'tok',
    aesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', // 43 characters
  },
} as const;

export interface SignedPush {
  /** the route with its query: timestamp, nonce, encrypt_type=aes, msg_signature */
  path: string;
  /** the XML body: <xml><AppId/><Encrypt/></xml> */
  body: string;
}

/** the push of `inner` (a plaintext XML message) to POST /wechat-tp/{codeName}/events */
export function signedPush(inner: string, codeName: string = TP.codeName): SignedPush {
  const { appId, token, aesKey } = TP.config;
  const c = new WXBizMsgCrypt(token, aesKey, appId);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = crypto.randomBytes(5).toString('hex');
  const encrypt = c.encrypt(inner);
  const signature = c.getSignature(timestamp, nonce, encrypt);
  return {
    path: `/wechat-tp/${codeName}/events?timestamp=${timestamp}&nonce=${nonce}&encrypt_type=aes&msg_signature=${signature}`,
    body: `<xml><AppId><![CDATA[${appId}]]></AppId><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`,
  };
}

/** a component_verify_ticket push's plaintext */
export function verifyTicketXml(ticket: string, createTime = 1): string {
  return `<xml><AppId>${TP.config.appId}</AppId><CreateTime>${createTime}</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>${ticket}</ComponentVerifyTicket></xml>`;
}

/** the content type WeChat sends its pushes with */
export const PUSH_CONTENT_TYPE = 'text/xml';

/** POSTs a push; throws unless gatehouse answered HTTP 200 with exactly `success` */
export async function deliver(what: string, target: Target, push: SignedPush): Promise<Reply> {
  const r = await post(`${target.url}${push.path}`, push.body, { 'content-type': PUSH_CONTENT_TYPE });
  if (r.status !== 200 || r.text !== 'success')
    throw new Error(`${what}: expected HTTP 200 with "success", got HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  return r;
}
