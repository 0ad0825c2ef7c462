import { appRefs, out, s, tokenPara, unixSeconds, type Interface, type TokenPara } from '../../area';
import type { Services } from '../../services';
import type { AppConfig } from '../../services/apps';
import type { WecomTicketType } from './tokens';
import { RpcError } from '../../../system/errors';
import { tokenInterface } from '../../controllers/token-interface';

const { codeName, force, invalidToken, url } = tokenPara;
const { str, int } = out;
const agentid = {
  anyOf: [
    { type: 'string', pattern: '^[0-9]{1,20}$' },
    { type: 'integer', minimum: 0 },
  ],
};
const corpid = s.str(128);
const ticketType = { enum: ['jsapi', 'agent_config'] };

interface ByAgent {
  corpid: string;
  agentid: string | number;
  force?: boolean;
  invalid_token?: string;
}

const app = (sv: Services, p: { codeName: string }) => sv.apps.require('wecom_corp', p.codeName);
const byCodeName = appRefs('wecom_corp');
/** the agent's app: under its corpid, its `corpid:agentid` or the codeName it was configured with */
const byCorp = async (p: ByAgent, sv: Services) => [
  [p.corpid, `${p.corpid}:${p.agentid}`, (await sv.wecomTokens.byAgent(p.corpid, String(p.agentid)))?.codeName],
];

async function agentApp(sv: Services, p: ByAgent): Promise<AppConfig> {
  const a = await sv.wecomTokens.byAgent(p.corpid, String(p.agentid));
  if (!a) throw new RpcError('NO_APP', '', `wecom_corp ${p.corpid}:${p.agentid}`);
  return a;
}

/** the Wafer-fork qcloud.work.* token interfaces: {corpid, <field>, exp} */
function wafer(
  name: string,
  summary: string,
  field: string,
  get: (sv: Services, a: AppConfig, p: ByAgent) => Promise<{ value: string; expiresAt: number }>,
): Interface {
  return {
    name,
    access: 'backend',
    summary,
    para: s.obj({ corpid, agentid, force, invalid_token: invalidToken }, ['corpid', 'agentid']),
    result: s.obj({ corpid: str, [field]: str, exp: int }, ['corpid', field, 'exp']),
    apps: byCorp,
    handler: async (p: ByAgent, { services: sv }) => {
      const a = await agentApp(sv, p);
      const t = await get(sv, a, p);
      return { corpid: a.appId, [field]: t.value, exp: unixSeconds(t.expiresAt) };
    },
  };
}

const opts = (p: ByAgent) => ({ force: p.force, invalidToken: p.invalid_token });

export const interfaces: Interface[] = [
  tokenInterface<TokenPara>({
    name: 'wecom.corp.token',
    summary: 'Access token of a WeCom self-built app (gettoken with the app secret).',
    platform: 'wecom_corp',
    ids: { corpId: (a) => a.appId, agentId: (a) => String(a.config.agentId) },
    get: (sv, a, p) => sv.wecomTokens.token(a, p),
  }),
  tokenInterface<TokenPara & { type?: WecomTicketType }>({
    name: 'wecom.corp.ticket',
    summary: 'jsapi (corp, default) or agent_config (app) ticket.',
    platform: 'wecom_corp',
    options: { type: ticketType },
    ids: { corpId: (a) => a.appId },
    value: 'ticket',
    get: (sv, a, p) => sv.wecomTokens.ticket(a, p.type ?? 'jsapi', p),
  }),
  {
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
    handler: async (p: { codeName: string; url: string; type?: WecomTicketType }, { services: sv }) =>
      sv.wecomTokens.jsconfig(await app(sv, p), p.url, p.type ?? 'jsapi'),
  },
  wafer(
    'qcloud.work.access_token',
    'Wafer-fork compatible: WeCom access token by corpid + agentid.',
    'access_token',
    (sv, a, p) => sv.wecomTokens.token(a, opts(p)),
  ),
  wafer('qcloud.work.ticket', 'Wafer-fork compatible: WeCom corp jsapi ticket.', 'ticket', (sv, a, p) =>
    sv.wecomTokens.ticket(a, 'jsapi', opts(p)),
  ),
  wafer('qcloud.work.agent.ticket', 'Wafer-fork compatible: WeCom agent_config ticket.', 'agent_ticket', (sv, a, p) =>
    sv.wecomTokens.ticket(a, 'agent_config', opts(p)),
  ),
];
