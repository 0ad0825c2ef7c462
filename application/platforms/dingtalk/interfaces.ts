import { RpcError } from '../../../system/errors';
import type { Interface } from '../../contract';
import { appTokenInterfaces } from '../../controllers/token-interface';
import { appRefs, out, rpc, s, tokenPara } from '../../schema';
import { withAccessToken } from '../../services/tokens/spec';
import type { DingtalkParts } from './parts';
import { PLATFORM } from './tokens';

const { str } = out;

export const interfaces = (rt: DingtalkParts): Interface[] => [
  ...appTokenInterfaces(rt.tokens, 'dingtalk.app', {
    token:
      'Access token of a DingTalk app (POST /v1.0/oauth2/accessToken; gettoken with tokenMode "legacy"), good on ' +
      'both hosts.',
    ticket: 'jsapi ticket (get_jsapi_ticket) of a DingTalk app.',
    jsconfig: 'dd.config parameters for a page URL: corpId, agentId, timestamp (s), nonceStr, signature.',
  }),
  rpc({
    name: 'dingtalk.app.userinfo',
    access: 'backend',
    summary: 'A 免登 code (H5 page or mini program) → the user: userid, unionid (topapi/v2/user/getuserinfo).',
    para: s.obj({ codeName: tokenPara.codeName, code: s.str(512) }, ['codeName', 'code']),
    result: s.obj({ userId: str, unionId: str, name: str, sys: out.bool, sysLevel: out.int }, ['userId']),
    apps: appRefs(PLATFORM),
    handler: async (p, { services: sv }) => {
      const app = await sv.apps.require(PLATFORM, p.codeName);
      const r = await withAccessToken(sv.engine, rt.tokens.accessSpec(app), (t) => rt.client.userinfo(t, p.code));
      if (typeof r.userid !== 'string' || !r.userid)
        throw new RpcError('UPSTREAM_BAD_REPLY', '', 'dingtalk getuserinfo: no userid');
      return {
        userId: r.userid,
        ...(typeof r.unionid === 'string' && r.unionid ? { unionId: r.unionid } : {}),
        ...(typeof r.name === 'string' && r.name ? { name: r.name } : {}),
        ...(typeof r.sys === 'boolean' ? { sys: r.sys } : {}),
        ...(Number.isInteger(r.sys_level) ? { sysLevel: r.sys_level as number } : {}),
      };
    },
  }),
];
