import type Router from '@koa/router';
import type { Services } from '../../contract';
import { tokenProxies } from '../../controllers/token-proxies';
import type { WechatParts } from './parts';
import { WECHAT_ERRCODES } from './client';

/** /proxy/wechat-app, /proxy/wechat-tp, /proxy/wechat-tpauth (§7) */
export function wechatProxies(router: Router, sv: Services, rt: WechatParts): void {
  tokenProxies(router, sv, { upstream: 'wechat', base: rt.urls.api, rules: WECHAT_ERRCODES }, [
    {
      segment: 'wechat-app',
      platform: 'wechat_app',
      param: 'access_token',
      spec: (app) => rt.tokens.accessSpec(app),
    },
    {
      segment: 'wechat-tp',
      platform: 'wechat_tp',
      param: 'component_access_token',
      spec: (t) => rt.tp.componentSpec(t),
    },
    {
      segment: 'wechat-tpauth',
      platform: 'wechat_tp',
      param: 'access_token',
      subject: 'authorizerAppId',
      spec: async (t, appid) => {
        await rt.tp.requireAuthorizer(t, appid);
        return rt.tp.authorizerSpec(t, appid);
      },
    },
  ]);
}
