import { RpcError } from '../../../system/errors';
import { out, s, tokenPara, unixSeconds } from '../../area';
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

interface ByAgent {
  corpid: string;
  agentid: string | number;
  force?: boolean;
  invalid_token?: string;
}

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
  return {
    name,
    access: 'backend',
    summary,
    para: s.obj({ corpid, agentid: fields.digits, force, invalid_token: invalidToken }, ['corpid', 'agentid']),
    result: s.obj({ corpid: str, [field]: str, exp: int }, ['corpid', field, 'exp']),
    apps: byCorp,
    handler: async (p: ByAgent, { services: sv }) => {
      const a = await agentApp(sv, p);
      const t = await get(sv, a, p);
      return { corpid: a.appId, [field]: t.value, exp: unixSeconds(t.expiresAt) };
    },
  };
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
  {
    name: 'qcloud.work.initagent',
    access: 'admin',
    summary: 'Wafer-fork compatible: upserts a wecom_corp app with codeName "corpid:agentid".',
    para: s.obj(
      {
        corpid: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.@-]+$' },
        agentid: {
          anyOf: [
            { type: 'string', pattern: '^[0-9]{1,20}$' },
            { type: 'integer', minimum: 0 },
          ],
        },
        agentsecret: s.str(512),
        remark: s.str(256, 0),
      },
      ['corpid', 'agentid', 'agentsecret'],
    ),
    result: s.obj({}),
    apps: (p: { corpid: string; agentid: string | number }) => [p.corpid],
    handler: async (p: { corpid: string; agentid: string | number; agentsecret: string }, { services: sv }) => {
      await sv.apps.put('wecom_corp', `${p.corpid}:${p.agentid}`, {
        corpId: p.corpid,
        agentId: String(p.agentid),
        secret: p.agentsecret,
      });
      return {};
    },
  },
];

const area: Area = { name: 'workauth', interfaces: () => interfaces };
export default area;
