import { definePlatform } from '../../contract';
import { s } from '../../schema';
import { appKind, field, optional } from '../../controllers/platform-fields';
import { AES_SAMPLE } from '../../services/apps';
import { codeInterfaces } from './code-interfaces';
import { interfaces } from './interfaces';
import { buildWechat } from './parts';
import { wechatProxies } from './proxies';
import { tpInterfaces, tpRoutes } from './tp-interfaces';

/** WeChat official accounts and mini programs (wechat_app) and third-party platforms (wechat_tp). */
export default definePlatform({
  name: 'wechat',
  upstreams: { api: 'https://api.weixin.qq.com', mp: 'https://mp.weixin.qq.com' },
  apps: [
    appKind(
      'wechat_app',
      'appId',
      {
        appId: field.id,
        secret: field.secret,
        tokenMode: optional(s.oneOf(['stable', 'classic'])),
        default: optional(s.bool()),
        loginDurationDays: optional(s.int(1, 3650)),
        sessionDurationSeconds: optional(s.int(60, 315_360_000)),
      },
      {
        appId: 'wx1234567890abcdef',
        secret: 'wechat-app-secret-1',
        tokenMode: 'classic',
        default: true,
        loginDurationDays: 7,
        sessionDurationSeconds: 3600,
      },
    ),
    appKind(
      'wechat_tp',
      'appId',
      {
        appId: field.id,
        secret: field.secret,
        token: field.secret,
        aesKey: field.aesKey,
        redirectUrl: optional(field.url),
        authForwardUrl: optional(field.url),
        msgForwardUrl: optional(field.url),
      },
      {
        appId: 'wxcomponent000001',
        secret: 'component-secret-1',
        token: 'push-token-1',
        aesKey: AES_SAMPLE,
        redirectUrl: 'https://example.com/done',
        authForwardUrl: 'http://127.0.0.1:9/auth',
        msgForwardUrl: 'http://127.0.0.1:9/msg',
      },
    ),
  ],
  build: buildWechat,
  interfaces: [interfaces, tpInterfaces, codeInterfaces],
  routes: [tpRoutes, wechatProxies],
  miniProgram: (rt) => ({
    kind: 'wechat_app',
    code2session: (app, code) => rt.client.jscode2session(app.appId, String(app.config.secret), code ?? ''),
  }),
});
