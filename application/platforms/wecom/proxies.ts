import type Router from '@koa/router';
import type { Services } from '../../contract';
import { tokenProxies } from '../../controllers/token-proxies';
import type { WecomParts } from './parts';
import { WECHAT_ERRCODES } from '../wechat/client';

/** /proxy/wecom-corp, /proxy/wecom-tp, /proxy/wecom-tpauth (§7) */
export function wecomProxies(router: Router, sv: Services, rt: WecomParts): void {
  tokenProxies(router, sv, { upstream: 'wecom', base: rt.urls.api, rules: WECHAT_ERRCODES }, [
    {
      segment: 'wecom-corp',
      platform: 'wecom_corp',
      param: 'access_token',
      spec: (app) => rt.tokens.accessSpec(app),
    },
    { segment: 'wecom-tp', platform: 'wecom_tp', param: 'suite_access_token', spec: (t) => rt.tp.suiteSpec(t) },
    {
      segment: 'wecom-tpauth',
      platform: 'wecom_tp',
      param: 'access_token',
      subject: 'corpId',
      spec: async (t, corpId) => {
        await rt.tp.requireCorp(t, corpId);
        return rt.tp.corpSpec(t, corpId);
      },
    },
  ]);
}
