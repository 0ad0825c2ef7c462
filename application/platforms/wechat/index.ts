import type { Area } from '../../area';
import { configSchema, field } from '../../controllers/platform-fields';
import { interfaces } from './interfaces';
import { wechatProxies } from './proxies';
import { tpInterfaces, tpRoutes } from './tp-interfaces';

const area: Area = {
  name: 'wechat',
  interfaces: [...interfaces, ...tpInterfaces],
  routes: (router, services) => {
    tpRoutes(router, services);
    wechatProxies(router, services);
  },
  platforms: [
    {
      platform: 'wechat_app',
      idField: 'appId',
      secrets: ['secret'],
      schema: configSchema(
        {
          appId: field.id,
          secret: field.secret,
          tokenMode: { enum: ['stable', 'classic'] },
          default: { type: 'boolean' },
          loginDurationDays: { type: 'integer', minimum: 1, maximum: 3650 },
          sessionDurationSeconds: { type: 'integer', minimum: 60, maximum: 315_360_000 },
        },
        ['appId', 'secret'],
      ),
    },
    {
      platform: 'wechat_tp',
      idField: 'appId',
      secrets: ['secret', 'token', 'aesKey'],
      schema: configSchema(
        {
          appId: field.id,
          secret: field.secret,
          token: field.secret,
          aesKey: field.aesKey,
          redirectUrl: field.url,
          authForwardUrl: field.url,
          msgForwardUrl: field.url,
        },
        ['appId', 'secret', 'token', 'aesKey'],
      ),
    },
  ],
};
export default area;
