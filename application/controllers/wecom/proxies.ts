import type Router from '@koa/router';
import type { Services } from '../../services';
import { tokenProxy } from '../../services/proxy';

/** /proxy/wecom-corp, /proxy/wecom-tp, /proxy/wecom-tpauth (§7) */
export function wecomProxies(router: Router, sv: Services): void {
  const base = sv.config.upstream.wecomApi;
  router.all(
    '/proxy/wecom-corp/:codeName/*rest',
    tokenProxy(sv, {
      platform: 'wecom_corp',
      base,
      param: 'access_token',
      fixed: 3,
      resolve: async (ctx) => {
        const app = await sv.apps.require('wecom_corp', String(ctx.params.codeName));
        return { spec: sv.wecomTokens.accessSpec(app) };
      },
    }),
  );
  router.all(
    '/proxy/wecom-tp/:codeName/*rest',
    tokenProxy(sv, {
      platform: 'wecom_tp',
      base,
      param: 'suite_access_token',
      fixed: 3,
      resolve: async (ctx) => {
        const tp = await sv.wecomTp.require(String(ctx.params.codeName));
        return { spec: sv.wecomTp.suiteSpec(tp) };
      },
    }),
  );
  router.all(
    '/proxy/wecom-tpauth/:codeName/:corpId/*rest',
    tokenProxy(sv, {
      platform: 'wecom_tp',
      base,
      param: 'access_token',
      fixed: 4,
      resolve: async (ctx) => {
        const tp = await sv.wecomTp.require(String(ctx.params.codeName));
        const corpId = String(ctx.params.corpId);
        await sv.wecomTp.requireCorp(tp, corpId);
        return { spec: sv.wecomTp.corpSpec(tp, corpId) };
      },
    }),
  );
}
