import { definePlatform } from '../../contract';
import { s } from '../../schema';
import { appKind, field, optional } from '../../controllers/platform-fields';
import { QqClient } from './client';
import { interfaces, qqResolver } from './interfaces';

/** QQ mini programs (qq_app): access tokens, and login for the Wafer sessions. */
export default definePlatform({
  name: 'qq',
  upstreams: { api: 'https://api.q.qq.com' },
  apps: [
    appKind(
      'qq_app',
      'appId',
      {
        appId: field.id,
        secret: field.secret,
        loginDurationDays: optional(s.int(1, 3650)),
        sessionDurationSeconds: optional(s.int(60, 315_360_000)),
      },
      {
        appId: '1109876543',
        secret: 'qq-app-secret-01',
        loginDurationDays: 7,
        sessionDurationSeconds: 3600,
      },
    ),
  ],
  build: (d, urls) => {
    const client = new QqClient(d.upstream, urls.api);
    qqResolver(d, client);
    return client;
  },
  interfaces,
  // qq.login's code → a session; user data is WXBizDataCrypt with the session key
  miniProgram: (client) => ({
    kind: 'qq_app',
    code2session: (app, code) => client.jscode2session(app.appId, String(app.config.secret), code ?? ''),
  }),
});
