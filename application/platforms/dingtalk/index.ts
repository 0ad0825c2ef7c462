import { definePlatform } from '../../contract';
import { appKind, field, optional } from '../../controllers/platform-fields';
import { AES_SAMPLE } from '../../services/apps';
import { s } from '../../schema';
import { interfaces } from './interfaces';
import { buildDingtalk } from './parts';
import { dingtalkEvents, dingtalkProxies } from './routes';

/** DingTalk (钉钉) apps (dingtalk_app): access token, jsapi ticket and dd.config, login, event callbacks, proxy. */
export default definePlatform({
  name: 'dingtalk',
  upstreams: { oapi: 'https://oapi.dingtalk.com', api: 'https://api.dingtalk.com' },
  apps: [
    appKind(
      'dingtalk_app',
      'appKey',
      {
        appKey: field.id,
        appSecret: field.secret,
        corpId: field.id,
        agentId: field.digits,
        aesKey: optional(field.aesKey),
        token: optional(field.secret),
        tokenMode: optional(s.oneOf(['new', 'legacy'] as const)),
      },
      {
        appKey: 'dingappkey0000001',
        appSecret: 'dingtalk-app-secret-0001',
        corpId: 'ding0000000000000001',
        agentId: '3000000001',
        aesKey: AES_SAMPLE,
        token: 'dingtalk-callback-token',
        tokenMode: 'new',
      },
      { normalize: (c) => void (c.agentId = String(c.agentId)) },
    ),
  ],
  build: buildDingtalk,
  interfaces,
  routes: [dingtalkEvents, dingtalkProxies],
});
