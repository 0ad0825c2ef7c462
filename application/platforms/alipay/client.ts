import crypto, { type KeyObject } from 'node:crypto';
import { RpcError, upstreamError } from '../../../system/errors';
import type { Upstream } from '../../../system/upstream';
import type { AppConfig } from '../../services/apps';
import { alipayTimestamp, rsa2Sign, rsa2Verify, rsaKey, signContent, topLevelMembers } from './sign';

/** an app's keys, parsed once per app config (a changed config is a new object) */
const KEYS = new WeakMap<AppConfig, { privateKey: KeyObject; alipayPublicKey: KeyObject }>();

export function keysOf(app: AppConfig): { privateKey: KeyObject; alipayPublicKey: KeyObject } {
  let k = KEYS.get(app);
  if (!k) {
    k = {
      privateKey: rsaKey(String(app.config.privateKey), 'private'),
      alipayPublicKey: rsaKey(String(app.config.alipayPublicKey), 'public'),
    };
    KEYS.set(app, k);
  }
  return k;
}

/** the parameters gatehouse sets on every gateway call; a caller may not send them */
export const COMMON_PARAMS = ['app_id', 'method', 'format', 'charset', 'sign_type', 'sign', 'timestamp', 'version'];

/** An answer of the open gateway whose sign was checked. */
export interface GatewayAnswer {
  /** the body as it came */
  body: Buffer;
  /** the member the sign covers: `<method>_response`, or `error_response` */
  key: string;
  /** that member, parsed */
  response: Record<string, unknown>;
}

const badReply = (method: string, why: string) => new RpcError('UPSTREAM_BAD_REPLY', '', `alipay ${method}: ${why}`);

/**
 * Checks an open-gateway answer: a JSON object whose `<method>_response` (or `error_response`)
 * member is signed by Alipay's key (RSA2 over the member's raw text). A success answer without a
 * sign, and any answer with a wrong one, is 1007; an error answer Alipay did not sign (it does not
 * sign some gateway errors) is taken as the error it is.
 */
export function verifyAnswer(app: AppConfig, method: string, body: Buffer): GatewayAnswer {
  const members = topLevelMembers(body.toString('utf8'));
  if (!members) throw badReply(method, 'reply is not a JSON object');
  const own = `${method.replace(/\./g, '_')}_response`;
  const key = members.has(own) ? own : members.has('error_response') ? 'error_response' : undefined;
  if (!key) throw badReply(method, `no ${own}`);
  const raw = members.get(key)!;
  const response = JSON.parse(raw) as unknown;
  if (response === null || typeof response !== 'object' || Array.isArray(response))
    throw badReply(method, `${key} is not an object`);
  const signRaw = members.get('sign');
  const sign = signRaw === undefined ? undefined : (JSON.parse(signRaw) as unknown);
  if (typeof sign === 'string' && sign !== '') {
    if (!rsa2Verify(raw, sign, keysOf(app).alipayPublicKey)) throw badReply(method, 'answer badly signed');
  } else if (key !== 'error_response') {
    throw badReply(method, 'answer not signed');
  }
  return { body, key, response: response as Record<string, unknown> };
}

/** the error an answer carries (error_response, or a code other than 10000), else null */
export function answerError(a: GatewayAnswer): RpcError | null {
  const r = a.response;
  const code = r.code === undefined ? undefined : String(r.code);
  if (a.key !== 'error_response' && (code === undefined || code === '10000')) return null;
  const errcode = typeof r.sub_code === 'string' && r.sub_code ? r.sub_code : (code ?? 'unknown');
  const errmsg = typeof r.sub_msg === 'string' && r.sub_msg ? r.sub_msg : String(r.msg ?? '');
  return upstreamError('alipay', errcode, errmsg);
}

/** The Alipay open gateway (openapi.alipay.com/gateway.do): RSA2-signed form posts, signed JSON answers. */
export class AlipayClient {
  constructor(
    private readonly upstream: Upstream,
    private readonly gateway: string,
  ) {}

