import crypto from 'node:crypto';
import { ISSUED_SECRETS, type FakePlatform } from './platform';

export interface ToutiaoFake {
  /** a login code answering these values once (reused: 40018), for `appid` only when given */
  code(opts?: { openid?: string; sessionKey?: string; unionid?: string; appid?: string }): string;
}

/**
 * ByteDance mini-program API on the fake: POST /api/apps/v2/token and /api/apps/v2/jscode2session,
 * answering `{err_no, err_tips, data}` (40015 bad appid, 40017 bad secret, 40018 bad code). A code
 * made by `code()` answers its values once; any other `tt_*` code a new session key each time.
 */
export function installToutiao(fake: FakePlatform): ToutiaoFake {
  const codes = new Map<string, { openid?: string; sessionKey?: string; unionid?: string; appid?: string }>();
  const used = new Set<string>();
  let n = 0;
  const post = (api: string, h: (b: Record<string, any>) => unknown) =>
    fake.route(`/api/apps/v2/${api}`, async (_u, body, res) => {
      let b: Record<string, any> = {};
      try {
        b = JSON.parse(body || '{}');
      } catch {
        return fake.json(res, { err_no: 40014, err_tips: 'bad params', data: {} });
      }
      fake.hit(`toutiao_${api}`, b.appid);
      if (await fake.misbehave(`toutiao_${api}`, res)) return;
      const bad = fake.checkSecret(b.appid, b.secret);
      if (bad) return fake.json(res, { err_no: bad.errcode === 40013 ? 40015 : 40017, err_tips: bad.errmsg, data: {} });
      fake.json(res, h(b));
    });
  post('token', (b) => {
    if (b.grant_type !== 'client_credential') return { err_no: 40020, err_tips: 'bad grant_type', data: {} };
    const t = fake.issue('TT', b.appid, false);
    return { err_no: 0, err_tips: 'success', data: { access_token: t.value, expires_in: t.expiresIn } };
  });
  post('jscode2session', (b) => {
    if (!b.code && !b.anonymous_code) return { err_no: 40014, err_tips: 'bad params', data: {} };
    if (b.code && !String(b.code).startsWith('tt_')) return { err_no: 40018, err_tips: 'bad code', data: {} };
    if (used.has(String(b.code))) return { err_no: 40018, err_tips: 'code used', data: {} };
    const known = b.code ? codes.get(String(b.code)) : undefined;
    if (known) {
      codes.delete(String(b.code));
      used.add(String(b.code));
      if (known.appid && known.appid !== b.appid) return { err_no: 40018, err_tips: 'bad code', data: {} };
    }
    const data: Record<string, string> = {
      session_key: known?.sessionKey ?? crypto.randomBytes(16).toString('base64'),
    };
    ISSUED_SECRETS.add(data.session_key);
    if (b.code)
      Object.assign(data, { openid: known?.openid ?? `o_${b.code}`, unionid: known?.unionid ?? `u_${b.code}` });
    if (b.anonymous_code) data.anonymous_openid = `ao_${b.anonymous_code}`;
    return { err_no: 0, err_tips: 'success', data };
  });
  return {
    code: (opts = {}) => {
      const code = `tt_code_${++n}_${crypto.randomBytes(4).toString('hex')}`;
      codes.set(code, opts);
      return code;
    },
  };
}
