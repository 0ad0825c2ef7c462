import { definePlatform } from '../../contract';
import { RpcError } from '../../../system/errors';
import { s } from '../../schema';
import { appKind, field, optional } from '../../controllers/platform-fields';
import { ToutiaoClient } from './client';
import { interfaces, toutiaoResolver } from './interfaces';

/** ByteDance / Douyin mini programs (toutiao_app): access tokens, and login for the Wafer sessions. */
export default definePlatform({
  name: 'toutiao',
  upstreams: { api: 'https://developer.toutiao.com' },
  apps: [
    appKind(
      'toutiao_app',
      'appId',
      {
        appId: field.id,
        secret: field.secret,
        loginDurationDays: optional(s.int(1, 3650)),
        sessionDurationSeconds: optional(s.int(60, 315_360_000)),
      },
      {
        appId: 'tt0000000000000001',
        secret: 'toutiao-secret-01',
        loginDurationDays: 7,
        sessionDurationSeconds: 3600,
      },
    ),
  ],
  build: (d, urls) => {
    const client = new ToutiaoClient(d.upstream, urls.api);
    toutiaoResolver(d, client);
    return client;
  },
  interfaces,
  // tt.login's code (and anonymousCode) → a session; user data is WXBizDataCrypt with the session key
  miniProgram: (client) => ({
    kind: 'toutiao_app',
    anonymousCode: true,
    code2session: async (app, code, anonymousCode) => {
      const r = await client.code2session(app.appId, String(app.config.secret), code, anonymousCode);
      const openid = r.openid || r.anonymousOpenid;
      if (!openid) throw new RpcError('UPSTREAM_BAD_REPLY', '', 'toutiao jscode2session: no openid');
      return { openid, session_key: r.sessionKey, unionid: r.unionid };
    },
  }),
});
