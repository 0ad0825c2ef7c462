import type Router from '@koa/router';
import type { Services } from '../../services';
import { tokenProxy } from '../../services/proxy';

/** /proxy/wechat-app, /proxy/wechat-tp, /proxy/wechat-tpauth (§7) */
export function wechatProxies(router: Router, sv: Services): void {
  const base = sv.config.upstream.wechatApi;
  router.all(
    '/proxy/wechat-app/:codeName/*rest',
    tokenProxy(sv, {
      platform: 'wechat_app',
      base,
      param: 'access_token',
      fixed: 3,
      resolve: async (ctx) => {
        const app = await sv.apps.require('wechat_app', String(ctx.params.codeName));
        return { spec: sv.wechatTokens.accessSpec(app) };
      },
    }),
  );
  router.all(
    '/proxy/wechat-tp/:codeName/*rest',
    tokenProxy(sv, {
      platform: 'wechat_tp',
      base,
      param: 'component_access_token',
      fixed: 3,
      resolve: async (ctx) => {
        const tp = await sv.wechatTp.require(String(ctx.params.codeName));
        return { spec: sv.wechatTp.componentSpec(tp) };
      },
    }),
  );
  router.all(
    '/proxy/wechat-tpauth/:codeName/:authorizerAppId/*rest',
    tokenProxy(sv, {
      platform: 'wechat_tp',
      base,
      param: 'access_token',
      fixed: 4,
      resolve: async (ctx) => {
        const tp = await sv.wechatTp.require(String(ctx.params.codeName));
        const appid = String(ctx.params.authorizerAppId);
        await sv.wechatTp.requireAuthorizer(tp, appid);
        return { spec: sv.wechatTp.authorizerSpec(tp, appid) };
      },
    }),
  );
}
