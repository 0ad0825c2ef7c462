import type Router from '@koa/router';
import type { Services } from '../../services';
import { tokenProxies } from '../../controllers/token-proxies';

/** /proxy/wechat-app, /proxy/wechat-tp, /proxy/wechat-tpauth (§7) */
export function wechatProxies(router: Router, sv: Services): void {
  tokenProxies(router, sv, sv.config.upstream.wechatApi, [
    {
      segment: 'wechat-app',
      platform: 'wechat_app',
      param: 'access_token',
      spec: (app) => sv.wechatTokens.accessSpec(app),
    },
    {
      segment: 'wechat-tp',
      platform: 'wechat_tp',
      param: 'component_access_token',
      spec: (t) => sv.wechatTp.componentSpec(t),
    },
    {
      segment: 'wechat-tpauth',
      platform: 'wechat_tp',
      param: 'access_token',
      subject: 'authorizerAppId',
      spec: async (t, appid) => {
        await sv.wechatTp.requireAuthorizer(t, appid);
        return sv.wechatTp.authorizerSpec(t, appid);
      },
    },
  ]);
}
