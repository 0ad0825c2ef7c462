import crypto from 'node:crypto';
import { ISSUED_SECRETS, type FakePlatform } from './platform';

/**
 * ByteDance mini-program API on the fake: POST /api/apps/v2/token and /api/apps/v2/jscode2session,
 * answering `{err_no, err_tips, data}` (40015 bad appid, 40017 bad secret, 40018 bad code).
 */
export function installToutiao(fake: FakePlatform): void {
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
    const data: Record<string, string> = { session_key: crypto.randomBytes(16).toString('base64') };
    ISSUED_SECRETS.add(data.session_key);
    if (b.code) Object.assign(data, { openid: `o_${b.code}`, unionid: `u_${b.code}` });
    if (b.anonymous_code) data.anonymous_openid = `ao_${b.anonymous_code}`;
    return { err_no: 0, err_tips: 'success', data };
  });
}
