import type { Area } from '../../area';
import { configSchema, field } from '../../controllers/platform-fields';
import { interfaces } from './interfaces';
import { wecomProxies } from './proxies';
import { tpInterfaces, tpRoutes } from './tp-interfaces';

const area: Area = {
  name: 'wecom',
  interfaces: [...interfaces, ...tpInterfaces],
  routes: (router, services) => {
    tpRoutes(router, services);
    wecomProxies(router, services);
  },
  platforms: [
    {
      platform: 'wecom_corp',
      idField: 'corpId',
      secrets: ['secret'],
      schema: configSchema({ corpId: field.id, agentId: field.digits, secret: field.secret }, [
        'corpId',
        'agentId',
        'secret',
      ]),
      normalize: (c) => {
        c.agentId = String(c.agentId);
      },
      identity: (c) => `${String(c.corpId)}:${String(c.agentId)}`,
    },
    {
      platform: 'wecom_tp',
      idField: 'suiteId',
      secrets: ['secret', 'token', 'aesKey'],
      schema: configSchema(
        { suiteId: field.id, secret: field.secret, token: field.secret, aesKey: field.aesKey, redirectUrl: field.url },
        ['suiteId', 'secret', 'token', 'aesKey'],
      ),
    },
  ],
};
export default area;
