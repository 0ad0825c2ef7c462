import { appRefs, out, s, tokenPara, unixSeconds, rpc } from '../../schema';
import type { Interface } from '../../contract';
import type { Services } from '../../contract';
import { RpcError } from '../../../system/errors';
import { appTokenInterfaces } from '../../controllers/token-interface';
import type { WechatParts } from './parts';

const { codeName, force, invalidToken } = tokenPara;
const { str, int } = out;

const app = (sv: Services, p: { codeName: string }) => sv.apps.require('wechat_app', p.codeName);
/** a caller's apps claim may name the codeName or the appId */
const byCodeName = appRefs('wechat_app');

export const interfaces = (rt: WechatParts): Interface[] => [
  ...appTokenInterfaces(rt.tokens, 'wechat.app', {
    token: 'Access token of an official account / mini program (stable_token or classic /cgi-bin/token).',
    ticket: 'jsapi (default) or wx_card ticket, derived from the access token.',
    jsconfig: 'wx.config parameters for a page URL, signed with the jsapi ticket.',
  }),
  rpc({
    name: 'wechat.app.code2session',
    access: 'backend',
    summary: 'jscode2session for a mini program: openid, session key, unionid.',
    para: s.obj({ codeName, jsCode: s.str(512) }, ['codeName', 'jsCode']),
    result: s.obj({ openid: str, sessionKey: str, unionid: str }, ['openid', 'sessionKey']),
    apps: byCodeName,
    handler: async (p, { services: sv }) => {
      const a = await app(sv, p);
      const r = await rt.client.jscode2session(a.appId, String(a.config.secret), p.jsCode);
      return { openid: r.openid, sessionKey: r.session_key, ...(r.unionid ? { unionid: r.unionid } : {}) };
    },
  }),
  rpc({
    name: 'qcloud.mimi.access_token',
    access: 'backend',
    summary: 'Wafer-fork compatible: access token of a mini program by appid.',
    para: s.obj({ appid: s.str(128), force, invalid_token: invalidToken }, ['appid']),
    result: s.obj({ appid: str, access_token: str, exp: int }, ['appid', 'access_token', 'exp']),
    apps: async (p, sv) => [[p.appid, (await sv.apps.byAppId('wechat_app', p.appid))?.codeName]],
    handler: async (p, { services: sv }) => {
      const a = await sv.apps.byAppId('wechat_app', p.appid);
      if (!a) throw new RpcError('NO_APP', '', `wechat_app ${p.appid}`);
      const t = await rt.tokens.token(a, { force: p.force, invalidToken: p.invalid_token });
      return { appid: a.appId, access_token: t.value, exp: unixSeconds(t.expiresAt) };
    },
  }),
];
