import type { Area } from '../../area';
import { configSchema, field } from '../../controllers/platform-fields';
import { interfaces } from './interfaces';
import { routes } from './routes';

const area: Area = {
  name: 'fengniao',
  interfaces,
  routes,
  platforms: [
    {
      platform: 'fengniao_app',
      idField: 'appId',
      secrets: ['secret'],
      schema: configSchema({ appId: field.id, devId: field.id, secret: field.secret, callbackUrl: field.url }, [
        'appId',
        'devId',
        'secret',
      ]),
    },
  ],
};
export default area;
