import type Router from '@koa/router';
import type { Services } from '../../services';
import { tokenProxies } from '../../controllers/token-proxies';

/** /proxy/wecom-corp, /proxy/wecom-tp, /proxy/wecom-tpauth (§7) */
export function wecomProxies(router: Router, sv: Services): void {
  tokenProxies(router, sv, sv.config.upstream.wecomApi, [
    {
      segment: 'wecom-corp',
      platform: 'wecom_corp',
      param: 'access_token',
      spec: (app) => sv.wecomTokens.accessSpec(app),
    },
    { segment: 'wecom-tp', platform: 'wecom_tp', param: 'suite_access_token', spec: (t) => sv.wecomTp.suiteSpec(t) },
    {
      segment: 'wecom-tpauth',
      platform: 'wecom_tp',
      param: 'access_token',
      subject: 'corpId',
      spec: async (t, corpId) => {
        await sv.wecomTp.requireCorp(t, corpId);
        return sv.wecomTp.corpSpec(t, corpId);
      },
    },
  ]);
}
