import { appRefs, out, s, tokenPara, unixSeconds, rpc } from '../../schema';
import type { Interface } from '../../contract';
import type { PlatformDeps } from '../../services/deps';
import type { AppConfig } from '../../services/apps';
import { makeSpec } from '../../services/tokens/spec';
import type { QqClient } from './client';

const { codeName, force, invalidToken } = tokenPara;

/** the access token of a QQ mini program, through the token engine */
const qqSpec = (client: QqClient, a: AppConfig) =>
  makeSpec('qq_app', a.codeName, a.appId, 'access_token', () => client.token(a.appId, String(a.config.secret)));

export const interfaces = (client: QqClient): Interface[] => [
  rpc({
    name: 'qq.app.token',
    access: 'backend',
    summary: 'Access token of a QQ mini program (GET /api/getToken).',
    para: s.obj({ codeName, force, invalidToken }, ['codeName']),
    result: s.obj({ appId: out.str, token: out.str, expiresAt: out.int }, ['appId', 'token', 'expiresAt']),
    apps: appRefs('qq_app'),
    handler: async (p, { services: sv }) => {
      const a = await sv.apps.require('qq_app', p.codeName);
      const t = await sv.engine.get(qqSpec(client, a), p);
      return { appId: a.appId, token: t.value, expiresAt: unixSeconds(t.expiresAt) };
    },
  }),
];

/** lets the background refresher renew QQ tokens */
export function qqResolver(d: PlatformDeps, client: QqClient): void {
  d.engine.resolver('qq_app', 'access_token', async (row) => {
    const a = await d.apps.get('qq_app', row.codeName);
    return a && a.enabled && a.appId === row.subject ? qqSpec(client, a) : null;
  });
}
