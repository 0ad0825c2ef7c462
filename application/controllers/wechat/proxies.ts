import type Router from '@koa/router';
import type { Services } from '../../services';
import { tokenProxies } from '../token-proxies';

/** /proxy/wechat-app, /proxy/wechat-tp, /proxy/wechat-tpauth (§7) */
export function wechatProxies(router: Router, sv: Services): void {
  const tp = sv.wechatTp;
  tokenProxies(router, sv, sv.config.upstream.wechatApi, [
    { segment: 'wechat-app', platform: 'wechat_app', param: 'access_token', spec: (app) => sv.wechatTokens.accessSpec(app) },
    { segment: 'wechat-tp', platform: 'wechat_tp', param: 'component_access_token', spec: (t) => tp.componentSpec(t) },
    { segment: 'wechat-tpauth', platform: 'wechat_tp', param: 'access_token', subject: 'authorizerAppId', spec: async (t, appid) => { await tp.requireAuthorizer(t, appid); return tp.authorizerSpec(t, appid); } },
  ]);
}
