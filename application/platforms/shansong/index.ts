import { definePlatform } from '../../contract';
import { configSchema, field } from '../../controllers/platform-fields';
import { interfaces } from './interfaces';
import { routes } from './routes';
import { Shansong } from './service';

/** Shansong (闪送) apps and their merchants (shansong_app). */
export default definePlatform({
  name: 'shansong',
  upstreams: { api: { env: 'GATEHOUSE_SHANSONG_API', url: 'http://open.ishansong.com' } },
  apps: [
    {
      platform: 'shansong_app',
      idField: 'appId',
      secrets: ['secret'],
      schema: configSchema({ appId: field.id, secret: field.secret, redirectUrl: field.url, callbackUrl: field.url }, [
        'appId',
        'secret',
      ]),
      sample: {
        appId: 'ss0000000001',
        secret: 'shansong-secret-1',
        redirectUrl: 'https://example.com/ss',
        callbackUrl: 'https://example.com/sscb',
      },
    },
  ],
  build: (d, urls) => new Shansong(d, urls),
  interfaces,
  routes,
});
