import { RpcError } from '../../../system/errors';
import type { Interface } from '../../contract';
import { tokenInterface } from '../../controllers/token-interface';
import { appRefs, out, rpc, s, tokenPara } from '../../schema';
import { withAccessToken } from '../../services/tokens/spec';
import type { FeishuParts } from './parts';
import { PLATFORM } from './tokens';

/** a Feishu tenant_key (as Feishu hands them out: hex, at most 64 characters here) */
export const tenantKeyField = s.match('^[A-Za-z0-9_-]{1,64}$');
const byApp = appRefs(PLATFORM);
const { str, int } = out;

export const interfaces = (rt: FeishuParts): Interface[] => [
  tokenInterface({
    name: 'feishu.app.token',
    summary:
      'app_access_token (kind "app") or tenant_access_token (kind "tenant", the default) of a Feishu / Lark app: a ' +
      'self-built app from the /internal endpoints, a store app from the pushed app_ticket and, per tenant ' +
      '(tenantKey), from its app_access_token.',
    platform: PLATFORM,
    options: { kind: s.oneOf(['app', 'tenant'] as const), tenantKey: tenantKeyField },
    ids: { appId: (app) => app.appId, kind: (_app, p) => p.kind ?? 'tenant' },
    get: async (sv, app, p) => {
      if (p.kind === 'app') {
        if (p.tenantKey !== undefined) throw new RpcError('PARA_ERROR', '', 'kind "app" takes no tenantKey');
        return rt.tokens.appToken(app, p);
      }
      return rt.tokens.tenantToken(app, p.tenantKey, p);
    },
  }),
  tokenInterface({
    name: 'feishu.app.ticket',
    summary: 'JSSDK jsapi_ticket of a Feishu / Lark app (of a tenant, tenantKey, for a store app).',
    platform: PLATFORM,
    options: { tenantKey: tenantKeyField },
    ids: { appId: (app) => app.appId },
    value: 'ticket',
    get: (sv, app, p) => rt.tokens.ticket(app, p.tenantKey, p),
  }),
  rpc({
    name: 'feishu.app.jsconfig',
    access: 'backend',
    summary:
      'h5sdk.config parameters for an H5 page URL: appId, timestamp (ms), nonceStr and the jsapi_ticket signature.',
    para: s.obj({ codeName: tokenPara.codeName, url: tokenPara.url, tenantKey: tenantKeyField }, ['codeName', 'url']),
    result: s.obj({ appId: str, timestamp: int, nonceStr: str, signature: str }, [
      'appId',
      'timestamp',
      'nonceStr',
      'signature',
    ]),
    apps: byApp,
    handler: async (p, { services: sv }) =>
      rt.tokens.jsconfig(await sv.apps.require(PLATFORM, p.codeName), p.tenantKey, p.url),
  }),
  rpc({
    name: 'feishu.app.code2session',
    access: 'backend',
    summary:
      'A login code → the user: "mini" (default) a mini-program tt.login code (tokenLoginValidate), "h5" a web ' +
      "app's authorization code (authen/v1/access_token); the app_access_token is added.",
    para: s.obj({ codeName: tokenPara.codeName, code: s.str(512), type: s.oneOf(['mini', 'h5'] as const) }, [
      'codeName',
      'code',
    ]),
    result: s.obj({ openId: str, unionId: str, userId: str, tenantKey: str, sessionKey: str }, ['openId']),
    apps: byApp,
    handler: async (p, { services: sv }) => {
      const app = await sv.apps.require(PLATFORM, p.codeName);
      const base = rt.tokens.base(app);
      const d = await withAccessToken(sv.engine, rt.tokens.appSpec(app), (t) =>
        p.type === 'h5' ? rt.client.webLogin(base, t, p.code) : rt.client.miniLogin(base, t, p.code),
      );
      const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
      const openId = str(d.open_id);
      if (!openId) throw new RpcError('UPSTREAM_BAD_REPLY', '', 'feishu login: no open_id');
      const answer: Record<string, string> = { openId };
      for (const [k, f] of [
        ['unionId', 'union_id'],
        ['userId', 'user_id'],
        ['tenantKey', 'tenant_key'],
        ['sessionKey', 'session_key'],
      ] as const) {
        const v = str(d[f]);
        if (v) answer[k] = v;
      }
      return answer as { openId: string };
    },
  }),
  rpc({
    name: 'feishu.app.tenants',
    access: 'backend',
    summary: "A store app's tenants: those that installed it (app_open) and whether they still have it.",
    para: s.obj({ codeName: tokenPara.codeName }, ['codeName']),
    result: s.obj(
      {
        tenants: s.array(
          s.obj({ tenantKey: str, installed: s.bool(), updatedAt: int }, ['tenantKey', 'installed', 'updatedAt']),
        ),
      },
      ['tenants'],
    ),
    apps: byApp,
    handler: async (p, { services: sv }) => {
      const app = await sv.apps.require(PLATFORM, p.codeName);
      const rows = await rt.tokens.tenants.list(app);
      return {
        tenants: rows.map((a) => ({
          tenantKey: a.authorizerId,
          installed: a.authorized && !a.needsReauth,
          updatedAt: Math.floor(a.updatedAt / 1000),
        })),
      };
    },
  }),
];
