import type { FakePlatform } from './platform';

/**
 * QQ mini-program API on a fake (api.q.qq.com): GET /api/getToken (grant_type client_credential,
 * appid, secret → {errcode: 0, errmsg, access_token, expires_in}; 40013 unknown appid, 40125 wrong
 * secret). QQ's GET /sns/jscode2session has WeChat's parameters and answers, so the fake's own
 * jscode2session serves it (codes from `fake.code()`, `fail:<errcode>` …); give QQ its own
 * FakePlatform to count its calls apart from WeChat's.
 */
export function installQq(fake: FakePlatform): void {
  fake.route('/api/getToken', async (u, _body, res) => {
    const q = u.searchParams;
    fake.hit('qq_getToken', q.get('appid'));
    if (await fake.misbehave('qq_getToken', res)) return;
    if (q.get('grant_type') !== 'client_credential')
      return fake.json(res, { errcode: 40002, errmsg: 'invalid grant_type' });
    const bad = fake.checkSecret(q.get('appid'), q.get('secret'));
    if (bad) return fake.json(res, bad);
    const t = fake.issue('QQ', String(q.get('appid')), false);
    fake.json(res, { errcode: 0, errmsg: '', access_token: t.value, expires_in: t.expiresIn });
  });
}
