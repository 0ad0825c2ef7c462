import crypto, { type KeyObject } from 'node:crypto';
import type http from 'node:http';
import { ISSUED_SECRETS, type FakePlatform } from './platform';

/**
 * The Alipay open gateway on a fake (POST /gateway.do, a form of the common parameters and the
 * method's own), verifying what it gets as Alipay does and signing what it answers with its own key:
 *   - the app must be registered with `app(appId, publicKeyPem)` (else an unsigned error_response
 *     40002 isv.invalid-app-id); format JSON, charset utf-8, sign_type RSA2, version 1.0 and a
 *     `yyyy-MM-dd HH:mm:ss` timestamp (else 40002 isv.invalid-parameter); the sign must verify
 *     with the app's public key over the sorted `k=v&…` of every parameter but sign (else 40002
 *     isv.invalid-signature)
 *   - alipay.system.oauth.token: grant_type authorization_code and a code from `authCode()`, once
 *     (else 40002 isv.code-invalid); answers user_id / open_id and tokens
 *   - any other method echoes `{code: "10000", msg: "Success", method, params}` (the proxy's tests)
 *   - `answer`: "signed" (default), "unsigned" (no sign), "badly-signed" (a sign of other content)
 * Every answer is `{"<method>_response":{…},"sign":"…"}`; `received` keeps each request's parameters.
 */
export class FakeAlipay {
  /** Alipay's own key pair: its public key is what an app configures as alipayPublicKey */
  readonly keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  readonly alipayPublicKeyPem = this.keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  answer: 'signed' | 'unsigned' | 'badly-signed' = 'signed';
  /** the parameters of every request, in order */
  readonly received: Record<string, string>[] = [];
  private readonly apps = new Map<string, KeyObject>();
  private readonly codes = new Map<string, { userId?: string; openId?: string; appId?: string }>();
  private readonly used = new Set<string>();

  constructor(private readonly fake: FakePlatform) {
    fake.route('/gateway.do', (_u, body, res) => this.handle(body, res));
  }

  get url(): string {
    return `${this.fake.url}/gateway.do`;
  }

  app(appId: string, publicKeyPem: string): void {
    this.apps.set(appId, crypto.createPublicKey(publicKeyPem));
  }

  /** an auth code (my.getAuthCode) answering this user once */
  authCode(user: { userId?: string; openId?: string; appId?: string }): string {
    const code = `alipay_auth_${crypto.randomBytes(8).toString('hex')}`;
    ISSUED_SECRETS.add(code);
    this.codes.set(code, user);
    return code;
  }

  /** Alipay's sign of content (for the tests' my.getPhoneNumber responses) */
  sign(content: string): string {
    return crypto.sign('sha256', Buffer.from(content, 'utf8'), this.keys.privateKey).toString('base64');
  }

  private reply(res: http.ServerResponse, key: string, member: Record<string, unknown>, signed = true): void {
    const raw = JSON.stringify(member);
    const sign = this.answer === 'badly-signed' ? this.sign(raw + ' ') : this.sign(raw);
    const body = signed && this.answer !== 'unsigned' ? `{"${key}":${raw},"sign":"${sign}"}` : `{"${key}":${raw}}`;
    res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
    res.end(body);
  }

  private async handle(body: string, res: http.ServerResponse): Promise<void> {
    const p = Object.fromEntries(new URLSearchParams(body)) as Record<string, string>;
    this.received.push(p);
    const method = p.method ?? '';
    this.fake.hit(`alipay_${method}`, p.app_id);
    if (await this.fake.misbehave(`alipay_${method}`, res)) return;
    const error = (sub: string, msg: string, signed = true) =>
      this.reply(
        res,
        'error_response',
        { code: '40002', msg: 'Invalid Arguments', sub_code: sub, sub_msg: msg },
        signed,
      );
    const key = this.apps.get(p.app_id);
    if (!key) return error('isv.invalid-app-id', '无效的AppID参数', false);
    if (
      p.format !== 'JSON' ||
      p.charset !== 'utf-8' ||
      p.sign_type !== 'RSA2' ||
      p.version !== '1.0' ||
      !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(p.timestamp ?? '') ||
      !/^[a-z][a-z0-9.]+$/.test(method)
    )
      return error('isv.invalid-parameter', '参数无效');
    const content = Object.keys(p)
      .filter((k) => k !== 'sign' && p[k] !== '')
      .sort()
      .map((k) => `${k}=${p[k]}`)
      .join('&');
    let ok = false;
    try {
      ok = crypto.verify('sha256', Buffer.from(content, 'utf8'), key, Buffer.from(p.sign ?? '', 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) return error('isv.invalid-signature', '验签出错');
    const responseKey = `${method.replace(/\./g, '_')}_response`;
    if (method === 'alipay.system.oauth.token') {
      const user = this.codes.get(p.code ?? '');
      if (
        p.grant_type !== 'authorization_code' ||
        !user ||
        this.used.has(p.code) ||
        (user.appId && user.appId !== p.app_id)
      )
        return error('isv.code-invalid', '授权码code无效');
      this.used.add(p.code);
      const tokens = [0, 1].map(() => `authusrB${crypto.randomBytes(8).toString('hex')}`);
      for (const t of tokens) ISSUED_SECRETS.add(t);
      return this.reply(res, responseKey, {
        ...(user.userId ? { user_id: user.userId } : {}),
        ...(user.openId ? { open_id: user.openId } : {}),
        access_token: tokens[0],
        expires_in: 1296000,
        refresh_token: tokens[1],
        re_expires_in: 2592000,
      });
    }
    const { sign: _sign, ...params } = p;
    return this.reply(res, responseKey, { code: '10000', msg: 'Success', method, params });
  }
}
