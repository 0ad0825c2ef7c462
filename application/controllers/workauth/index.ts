import type { Static } from '@sinclair/typebox';
import { RpcError } from '../../../system/errors';
import { out, s, tokenPara, unixSeconds, rpc } from '../../schema';
import type { Area, Interface, Services } from '../../contract';
import type { AppConfig } from '../../services/apps';
import { field as fields } from '../platform-fields';
import wecom from '../../platforms/wecom';

/**
 * The Wafer fork's WeCom forms (qcloud.work.*): a corp agent named by corpid + agentid instead of a
 * codeName, answers `{corpid, <field>, exp}`. Served by the WeCom platform's token kinds.
 */

const { force, invalidToken } = tokenPara;
const { str, int } = out;
const corpid = s.str(128);

/** para of the token forms: the agent by corpid + agentid, with the common force / invalid_token */
const byAgentPara = s.obj({ corpid, agentid: fields.digits, force, invalid_token: invalidToken }, [
  'corpid',
  'agentid',
]);
type ByAgent = Static<typeof byAgentPara>;

const tokens = (sv: Services) => sv.parts(wecom).tokens;

/** the agent's app: under its corpid, its `corpid:agentid` or the codeName it was configured with */
const byCorp = async (p: ByAgent, sv: Services) => [
  [p.corpid, `${p.corpid}:${p.agentid}`, (await tokens(sv).byAgent(p.corpid, String(p.agentid)))?.codeName],
];

async function agentApp(sv: Services, p: ByAgent): Promise<AppConfig> {
  const a = await tokens(sv).byAgent(p.corpid, String(p.agentid));
  if (!a) throw new RpcError('NO_APP', '', `wecom_corp ${p.corpid}:${p.agentid}`);
  return a;
}

const opts = (p: ByAgent) => ({ force: p.force, invalidToken: p.invalid_token });

/** one qcloud.work.* token interface: {corpid, <field>, exp} */
function wafer(
  name: string,
  summary: string,
  field: string,
  get: (sv: Services, a: AppConfig, p: ByAgent) => Promise<{ value: string; expiresAt: number }>,
): Interface {
  return rpc({
    name,
    access: 'backend',
    summary,
    para: byAgentPara,
    result: s.obj({ corpid: str, [field]: str, exp: int }, ['corpid', field, 'exp']),
    apps: byCorp,
    handler: async (p, { services: sv }) => {
      const a = await agentApp(sv, p);
      const t = await get(sv, a, p);
      return { corpid: a.appId, [field]: t.value, exp: unixSeconds(t.expiresAt) };
    },
  });
}

const interfaces: Interface[] = [
  wafer(
    'qcloud.work.access_token',
    'Wafer-fork compatible: WeCom access token by corpid + agentid.',
    'access_token',
    (sv, a, p) => tokens(sv).token(a, opts(p)),
  ),
  wafer('qcloud.work.ticket', 'Wafer-fork compatible: WeCom corp jsapi ticket.', 'ticket', (sv, a, p) =>
    tokens(sv).ticket(a, 'jsapi', opts(p)),
  ),
  wafer('qcloud.work.agent.ticket', 'Wafer-fork compatible: WeCom agent_config ticket.', 'agent_ticket', (sv, a, p) =>
    tokens(sv).ticket(a, 'agent_config', opts(p)),
  ),
  rpc({
    name: 'qcloud.work.initagent',
    access: 'admin',
    summary: 'Wafer-fork compatible: upserts a wecom_corp app with codeName "corpid:agentid".',
    para: s.obj(
      {
        corpid: fields.id,
        agentid: fields.digits,
        agentsecret: s.str(512),
        remark: s.str(256, 0),
      },
      ['corpid', 'agentid', 'agentsecret'],
    ),
    result: s.obj({}),
    apps: (p) => [p.corpid],
    audit: (p) => ({ corpid: p.corpid, agentid: String(p.agentid) }),
    handler: async (p, { services: sv }) => {
      await sv.apps.put('wecom_corp', `${p.corpid}:${p.agentid}`, {
        corpId: p.corpid,
        agentId: String(p.agentid),
        secret: p.agentsecret,
      });
      return {};
    },
  }),
];

const area: Area = { name: 'workauth', interfaces: () => interfaces };
export default area;
