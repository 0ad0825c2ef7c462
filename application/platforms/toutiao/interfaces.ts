import { appRefs, out, s, tokenPara, unixSeconds, rpc } from '../../schema';
import type { Interface } from '../../contract';
import type { Services } from '../../contract';
import type { PlatformDeps } from '../../services/deps';
import type { ToutiaoClient } from './client';
import type { AppConfig } from '../../services/apps';
import { makeSpec } from '../../services/tokens/spec';

const { codeName, force, invalidToken } = tokenPara;
const { str } = out;

const app = (sv: Services, p: { codeName: string }) => sv.apps.require('toutiao_app', p.codeName);
const byCodeName = appRefs('toutiao_app');

/** the access token of a ByteDance mini program, through the token engine */
const toutiaoSpec = (client: ToutiaoClient, a: AppConfig) =>
  makeSpec('toutiao_app', a.codeName, a.appId, 'access_token', () => client.token(a.appId, String(a.config.secret)));

export const interfaces = (client: ToutiaoClient): Interface[] => [
  rpc({
    name: 'toutiao.app.token',
    access: 'backend',
    summary: 'Access token of a ByteDance mini program (POST /api/apps/v2/token).',
    para: s.obj({ codeName, force, invalidToken }, ['codeName']),
    result: s.obj({ appId: str, token: str, expiresAt: out.int }, ['appId', 'token', 'expiresAt']),
    apps: byCodeName,
    handler: async (p, { services: sv }) => {
      const a = await app(sv, p);
      const t = await sv.engine.get(toutiaoSpec(client, a), p);
      return { appId: a.appId, token: t.value, expiresAt: unixSeconds(t.expiresAt) };
    },
  }),
  rpc({
    name: 'toutiao.app.code2session',
    access: 'backend',
    summary: 'jscode2session for a ByteDance mini program (code and/or anonymousCode).',
    para: s.obj({ codeName, code: s.str(512), anonymousCode: s.str(512) }, ['codeName'], {
      anyOf: [{ required: ['code'] }, { required: ['anonymousCode'] }],
    }),
    result: s.obj({ openid: str, sessionKey: str, anonymousOpenid: str, unionid: str }, ['openid', 'sessionKey']),
    apps: byCodeName,
    handler: async (p, { services: sv }) => {
      const a = await app(sv, p);
      const r = await client.code2session(a.appId, String(a.config.secret), p.code, p.anonymousCode);
      return {
        openid: r.openid,
        sessionKey: r.sessionKey,
        ...(r.anonymousOpenid ? { anonymousOpenid: r.anonymousOpenid } : {}),
        ...(r.unionid ? { unionid: r.unionid } : {}),
      };
    },
  }),
];

/** lets the background refresher renew ByteDance tokens */
export function toutiaoResolver(d: PlatformDeps, client: ToutiaoClient): void {
  d.engine.resolver('toutiao_app', 'access_token', async (row) => {
    const a = await d.apps.get('toutiao_app', row.codeName);
    return a && a.enabled && a.appId === row.subject ? toutiaoSpec(client, a) : null;
  });
}
