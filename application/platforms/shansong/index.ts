import type { Area } from '../../area';
import { configSchema, field } from '../../controllers/platform-fields';
import { interfaces } from './interfaces';
import { routes } from './routes';

const area: Area = {
  name: 'shansong',
  interfaces,
  routes,
  platforms: [
    {
      platform: 'shansong_app',
      idField: 'appId',
      secrets: ['secret'],
      schema: configSchema({ appId: field.id, secret: field.secret, redirectUrl: field.url, callbackUrl: field.url }, [
        'appId',
        'secret',
      ]),
    },
  ],
};
export default area;