  /** the app's gateway: its own (a sandbox), else GATEHOUSE_ALIPAY_GATEWAY's */
  gatewayOf(app: AppConfig): string {
    return typeof app.config.gateway === 'string' ? app.config.gateway : this.gateway;
  }

  /** a call's parameters: the common ones, the caller's, and the sign over them all */
  signedParams(app: AppConfig, method: string, params: Record<string, string>, now = Date.now()) {
    const all: Record<string, string> = {
      app_id: app.appId,
      method,
      format: 'JSON',
      charset: 'utf-8',
      sign_type: 'RSA2',
      timestamp: alipayTimestamp(now),
      version: '1.0',
      ...params,
    };
    all.sign = rsa2Sign(signContent(all), keysOf(app).privateKey);
    return all;
  }

  /**
   * One signed call (`api`: its name in metrics and logs); the answer's sign checked. Another HTTP
   * status than 2xx is 1005.
   */
  async call(app: AppConfig, method: string, params: Record<string, string>, api = method): Promise<GatewayAnswer> {
    const r = await this.upstream.raw({
      platform: 'alipay',
      api,
      url: this.gatewayOf(app),
      method: 'POST',
      form: this.signedParams(app, method, params),
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
    });
    if (r.res.status < 200 || r.res.status > 299)
      throw new RpcError('UPSTREAM_UNREACHABLE', '', `alipay ${api}: HTTP ${r.res.status}`);
    return verifyAnswer(app, method, r.body);
  }

  /** alipay.system.oauth.token: my.getAuthCode's authCode → the user (open_id and / or user_id) */
  async oauthToken(app: AppConfig, code: string): Promise<{ openid: string; userId?: string }> {
    const a = await this.call(app, 'alipay.system.oauth.token', { grant_type: 'authorization_code', code });
    const err = answerError(a);
    if (err) throw err;
    const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
    const userId = str(a.response.user_id);
    const openid = str(a.response.open_id) ?? userId;
    if (!openid) throw badReply('alipay.system.oauth.token', 'no open_id or user_id');
    return { openid, userId };
  }
}

/**
 * Alipay's content for the mini program's server: my.getPhoneNumber's `response` (its `response`
 * member a string: AES-CBC with the app's AES key, zero iv, PKCS#5; signed as that string in
 * quotes) or my.getOpenUserInfo's (a plain object, signed as its raw text). The sign is checked with
 * Alipay's key first; 60021 for anything that is not such content.
 */
export function openContent(app: AppConfig, text: string): Record<string, unknown> {
  const fail = (why: string) => new RpcError('DECRYPT_FAIL', '', `alipay content: ${why}`);
  const members = topLevelMembers(text);
  const raw = members?.get('response');
  const signRaw = members?.get('sign');
  if (!members || raw === undefined) throw fail('not an Alipay response');
  const sign = signRaw === undefined ? undefined : (JSON.parse(signRaw) as unknown);
  if (typeof sign !== 'string' || !sign) throw fail('not signed');
  const content = JSON.parse(raw) as unknown;
  const encrypted = typeof content === 'string';
  if (!rsa2Verify(encrypted ? `"${content}"` : raw, sign, keysOf(app).alipayPublicKey)) throw fail('badly signed');
  let plain: unknown = content;
  if (encrypted) {
    if (typeof app.config.aesKey !== 'string') throw fail('the app has no aesKey');
    const key = Buffer.from(app.config.aesKey, 'base64');
    try {
      const decipher = crypto.createDecipheriv(`aes-${key.length * 8}-cbc`, key, Buffer.alloc(16));
      plain = JSON.parse(
        Buffer.concat([decipher.update(Buffer.from(content, 'base64')), decipher.final()]).toString('utf8'),
      );
    } catch {
      throw fail('could not be decrypted');
    }
  }
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) throw fail('not an object');
  return plain as Record<string, unknown>;
}
