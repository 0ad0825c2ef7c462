import { appRefs, out, s, tokenPara, rpc } from '../../schema';
import type { Interface } from '../../contract';
import type { Services } from '../../contract';
import { tokenInterface } from '../../controllers/token-interface';
import type { WecomParts } from './parts';

const { codeName, url } = tokenPara;
const { str, int } = out;
const ticketType = s.oneOf(['jsapi', 'agent_config']);

const app = (sv: Services, p: { codeName: string }) => sv.apps.require('wecom_corp', p.codeName);
const byCodeName = appRefs('wecom_corp');
export const interfaces = (rt: WecomParts): Interface[] => [
  tokenInterface({
    name: 'wecom.corp.token',
    summary: 'Access token of a WeCom self-built app (gettoken with the app secret).',
    platform: 'wecom_corp',
    ids: { corpId: (a) => a.appId, agentId: (a) => String(a.config.agentId) },
    get: (sv, a, p) => rt.tokens.token(a, p),
  }),
  tokenInterface({
    name: 'wecom.corp.ticket',
    summary: 'jsapi (corp, default) or agent_config (app) ticket.',
    platform: 'wecom_corp',
    options: { type: ticketType },
    ids: { corpId: (a) => a.appId },
    value: 'ticket',
    get: (sv, a, p) => rt.tokens.ticket(a, p.type ?? 'jsapi', p),
  }),
  rpc({
    name: 'wecom.corp.jsconfig',
    access: 'backend',
    summary: 'wx.config (jsapi) or wx.agentConfig (agent_config) parameters for a page URL.',
    para: s.obj({ codeName, url, type: ticketType }, ['codeName', 'url']),
    result: s.obj({ corpId: str, agentId: str, timestamp: int, nonceStr: str, signature: str }, [
      'corpId',
      'agentId',
      'timestamp',
      'nonceStr',
      'signature',
    ]),
    apps: byCodeName,
    handler: async (p, { services: sv }) => rt.tokens.jsconfig(await app(sv, p), p.url, p.type ?? 'jsapi'),
  }),
];
